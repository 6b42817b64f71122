"""The email log reads like the studio's (README "The studio's admin"): kinds by their names, and the HTML body
previewed as the student sees it, sandboxed, with scripts and images blocked, next to the text body."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from studio import emails
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:studio_emaillog_changelist")
HOSTILE_HTML = '<p style="color:#123456">Hi Ana</p><script>alert("x")</script><img src="https://tracker.example/p.gif">'


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


def email(kind="payment_confirmed", body_html=HOSTILE_HTML, **fields):
    return EmailLog.objects.create(
        kind=kind,
        to_email="ana@example.org",
        subject="Payment received",
        body_text="Hi Ana,\n\nWe received your payment.",
        body_html=body_html,
        **fields,
    )


def preview_url(log):
    return reverse("admin:studio_emaillog_preview", args=[log.pk])


def test_every_kind_the_portal_sends_has_a_label_and_others_read_as_words():
    assert emails.kind_label("payment_confirmed") == "Payment confirmed"
    assert emails.kind_label("session_canceled") == "Class canceled"
    assert emails.kind_label("class_reminder") == "Class reminder"  # not listed: its code in words


def test_every_email_template_kind_has_a_label(settings):
    templates = Path(settings.BASE_DIR, "templates", "emails").glob("*_subject.txt")

    assert {path.name.removesuffix("_subject.txt") for path in templates} <= set(emails.KIND_LABELS)


def test_email_log_lists_and_filters_kinds_by_their_labels(admin_client):
    email(kind="payment_confirmed")
    email(kind="sign_in_link")

    listed = admin_client.get(CHANGELIST)
    filtered = admin_client.get(CHANGELIST, {"kind": "sign_in_link"})

    html = listed.content.decode()
    assert '<td class="field-kind_name">Payment confirmed</td>' in html
    assert '<td class="field-kind_name">Portal sign-in link</td>' in html
    assert "payment_confirmed</td>" not in html
    assert '?kind=sign_in_link">Portal sign-in link</a>' in html  # the filter
    assert [log.kind for log in filtered.context["cl"].result_list] == ["sign_in_link"]


def test_email_page_shows_the_text_body_next_to_a_sandboxed_preview_of_the_html(admin_client):
    log = email()

    html = admin_client.get(reverse("admin:studio_emaillog_change", args=[log.pk])).content.decode()

    assert "We received your payment." in html
    # sandbox without any allow-*: no scripts, no forms, no popups, no same-origin access to the admin.
    assert f'<iframe class="email-preview" sandbox src="{preview_url(log)}" title=' in html
    assert "allow-" not in html.split('class="email-preview"', 1)[1].split(">", 1)[0]
    # The HTML itself is on the page only as escaped source.
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert '<img src="https://tracker.example' not in html


def test_preview_serves_the_stored_html_that_may_style_itself_but_run_and_load_nothing(admin_client):
    log = email()

    response = admin_client.get(preview_url(log))

    assert response.status_code == 200
    assert response.content.decode() == HOSTILE_HTML
    assert response["Content-Type"] == "text/html; charset=utf-8"
    csp = dict(directive.strip().split(" ", 1) for directive in response["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'"  # no script, font, frame or connection
    assert csp["img-src"] == "'none'"  # images blocked: no tracking pixel, no remote logo
    assert csp["style-src"] == "'unsafe-inline'"  # emails carry inline styles
    assert "script-src" not in csp
    assert csp["frame-ancestors"] == "'self'"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


def test_email_without_html_says_so_instead_of_a_preview(admin_client):
    log = email(body_html="")

    html = admin_client.get(reverse("admin:studio_emaillog_change", args=[log.pk])).content.decode()

    assert "This email has no HTML body." in html
    assert "<iframe" not in html


def test_email_queued_to_be_written_when_sent_says_so(admin_client):
    log = EmailLog.objects.create(kind="registration_received", to_email="ana@example.org", subject="", body_text="")

    html = admin_client.get(reverse("admin:studio_emaillog_change", args=[log.pk])).content.decode()

    assert "Not written yet" in html
    assert "<iframe" not in html


def test_preview_is_for_staff_who_may_read_the_email_log(client, django_user_model):
    log = email()
    anonymous = client.get(preview_url(log))
    instructor = django_user_model.objects.create_user(username="door", is_staff=True)
    instructor.groups.add(Group.objects.get_or_create(name="Instructor")[0])
    client.force_login(instructor)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("admin:login"))
    assert client.get(preview_url(log)).status_code in (403, 404)


def test_preview_of_an_unknown_email_is_404(admin_client):
    assert admin_client.get(reverse("admin:studio_emaillog_preview", args=[999999])).status_code == 404
    assert admin_client.get("/admin/studio/emaillog/not-a-number/preview/").status_code in (302, 404)
