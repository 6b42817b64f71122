"""Abuse across workers and servers (SECURITY.md "What was tried"): staff login throttled by address across usernames
before any hashing (#3), odd form charsets answered with the site's 400 page (#6), the demo admin's published password
flagged by `check --deploy` (#8)."""

import io

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User
from django.core import checks
from django.test import Client
from django.urls import reverse

import dance_portal.settings as project_settings
from courses.tests.factories import priced_slot
from dance_portal.management.commands.demo_studio import ADMIN_EMAIL, ADMIN_PASSWORD
from registrations.models import Registration
from students.models import Student

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
PASSWORD = "a-long-staff-password-1"


# --- 3. Staff login: by address, across usernames, before hashing ----------------------------------------------------


@pytest.fixture
def hashed(monkeypatch):
    """Counts the password hasher's work (every check of a password, and the dummy hash of an unknown username)."""
    calls = []
    real_verify, real_encode = MD5PasswordHasher.verify, MD5PasswordHasher.encode
    monkeypatch.setattr(MD5PasswordHasher, "verify", lambda self, *a: calls.append("verify") or real_verify(self, *a))
    monkeypatch.setattr(MD5PasswordHasher, "encode", lambda self, *a: calls.append("encode") or real_encode(self, *a))
    return calls


def log_in(client, username, password="wrong", ip="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_many_usernames_from_one_address_are_paused_before_any_password_is_hashed(client, settings, hashed):
    settings.RATELIMIT_STAFF_LOGIN = "20/h"
    User.objects.create_user(username="owner", password=PASSWORD, is_staff=True)
    tries = [log_in(client, f"user{n}").status_code for n in range(20)]
    hashes_before = len(hashed)

    paused = log_in(client, "user20")
    even_the_right_password = log_in(client, "owner", PASSWORD)

    assert tries == [200] * 20  # the usual "wrong password" page: axes locks username+address pairs only
    assert hashes_before >= 20
    assert paused.status_code == 429
    assert "sign-in is paused" in paused.content.decode()
    assert even_the_right_password.status_code == 429
    assert len(hashed) == hashes_before  # refused before the login view hashed anything
    assert "_auth_user_id" not in client.session


def test_the_pause_is_per_address(client, settings):
    settings.RATELIMIT_STAFF_LOGIN = "3/h"
    User.objects.create_user(username="owner", password=PASSWORD, is_staff=True)
    for n in range(3):
        log_in(client, f"user{n}")

    other_address = log_in(client, "owner", PASSWORD, ip="198.51.100.9")

    assert log_in(client, "user3").status_code == 429
    assert other_address.status_code == 302


def test_correct_logins_do_not_count_towards_the_pause(client, settings):
    settings.RATELIMIT_STAFF_LOGIN = "2/h"
    User.objects.create_user(username="owner", password=PASSWORD, is_staff=True)
    for _ in range(3):
        assert log_in(client, "owner", PASSWORD).status_code == 302
        client.logout()

    assert log_in(client, "owner", PASSWORD).status_code == 302


def test_the_username_and_address_lockout_of_axes_stays():
    assert project_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert project_settings.RATELIMIT_STAFF_LOGIN == "20/h"
    assert "dance_portal.login_throttle.StaffLoginThrottleMiddleware" in project_settings.MIDDLEWARE
    assert project_settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


# --- 6. A form posted in another charset ----------------------------------------------------------------------------


def post_raw(client, path: str, body: bytes, content_type: str):
    """A POST with exactly these bytes and this Content-Type (the test client would re-encode the body)."""
    return client.generic("POST", path, body, content_type=content_type)


@pytest.fixture
def pages():
    """page: (where the form is, where it posts to)."""
    slot = priced_slot()
    register = reverse("registrations:create", args=[slot.course.pk])
    return {
        "portal": (reverse("portal:home"),) * 2,
        "register": (slot.course.get_absolute_url(), register),
        "admin login": (LOGIN,) * 2,
    }


@pytest.mark.parametrize("charset", ["latin-1", "iso-8859-1", "utf-16", "windows-1252", "utf8"])
@pytest.mark.parametrize("page", ["portal", "register", "admin login"])
def test_a_form_in_another_charset_gets_the_sites_400_page_not_a_500(pages, page, charset):
    # A real CSRF cookie and token: the request gets as far as the CSRF check, which reads the form.
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    form_page, target = pages[page]
    client.get(form_page)
    token = client.cookies[project_settings.CSRF_COOKIE_NAME].value
    body = f"csrfmiddlewaretoken={token}&email=ana%40example.org&first_name=Ren%E9e".encode()

    response = post_raw(client, target, body, f"application/x-www-form-urlencoded; charset={charset}")

    assert response.status_code == 400
    html = response.content.decode()
    assert "We couldn't read what was sent" in html
    assert "site.css" in html and "See all classes" in html  # the site's own page
    assert not Registration.objects.exists() and not Student.objects.exists()


@pytest.mark.parametrize("page", ["portal", "register", "admin login"])
def test_a_form_without_a_csrf_cookie_in_another_charset_is_the_csrf_403(pages, page):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)

    response = post_raw(client, pages[page][1], b"email=a%E9", "application/x-www-form-urlencoded; charset=latin-1")

    assert response.status_code == 403  # refused for the missing cookie, before the form is read


def test_an_unknown_charset_is_read_as_utf8_and_never_answers_500(pages):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)

    response = post_raw(
        client, pages["portal"][1], b"email=ana%40example.org", "application/x-www-form-urlencoded; charset=x-no-such"
    )

    assert response.status_code == 403  # Django ignores the unknown charset; the CSRF check then refuses


def test_a_broken_multipart_body_gets_the_400_page(pages):
    client = Client(raise_request_exception=False)

    response = post_raw(client, pages["register"][1], b"--x\r\nnonsense", "multipart/form-data; boundary=")

    assert response.status_code == 400
    assert "We couldn't read what was sent" in response.content.decode()


# --- 8. The demo admin's published password ------------------------------------------------------------------------


def deploy_warnings():
    return [
        message.id for message in checks.run_checks(include_deployment_checks=True) if message.id.startswith("dance")
    ]


def test_check_deploy_warns_while_an_account_has_the_published_demo_password(settings):
    settings.DEBUG = False
    admin = User.objects.create_superuser(username="admin", email=ADMIN_EMAIL, password=ADMIN_PASSWORD)

    assert deploy_warnings() == ["dance_portal.W001"]

    admin.set_password("a-new-strong-password-1")
    admin.save()
    assert deploy_warnings() == []


def test_check_deploy_flags_the_demo_email_under_another_username(settings):
    settings.DEBUG = False
    User.objects.create_superuser(username="renamed", email=ADMIN_EMAIL, password=ADMIN_PASSWORD)

    assert deploy_warnings() == ["dance_portal.W001"]


def test_check_deploy_says_nothing_about_an_admin_with_its_own_password(settings):
    settings.DEBUG = False
    User.objects.create_superuser(username="admin", email=ADMIN_EMAIL, password="owner-chose-this-one")

    assert deploy_warnings() == []


def test_the_check_leaves_the_stored_hash_alone(settings):
    """check_password on the user would upgrade an old hash and save it: a check must write nothing."""
    settings.DEBUG = False
    admin = User.objects.create_superuser(username="admin", email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher", *settings.PASSWORD_HASHERS]
    stored = User.objects.get(pk=admin.pk).password

    deploy_warnings()

    assert User.objects.get(pk=admin.pk).password == stored


def test_demo_studio_with_debug_off_leaves_check_deploy_quiet(settings):
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("demo_studio", force=True, stdout=io.StringIO())

    assert deploy_warnings() == []
