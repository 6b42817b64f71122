"""Class messages' unsubscribe links are never stored (SECURITY.md "What is protected, and how"): the email log keeps
the message with the token removed; the email sent has a working link; a resend puts it back in."""

import importlib
import re

import pytest
from django.apps import apps
from django.utils import timezone

from class_messages import services
from class_messages.models import Audience, MessageOptOut
from class_messages.selectors import Target
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.tests.factories import StudentFactory
from studio.emails import LINK_SECRET_MARK, ResendRefused, resend_email
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s\"]+/messages/stop/([^/\s\"]+)/")


@pytest.fixture
def ana():
    slot = CourseSlotFactory(course=CourseFactory(name="House L1"))
    student = StudentFactory(first_name="Ana", email="ana@example.org")
    RegistrationFactory(student=student, slot=slot, payment_status=Registration.PaymentStatus.COMPLETED)
    return student


def send(ana, capture, *, execute=True):
    course = Registration.objects.get(student=ana).course
    with capture(execute=execute):
        services.send_class_message(
            target=Target.of(course),
            audience=Audience.PAID,
            include_waitlist=False,
            subject="Hi",
            body="x",
            sent_by=None,
        )
    return EmailLog.objects.get(kind="class_message")


def html_of(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def test_the_email_log_keeps_a_class_message_without_its_unsubscribe_token_and_the_email_has_it(
    ana, mailoutbox, django_capture_on_commit_callbacks
):
    log = send(ana, django_capture_on_commit_callbacks)

    (message,) = mailoutbox
    token = LINK.search(message.body).group(1)
    assert services.student_for_unsubscribe_token(token) == ana
    assert f"/messages/stop/{token}/" in html_of(message)
    for stored in (log.subject, log.body_text, log.body_html):
        assert token not in stored
    assert f"/messages/stop/{LINK_SECRET_MARK}/" in log.body_text
    assert f"/messages/stop/{LINK_SECRET_MARK}/" in log.body_html


def test_a_resent_class_message_has_the_working_link(ana, mailoutbox, django_capture_on_commit_callbacks):
    log = send(ana, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        copy = resend_email(log=log)

    copy.refresh_from_db()
    assert copy.status == EmailLog.Status.SENT and LINK_SECRET_MARK in copy.body_text
    assert services.student_for_unsubscribe_token(LINK.search(mailoutbox[-1].body).group(1)) == ana


def test_a_class_message_is_not_resent_to_an_address_no_student_has_or_who_stopped_them(
    ana, django_capture_on_commit_callbacks
):
    log = send(ana, django_capture_on_commit_callbacks)
    MessageOptOut.objects.create(student=ana)
    with pytest.raises(ResendRefused, match="stopped class messages"):
        resend_email(log=log)

    ana.email = "ana.new@example.org"
    ana.save(update_fields=["email"])
    with pytest.raises(ResendRefused, match="No student has this address"):
        resend_email(log=log)
    assert EmailLog.objects.filter(kind="class_message").count() == 1


def test_the_migration_removes_the_tokens_of_class_messages_already_in_the_log():
    student = StudentFactory()
    token = services.unsubscribe_token(student)
    url = f"https://studio.example.org/messages/stop/{token}/"
    log = EmailLog.objects.create(
        kind="class_message",
        to_email=student.email,
        subject="Room change",
        body_text=f"Hi,\n{url}\n",
        body_html=f'<p><a href="{url}">Stop messages like this one</a></p>',
        status=EmailLog.Status.SENT,
        sent_at=timezone.now(),
    )
    other = EmailLog.objects.create(kind="registration_received", to_email="x@example.org", subject="s", body_text=url)
    migration = importlib.import_module("class_messages.migrations.0002_redact_unsubscribe_links")

    migration.redact_unsubscribe_links(apps, None)

    log.refresh_from_db()
    other.refresh_from_db()
    assert token not in log.body_text + log.body_html
    assert log.body_text == f"Hi,\nhttps://studio.example.org/messages/stop/{LINK_SECRET_MARK}/\n"
    assert f'href="https://studio.example.org/messages/stop/{LINK_SECRET_MARK}/"' in log.body_html
    assert other.body_text == url  # other kinds of email are left alone
