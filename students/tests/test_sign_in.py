"""Portal sign-in by emailed link: same answer for every address, signed, 30 minutes, single use; rate limits."""

import re
import time

import pytest
from django.core import signing
from django.urls import reverse

from students import services, tasks
from students.session import SESSION_KEY
from students.tests.factories import StudentFactory
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

PORTAL = reverse("portal:home")
LINK_SENT = reverse("students:link_sent")
SAME_ANSWER = "If this email is registered, a sign-in link is on its way"


def link_path_from_email(message) -> str:
    """The sign-in link in a sent email (django.core.mail.outbox), as a path (the link is absolute, on SITE_URL)."""
    url = re.search(r"https?://\S+/me/sign-in/[^/\s]+/", message.body).group(0)
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def sign_in_path(student) -> str:
    return reverse("students:sign_in", args=[services.make_sign_in_token(student)])


def token_made_minutes_ago(student, minutes: int, monkeypatch) -> str:
    """A real token whose signature timestamp lies `minutes` in the past (signing reads time.time())."""
    real = time.time()
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: real - minutes * 60)
        return services.make_sign_in_token(student)


class FakeTask:
    """Stands in for the task object (a frozen dataclass whose enqueue cannot be patched)."""

    def __init__(self, enqueue):
        self.enqueue = enqueue


# Asking for a link


def test_sign_in_link_request_answers_the_same_for_known_and_unknown_emails(client):
    StudentFactory(email="ana@example.org")

    known = client.post(PORTAL, {"email": "ana@example.org"})
    unknown = client.post(PORTAL, {"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url == LINK_SENT
    page = client.get(LINK_SENT)
    assert SAME_ANSWER in page.content.decode()


def test_sign_in_link_is_emailed_only_to_a_known_student(client, mailoutbox, django_capture_on_commit_callbacks):
    StudentFactory(email="ana@example.org", first_name="Ana")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(PORTAL, {"email": "  ANA@Example.org "})
        client.post(PORTAL, {"email": "nobody@example.org"})

    log = EmailLog.objects.get()
    assert log.kind == "sign_in_link"
    assert log.to_email == "ana@example.org"
    assert "Hi Ana" in log.body_text
    assert [message.to for message in mailoutbox] == [["ana@example.org"]]


def test_sign_in_link_request_does_the_same_work_for_known_and_unknown_emails(client, monkeypatch):
    """The request only queues a task (same timing shape); the lookup happens off the request."""
    StudentFactory(email="ana@example.org")
    queued = []
    monkeypatch.setattr(tasks, "send_sign_in_link_task", FakeTask(lambda **kwargs: queued.append(kwargs)))

    client.post(PORTAL, {"email": "Ana@Example.org"})
    client.post(PORTAL, {"email": "nobody@example.org"})

    assert queued == [{"email": "ana@example.org"}, {"email": "nobody@example.org"}]
    assert not EmailLog.objects.exists()


def test_sign_in_link_request_answers_the_same_when_the_task_queue_is_down(client, monkeypatch):
    StudentFactory(email="ana@example.org")

    def broken(**kwargs):
        raise ConnectionError("queue down")

    monkeypatch.setattr(tasks, "send_sign_in_link_task", FakeTask(broken))

    response = client.post(PORTAL, {"email": "ana@example.org"})

    assert response.status_code == 302
    assert response.url == LINK_SENT


@pytest.mark.parametrize(
    "email",
    ["", "not-an-email", "ana@example.org, eve@example.org", "x" * 300 + "@example.org", "mailto:ana@example.org"],
)
def test_sign_in_link_request_with_a_bad_address_shows_a_field_error_and_sends_nothing(client, email):
    StudentFactory(email="ana@example.org")

    response = client.post(PORTAL, {"email": email})

    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert not EmailLog.objects.exists()


def test_sign_in_link_request_strips_invisible_characters_around_the_address(client):
    StudentFactory(email="ana@example.org")

    response = client.post(PORTAL, {"email": "\u200b\u00a0ana@example.org\ufeff "})

    assert response.status_code == 302
    assert EmailLog.objects.get().to_email == "ana@example.org"


def test_sign_in_link_in_the_email_is_built_on_site_url_not_the_host_header(client, settings):
    settings.SITE_URL = "https://studio.example.org"
    StudentFactory(email="ana@example.org")

    client.post(PORTAL, {"email": "ana@example.org"}, headers={"host": "localhost"})

    body = EmailLog.objects.get().body_text
    assert "https://studio.example.org/me/sign-in/" in body
    assert "localhost" not in body


def test_sign_in_link_does_not_contain_the_email_address(client, mailoutbox, django_capture_on_commit_callbacks):
    StudentFactory(email="ana@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(PORTAL, {"email": "ana@example.org"})

    path = link_path_from_email(mailoutbox[-1])
    assert "ana" not in path.lower()


# Following the link


def test_opening_the_link_shows_a_sign_in_button_and_changes_nothing(client):
    """Mail scanners prefetch links with GET: only the POST signs in."""
    student = StudentFactory()
    path = sign_in_path(student)

    response = client.get(path)

    assert response.status_code == 200
    assert 'method="post"' in response.content.decode()
    student.refresh_from_db()
    assert student.last_portal_login_at is None
    assert SESSION_KEY not in client.session
    assert client.post(path).status_code == 302  # still usable


def test_posting_the_link_signs_the_student_in_for_30_days_with_a_new_session_key(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    student = StudentFactory(email="ana@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PORTAL, {"email": "ana@example.org"})  # the session exists before signing in
    path = link_path_from_email(mailoutbox[-1])
    session_key_before = client.session.session_key

    response = client.post(path)

    assert response.status_code == 302
    assert response.url == PORTAL
    session = client.session
    assert session[SESSION_KEY] == student.pk
    assert session.session_key != session_key_before
    assert session.get_expiry_age() == 30 * 24 * 60 * 60
    assert "Signed in as ana@example.org" in client.get(PORTAL).content.decode()


def test_signing_in_does_not_make_a_django_user(client, django_user_model):
    student = StudentFactory()

    client.post(sign_in_path(student))

    assert not django_user_model.objects.exists()
    assert client.session.get("_auth_user_id") is None


def test_a_used_link_fails_with_a_friendly_page_offering_a_new_one(client):
    student = StudentFactory()
    path = sign_in_path(student)
    client.post(path)

    again = client.get(path)
    again_post = client.post(path)

    assert again.status_code == again_post.status_code == 410
    html = again.content.decode()
    assert "already been used" in html
    assert f'action="{PORTAL}"' in html
    assert "Email me a sign-in link" in html


def test_a_link_posted_twice_signs_in_only_once(client):
    student = StudentFactory()
    path = sign_in_path(student)
    client.post(path)
    first_login = type(student).objects.get(pk=student.pk).last_portal_login_at

    client.post(path)

    assert type(student).objects.get(pk=student.pk).last_portal_login_at == first_login


def test_an_older_link_stops_working_once_a_newer_one_is_used(client):
    student = StudentFactory()
    older, newer = sign_in_path(student), sign_in_path(student)

    client.post(newer)

    assert client.post(older).status_code == 410


def test_a_link_stops_working_when_the_students_email_changes(client):
    student = StudentFactory(email="ana@example.org")
    path = sign_in_path(student)
    type(student).objects.filter(pk=student.pk).update(email="ana.lima@example.org")

    assert client.post(path).status_code == 410
    assert SESSION_KEY not in client.session


def test_a_link_expires_after_30_minutes(client, monkeypatch):
    student = StudentFactory()
    path = reverse("students:sign_in", args=[token_made_minutes_ago(student, 31, monkeypatch)])

    response = client.post(path)

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert SESSION_KEY not in client.session
    student.refresh_from_db()
    assert student.last_portal_login_at is None


def test_a_link_still_works_after_29_minutes(client, monkeypatch):
    student = StudentFactory()
    path = reverse("students:sign_in", args=[token_made_minutes_ago(student, 29, monkeypatch)])

    assert client.post(path).status_code == 302
    assert client.session[SESSION_KEY] == student.pk


@pytest.mark.parametrize(
    "token",
    ["garbage", "x" * 10_000, "' OR 1=1 --", "eyJzIjoxfQ:1xWI6M:bad-signature"],
)
def test_a_garbage_link_is_a_friendly_404(client, token):
    response = client.get(reverse("students:sign_in", args=[token]))

    assert response.status_code == 404
    assert "Get a new sign-in link" in response.content.decode()


def test_a_tampered_link_naming_another_student_is_refused(client):
    ana, eve = StudentFactory(), StudentFactory()
    token = services.make_sign_in_token(eve)
    payload, rest = token.split(":", 1)
    forged_payload = signing.b64_encode(f'{{"s":{ana.pk},"h":"x"}}'.encode()).decode()

    response = client.post(reverse("students:sign_in", args=[f"{forged_payload}:{rest}"]))

    assert response.status_code == 404
    assert SESSION_KEY not in client.session


def test_a_link_signed_for_another_purpose_is_refused(client):
    student = StudentFactory()
    token = signing.dumps({"s": student.pk, "h": "x"}, salt="some.other.purpose")

    assert client.post(reverse("students:sign_in", args=[token])).status_code == 404


def test_a_link_of_a_deleted_student_is_refused(client):
    student = StudentFactory()
    path = sign_in_path(student)
    student.delete()

    assert client.post(path).status_code == 404


def test_signing_in_needs_the_csrf_token(client):
    from django.test import Client

    student = StudentFactory()
    strict = Client(enforce_csrf_checks=True)

    assert strict.post(sign_in_path(student)).status_code == 403
    assert client.get(PORTAL).status_code == 200


# Signing out and stale sessions


def test_sign_out_ends_the_portal_session(client):
    student = StudentFactory()
    client.post(sign_in_path(student))

    response = client.post(reverse("students:sign_out"))

    assert response.status_code == 302
    assert SESSION_KEY not in client.session
    assert "Email me a sign-in link" in client.get(PORTAL).content.decode()


def test_sign_out_needs_a_post(client):
    student = StudentFactory()
    client.post(sign_in_path(student))

    assert client.get(reverse("students:sign_out")).status_code == 405
    assert client.session[SESSION_KEY] == student.pk


@pytest.mark.parametrize("value", ["1", None, 999_999, [1]])
def test_a_stale_or_odd_session_value_means_signed_out(client, value):
    StudentFactory()
    session = client.session
    session[SESSION_KEY] = value
    session.save()

    response = client.get(PORTAL)

    assert response.status_code == 200
    assert "Email me a sign-in link" in response.content.decode()


# Rate limits


def test_sign_in_link_requests_are_limited_per_email_with_a_friendly_429(client):
    StudentFactory(email="ana@example.org")
    for n in range(5):
        assert client.post(PORTAL, {"email": "ana@example.org"}, REMOTE_ADDR=f"10.0.0.{n}").status_code == 302

    limited = client.post(PORTAL, {"email": "ANA@example.org"}, REMOTE_ADDR="10.0.0.99")

    assert limited.status_code == 429
    assert "Too many tries" in limited.content.decode()
    assert EmailLog.objects.count() == 5
    assert client.post(PORTAL, {"email": "other@example.org"}, REMOTE_ADDR="10.0.0.99").status_code == 302


def test_sign_in_link_requests_are_limited_per_client_ip(client):
    for n in range(20):
        assert client.post(PORTAL, {"email": f"s{n}@example.org"}, REMOTE_ADDR="10.1.1.1").status_code == 302

    limited = client.post(PORTAL, {"email": "s99@example.org"}, REMOTE_ADDR="10.1.1.1")

    assert limited.status_code == 429
    assert client.post(PORTAL, {"email": "s99@example.org"}, REMOTE_ADDR="10.2.2.2").status_code == 302


def test_following_sign_in_links_is_rate_limited_per_client_ip(client):
    for _ in range(60):
        client.get(reverse("students:sign_in", args=["garbage"]), REMOTE_ADDR="10.3.3.3")

    assert client.get(reverse("students:sign_in", args=["garbage"]), REMOTE_ADDR="10.3.3.3").status_code == 429


def test_the_429_page_is_the_ratelimit_view_of_the_settings(rf, settings):
    from django.utils.module_loading import import_string

    view = import_string(settings.RATELIMIT_VIEW)
    response = view(rf.get("/"), None)

    assert response.status_code == 429
