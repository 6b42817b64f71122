"""Sign-in links are never stored (SECURITY.md "What is protected, and how"): the email log keeps the sign-in email with
the token removed; the email sent has a working link; a resend signs a fresh one."""

import importlib
import re

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from students import services
from students.session import SESSION_KEY
from students.tests.factories import StudentFactory
from studio.emails import LINK_SECRET_MARK
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s\"]+(/me/sign-in/[^/\s\"]+/)")
EMAIL_LOG = reverse("admin:studio_emaillog_changelist")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(username="owner", email="owner@example.org", password=None)


def ask_for_a_link(client, capture, email="ana@example.org"):
    with capture(execute=True):
        client.post(reverse("portal:home"), {"email": email})


def html_of(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def test_the_email_log_keeps_the_sign_in_email_without_its_token(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    StudentFactory(email="ana@example.org")

    ask_for_a_link(client, django_capture_on_commit_callbacks)

    log = EmailLog.objects.get(kind="sign_in_link")
    (message,) = mailoutbox
    token = LINK.search(message.body).group(1).split("/")[-2]
    assert log.status == EmailLog.Status.SENT
    for stored in (log.subject, log.body_text, log.body_html):
        assert token not in stored
        assert not LINK.search(stored) or LINK_SECRET_MARK in stored
    assert f"/me/sign-in/{LINK_SECRET_MARK}/" in log.body_text
    assert f"/me/sign-in/{LINK_SECRET_MARK}/" in log.body_html
    # What was sent has the real link, in the text and in the HTML.
    assert f"/me/sign-in/{token}/" in message.body
    assert f"/me/sign-in/{token}/" in html_of(message)


def test_the_sent_link_signs_the_student_in(client, mailoutbox, django_capture_on_commit_callbacks):
    student = StudentFactory(email="ana@example.org")
    ask_for_a_link(client, django_capture_on_commit_callbacks)

    response = client.post(LINK.search(mailoutbox[-1].body).group(1))

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == student.pk


def test_the_link_in_the_email_log_signs_nobody_in(client, django_capture_on_commit_callbacks):
    StudentFactory(email="ana@example.org")
    ask_for_a_link(client, django_capture_on_commit_callbacks)
    stored = LINK.search(EmailLog.objects.get(kind="sign_in_link").body_text).group(1)

    assert client.post(stored).status_code == 404
    assert SESSION_KEY not in client.session


def test_resending_a_sign_in_email_sends_a_fresh_working_link_and_keeps_what_it_is_about(
    admin_client, client, mailoutbox, django_capture_on_commit_callbacks
):
    student = StudentFactory(email="ana@example.org")
    ask_for_a_link(client, django_capture_on_commit_callbacks)
    original = EmailLog.objects.get(kind="sign_in_link")
    first_link = LINK.search(mailoutbox[-1].body).group(1)
    client.post(first_link)  # used: that link no longer works
    client.cookies.clear()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(EMAIL_LOG, {"action": "resend", "_selected_action": [original.pk]})

    copy = EmailLog.objects.exclude(pk=original.pk).get(kind="sign_in_link")
    fresh_link = LINK.search(mailoutbox[-1].body).group(1)
    assert fresh_link != first_link
    assert copy.status == EmailLog.Status.SENT
    assert LINK_SECRET_MARK in copy.body_text
    assert (copy.about_type, copy.about_id) == (ContentType.objects.get_for_model(student), student.pk)
    assert client.post(fresh_link).status_code == 302
    assert client.session[SESSION_KEY] == student.pk


def test_a_sign_in_email_is_not_resent_to_an_address_the_student_no_longer_has(
    admin_client, client, mailoutbox, django_capture_on_commit_callbacks
):
    student = StudentFactory(email="ana@example.org")
    ask_for_a_link(client, django_capture_on_commit_callbacks)
    original = EmailLog.objects.get(kind="sign_in_link")
    student.email = "ana.new@example.org"
    student.save(update_fields=["email"])
    sent_before = len(mailoutbox)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(EMAIL_LOG, {"action": "resend", "_selected_action": [original.pk]}, follow=True)

    assert "Not resent" in response.content.decode()
    assert "address has changed" in response.content.decode()
    assert EmailLog.objects.filter(kind="sign_in_link").count() == 1
    assert len(mailoutbox) == sent_before


def test_the_migration_removes_the_tokens_of_sign_in_emails_already_in_the_log():
    student = StudentFactory()
    token = services.make_sign_in_token(student)
    url = f"https://studio.example.org/me/sign-in/{token}/"
    log = EmailLog.objects.create(
        kind="sign_in_link",
        to_email=student.email,
        subject="Your sign-in link",
        body_text=f"Hi,\n{url}\n",
        body_html=f'<p><a href="{url}">Sign in</a></p>',
        status=EmailLog.Status.SENT,
        sent_at=student.created_at,
    )
    other = EmailLog.objects.create(kind="registration_received", to_email="x@example.org", subject="s", body_text=url)
    migration = importlib.import_module("students.migrations.0009_redact_sign_in_links")

    migration.redact_sign_in_links(apps, None)

    log.refresh_from_db()
    other.refresh_from_db()
    assert token not in log.body_text + log.body_html
    assert log.body_text == f"Hi,\nhttps://studio.example.org/me/sign-in/{LINK_SECRET_MARK}/\n"
    assert f'href="https://studio.example.org/me/sign-in/{LINK_SECRET_MARK}/"' in log.body_html
    assert other.body_text == url  # other kinds of email are left alone
