"""Sending a message to a class, and a student's choice to stop such messages (README "Messages to a class").

A message goes through the email queue (studio.emails.send_email), one EmailLog row per student, about the course,
time slot or session it was sent to. Each carries a signed link that stops class messages for that student, with
no sign-in; payment, registration and class emails never carry it and are never held back by it. The email log keeps
the email without the link's token (studio.emails.register_secret_link, in ClassMessagesConfig.ready()): each
delivery puts it back in.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from class_messages import selectors
from class_messages.models import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH, Audience, ClassMessage, MessageOptOut
from class_messages.selectors import Target
from students.models import Student
from studio.emails import ResendRefused, one_line, send_email

UNSUBSCRIBE_SALT = "class_messages.unsubscribe"
# A real token is ~40 characters; anything far longer is refused before any signature work.
UNSUBSCRIBE_TOKEN_MAX_LENGTH = 200


def clean_message(*, subject: str, body: str) -> tuple[str, str]:
    """The subject on one line and the message, trimmed; ValidationError({field: ...}) when empty or too long."""
    subject, body = one_line(subject or ""), str(body or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = _("Write a subject.")
    elif len(subject) > SUBJECT_MAX_LENGTH:
        errors["subject"] = _("Keep the subject under %(max)d characters.") % {"max": SUBJECT_MAX_LENGTH}
    if not body:
        errors["body"] = _("Write the message.")
    elif len(body) > BODY_MAX_LENGTH:
        errors["body"] = _("Keep the message under %(max)d characters (this one has %(count)d).") % {
            "max": BODY_MAX_LENGTH,
            "count": len(body),
        }
    if errors:
        raise ValidationError(errors)
    return subject, body


def send_class_message(
    *,
    target: Target,
    audience: str,
    include_waitlist: bool,
    subject: str,
    body: str,
    sent_by: AbstractBaseUser | None,
) -> ClassMessage:
    """Email a message to a class's students (selectors.recipients), each once, leaving out those who stopped class
    messages; record it. All or nothing: ValidationError({field: ...}) for an empty or too long subject or message,
    or an unknown audience, and ValidationError when nobody would get it; then nothing is recorded or sent."""
    subject, body = clean_message(subject=subject, body=body)
    if audience not in Audience.values:
        raise ValidationError({"audience": _("Choose who gets the message.")})
    with transaction.atomic():
        sending = selectors.recipients(target, audience=audience, include_waitlist=include_waitlist)
        if not sending.students:
            raise ValidationError(_("Nobody would get this message: no student of this class takes class messages."))
        message = ClassMessage(
            course=target.course,
            slot=target.slot,
            session=target.session,
            audience=audience,
            include_waitlist=include_waitlist,
            subject=subject,
            body=body,
            recipient_count=sending.count,
            sent_by=sent_by,
            sent_at=timezone.now(),
        )
        message.full_clean(exclude=["course", "slot", "session", "sent_by"])
        message.save()
        for student in sending.students:
            token = unsubscribe_token(student)
            send_email(
                kind="class_message",
                to=student.email,
                about=target.about,
                context={
                    "student": student,
                    "message": message,
                    "class_label": target.label,
                    "unsubscribe_url": _unsubscribe_url(token),
                },
                dedupe_key=f"class_message:{message.pk}:{student.pk}",
                secret=token,
            )
    return message


# --- stopping class messages ---------------------------------------------------------------------------------------


def unsubscribe_token(student: Student) -> str:
    """The secret of the link that stops class messages for `student`: signed, lasting, the same each time."""
    return signing.dumps(student.pk, salt=UNSUBSCRIBE_SALT)


def _unsubscribe_url(token: str) -> str:
    return settings.SITE_URL + reverse("class_messages:unsubscribe", args=[token])


def unsubscribe_url(student: Student) -> str:
    """The absolute link that stops class messages for `student`: signed, lasting, no sign-in needed."""
    return _unsubscribe_url(unsubscribe_token(student))


def _student_with_address(to: str) -> Student | None:
    return Student.objects.filter(email=to, erased_at__isnull=True).first()


def unsubscribe_link_secret(about, to: str) -> str | None:
    """The unsubscribe token put into a class message as it is delivered (studio.emails.register_secret_link): the
    email log keeps the message without it. None when no student has the address it goes to any more."""
    student = _student_with_address(to)
    return unsubscribe_token(student) if student is not None else None


def check_message_resend(about, to: str) -> None:
    """A class message may be sent again only to an address still a student's, who still takes class messages; raises
    ResendRefused otherwise. The link is the same: it names the student and does not expire."""
    student = _student_with_address(to)
    if student is None:
        raise ResendRefused(_("No student has this address any more (it was changed or erased): nothing was resent."))
    if not receives_class_messages(student):
        raise ResendRefused(_("This student stopped class messages: nothing was resent."))


def student_for_unsubscribe_token(token: str) -> Student | None:
    """The student an unsubscribe link is for; None for a tampered, truncated or unknown one, or an erased student."""
    if not token or len(token) > UNSUBSCRIBE_TOKEN_MAX_LENGTH:
        return None
    try:
        student_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(student_id, int):
        return None
    # An erased student is never emailed, and their old links stop working.
    return Student.objects.filter(pk=student_id, erased_at__isnull=True).first()


def receives_class_messages(student: Student) -> bool:
    return not MessageOptOut.objects.filter(student=student).exists()


def stop_class_messages(*, student: Student) -> bool:
    """The student stops messages to their classes; False when they had already (nothing changes)."""
    _opt_out, created = MessageOptOut.objects.get_or_create(student=student)
    return created


def resume_class_messages(*, student: Student) -> bool:
    """The student gets messages to their classes again; False when they were getting them already."""
    deleted, _rows = MessageOptOut.objects.filter(student=student).delete()
    return bool(deleted)
