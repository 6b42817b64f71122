"""Background work of the student portal, run through Django's tasks framework."""

from django.tasks import task

from students.services import send_sign_in_link


@task
def send_sign_in_link_task(email: str) -> bool:
    """Look the address up and email a sign-in link if it is a student's (off the request: same timing for all)."""
    return send_sign_in_link(email=email)
