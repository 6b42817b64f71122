"""Background work run through Django's tasks framework (immediate in development and tests, a DB queue in prod).

Delivery is at least once (README "Deploying"): a worker killed in the middle of a send leaves the row `sending`, and
the task is run again (the worker re-queues tasks left running, `email_worker`), which sends the email again with the
same Message-ID, so the copy is recognisable as the same message.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.tasks import task
from django.utils import timezone

from studio.config import studio_settings
from studio.emails import (
    EmailUnrenderable,
    LinkUnavailable,
    is_erased_address,
    message_id,
    render_logged,
    with_live_secret,
)
from studio.models import EmailLog

logger = logging.getLogger(__name__)

Status = EmailLog.Status


@task
def deliver_email(email_log_id: int) -> str:
    """Send one queued EmailLog row through Django's mail API; mark it sent, or failed with the error.

    A row still `sending` was interrupted during an earlier attempt: it may have been sent, and is sent again."""
    # No transaction around the send: on SQLite it would hold the database's write lock for the SMTP round trip.
    log = EmailLog.objects.filter(pk=email_log_id).first()
    if log is None or log.status not in (Status.QUEUED, Status.SENDING):
        return str(log.status) if log else "missing"
    if is_erased_address(log.to_email):
        # Queued before its student was erased: the address is a placeholder now, and nothing goes to it.
        EmailLog.objects.filter(pk=log.pk, status=log.status).update(status=Status.SKIPPED)
        return str(Status.SKIPPED)
    if log.status == Status.SENDING:
        logger.warning(
            "Email %s (%s) was interrupted while being sent; it may have gone out: sending it again.", log.pk, log.kind
        )
    try:
        # An email recorded to be rendered after the commit (studio.emails.queue_email) is rendered now.
        subject, body_text, body_html = with_live_secret(render_logged(log))
    except (LinkUnavailable, EmailUnrenderable) as error:
        EmailLog.objects.filter(pk=log.pk).update(status=Status.FAILED, error=str(error))
        return str(Status.FAILED)
    # Claimed with a conditional update: of two deliveries of one row, one sends.
    claimed = EmailLog.objects.filter(pk=log.pk, status=log.status, attempts=log.attempts).update(
        status=Status.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return "claimed by another delivery"
    reply_to = studio_settings().contact_email
    # The To header is the bare address: no display name that a crafted student name could break out of.
    message = EmailMultiAlternatives(
        subject=subject,
        body=body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[log.to_email],
        reply_to=[reply_to] if reply_to else None,
        headers={"Message-ID": message_id(log)},
    )
    if body_html:
        message.attach_alternative(body_html, "text/html")
    try:
        message.send()
    except Exception as error:  # any mailer failure is recorded for the admin to see, not raised
        logger.exception("Email %s (%s) failed", log.pk, log.kind)
        failure = f"{type(error).__name__}: {error}"
        EmailLog.objects.filter(pk=log.pk).update(status=Status.FAILED, error=failure)
        return str(Status.FAILED)
    EmailLog.objects.filter(pk=log.pk).update(status=Status.SENT, sent_at=timezone.now(), error="")
    return str(Status.SENT)
