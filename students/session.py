"""The student portal's session: a verified student signed in through an emailed link (no password, no auth.User)."""

from django.http import HttpRequest

from students.models import Student

SESSION_KEY = "portal_student_id"
SESSION_AGE_SECONDS = 30 * 24 * 60 * 60  # a signed-in phone stays signed in for 30 days


def signed_in_student(request: HttpRequest) -> Student | None:
    """The verified student of this browser session, or None (never raises on a stale or tampered session value)."""
    if hasattr(request, "_portal_student"):
        return request._portal_student
    student = None
    session = getattr(request, "session", None)
    student_id = session.get(SESSION_KEY) if session is not None else None
    if isinstance(student_id, int):
        student = Student.objects.filter(pk=student_id).first()
    request._portal_student = student
    return student


def sign_in(request: HttpRequest, student: Student) -> None:
    """Bind this browser session to `student`: a new session key (no fixation), 30 days of life."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = student.pk
    request.session.set_expiry(SESSION_AGE_SECONDS)
    request._portal_student = student


def sign_out(request: HttpRequest) -> None:
    """Forget the signed-in student (a staff login in the same browser stays); the session gets a new key."""
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    request._portal_student = None
