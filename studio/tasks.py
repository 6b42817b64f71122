"""Background work run through Django's tasks framework (immediate in development and tests, a DB queue in prod)."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import task
from django.utils import timezone

from studio.config import studio_settings
from studio.models import EmailLog

logger = logging.getLogger(__name__)


@task
def deliver_email(email_log_id: int) -> str:
    """Send one queued EmailLog row through Django's mail API; mark it sent, or failed with the error."""
    # No transaction around the send: on SQLite it would hold the database's write lock for the SMTP round trip.
    log = EmailLog.objects.filter(pk=email_log_id).first()
    if log is None or log.status != EmailLog.Status.QUEUED:
        return str(log.status) if log else "missing"
    reply_to = studio_settings().contact_email
    # The To header is the bare address: no display name that a crafted student name could break out of.
    message = EmailMultiAlternatives(
        subject=log.subject,
        body=log.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[log.to_email],
        reply_to=[reply_to] if reply_to else None,
    )
    if log.body_html:
        message.attach_alternative(log.body_html, "text/html")
    try:
        message.send()
    except Exception as error:  # any mailer failure is recorded for the admin to see, not raised
        logger.exception("Email %s (%s) failed", log.pk, log.kind)
        failure = f"{type(error).__name__}: {error}"
        EmailLog.objects.filter(pk=log.pk).update(status=EmailLog.Status.FAILED, error=failure)
        return str(EmailLog.Status.FAILED)
    EmailLog.objects.filter(pk=log.pk).update(status=EmailLog.Status.SENT, sent_at=timezone.now(), error="")
    return str(EmailLog.Status.SENT)
