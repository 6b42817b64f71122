"""Safe by default (README "Security", SECURITY.md): deploy checks, cookies, CSP, staff login throttling, registration
rate limit, password hashing. The bad-input catalogue is walked in test_bad_inputs.py."""

import datetime
import os
import secrets
import subprocess
import sys

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

import dance_portal.settings as project_settings
from attendance.tests.factories import ClassSessionFactory
from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.services import make_sign_in_token
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-staff-password-1"
LOGIN = reverse("admin:login")


# --- 1. Production settings --------------------------------------------------------------------------------------------


def production_env(**overrides: str) -> dict[str, str]:
    """What a production server's environment holds. DEBUG is empty, which counts as unset (off); it is passed so
    that a developer's .env cannot switch it on."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "DEBUG": "",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "studio.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://studio.example.org",
        "SITE_URL": "https://studio.example.org",
        "EMAIL_URL": "smtp+tls://mailer:mail-password@smtp.example.org:587",
        **overrides,
    }


def test_production_settings_pass_check_deploy_at_warning_level():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=django_settings.BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_when_production_settings_are_weakened():
    """The check above has teeth: turning HSTS off is reported and fails the command."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=django_settings.BASE_DIR,
        env=production_env(SECURE_HSTS_SECONDS="0"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


# SECRET_KEY missing with DEBUG off: dance_portal/tests/test_project.py
# (test_settings_without_secret_key_and_debug_off_fail_with_a_clear_message).


def test_csrf_cookie_is_secure_and_host_only_with_debug_off(client):
    slot = priced_slot()

    response = client.get(slot.course.get_absolute_url())

    cookie = response.cookies["__Host-csrftoken"]
    assert cookie["secure"] is True
    assert cookie["path"] == "/"
    assert cookie["domain"] == ""


def test_session_cookie_is_secure_httponly_and_host_only_with_debug_off(client):
    student = StudentFactory()

    response = client.post(reverse("students:sign_in", args=[make_sign_in_token(student)]))

    cookie = response.cookies["__Host-sessionid"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["path"] == "/"
    assert cookie["domain"] == ""
    assert cookie["samesite"] == "Lax"


def test_https_responses_carry_hsts_nosniff_and_referrer_policy(client):
    response = client.get("/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_a_request_for_an_unknown_host_is_refused_with_400(client):
    response = client.get("/", headers={"host": "evil.example"})

    assert response.status_code == 400


# --- 2. Content-Security-Policy ----------------------------------------------------------------------------------------


def csp(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def staff_in_group(name: str, **fields) -> User:
    user = User.objects.create_user(username=name.lower().replace(" ", "-"), password=None, is_staff=True, **fields)
    user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def pages(client):
    """Every kind of page: (url, a client allowed to see it)."""
    slot = priced_slot(course=CourseFactory(name="House L1"))
    registration = RegistrationFactory(slot=slot)
    session = ClassSessionFactory(slot=slot)
    staff = staff_in_group("Studio admin")
    staff_client = Client()
    staff_client.force_login(staff)
    return {
        "catalog": (client, "/"),
        "course page": (client, slot.course.get_absolute_url()),
        "payment page": (client, registration.get_absolute_url()),
        "portal": (client, reverse("portal:home")),
        "attendance": (staff_client, reverse("attendance:list")),
        "attendance roster": (staff_client, reverse("attendance:detail", args=[session.pk])),
        "admin login": (client, LOGIN),
        "admin index": (staff_client, reverse("admin:index")),
        "admin change page": (staff_client, reverse("admin:registrations_registration_change", args=[registration.pk])),
        "not found": (client, "/courses/999999/"),
    }


@pytest.mark.parametrize(
    "page",
    [
        "catalog",
        "course page",
        "payment page",
        "portal",
        "attendance",
        "attendance roster",
        "admin login",
        "admin index",
        "admin change page",
        "not found",
    ],
)
def test_every_page_sends_a_csp_without_unsafe_inline_that_forbids_framing(pages, page):
    client, url = pages[page]

    response = client.get(url)

    policy = csp(response)
    assert response.status_code in (200, 404)
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"


def test_script_nonce_differs_per_response(client):
    nonces = {next(s for s in csp(client.get("/"))["script-src"] if s.startswith("'nonce-")) for _ in range(2)}

    assert len(nonces) == 2


# --- 3. Staff login throttling (django-axes) ---------------------------------------------------------------------------


@pytest.fixture
def staff():
    return User.objects.create_user(username="door", password=PASSWORD, is_staff=True)


def log_in(client, password, *, username="door", ip="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_axes_is_the_first_authentication_backend_and_its_middleware_the_last():
    assert project_settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert project_settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert project_settings.AXES_FAILURE_LIMIT == 5
    assert project_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_four_wrong_passwords_answer_the_usual_login_error(client, staff):
    responses = [log_in(client, "wrong") for _ in range(4)]

    assert [r.status_code for r in responses] == [200] * 4
    assert "Please enter the correct username and password" in responses[-1].content.decode()


def test_fifth_wrong_password_locks_the_username_and_ip_out_with_a_friendly_429(client, staff):
    for _ in range(4):
        log_in(client, "wrong")

    fifth = log_in(client, "wrong")
    right = log_in(client, PASSWORD)

    html = right.content.decode()
    assert fifth.status_code == 429
    assert right.status_code == 429
    assert "Too many wrong passwords" in html
    assert "Please try again in 60 minutes." in html
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_ip(client, staff):
    User.objects.create_user(username="owner", password=PASSWORD, is_staff=True)
    for _ in range(5):
        log_in(client, "wrong")

    other_user_same_ip = log_in(client, PASSWORD, username="owner")
    client.logout()
    same_user_other_ip = log_in(client, PASSWORD, ip="198.51.100.9")

    assert other_user_same_ip.status_code == 302
    assert same_user_other_ip.status_code == 302


def test_lockout_lifts_after_an_hour(client, staff):
    with time_machine.travel(datetime.datetime(2031, 3, 1, 12, 0, tzinfo=datetime.UTC), tick=False) as clock:
        for _ in range(5):
            log_in(client, "wrong")
        clock.shift(datetime.timedelta(minutes=59))
        still_locked = log_in(client, PASSWORD)
        clock.shift(datetime.timedelta(minutes=61))
        after_an_hour = log_in(client, PASSWORD)

    assert still_locked.status_code == 429
    assert after_an_hour.status_code == 302


def test_a_successful_login_resets_the_failure_count(client, staff):
    for _ in range(4):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        log_in(client, "wrong")

    assert log_in(client, PASSWORD).status_code == 302


# --- 3. Public forms: registration rate limit (waitlist join, offers and sign-in links: their app tests) --------------


def registration_form(slot, email: str) -> dict:
    return {
        "email": email,
        "first_name": "Ana",
        "last_name": "Lima",
        "slot": str(slot.pk),
        "pricing_type": "full_package",
        "payment_method": "venmo",
    }


def test_registration_posts_are_rate_limited_per_client_with_a_friendly_429(client, settings):
    settings.RATELIMIT_REGISTRATION = "2/h"
    slot = priced_slot()
    url = reverse("registrations:create", args=[slot.course.pk])
    for n in range(2):
        assert client.post(url, registration_form(slot, f"ana{n}@example.org")).status_code == 302

    limited = client.post(url, registration_form(slot, "bot@example.org"))
    other_client = client.post(url, registration_form(slot, "ben@example.org"), REMOTE_ADDR="198.51.100.9")

    assert limited.status_code == 429
    assert "Too many tries" in limited.content.decode()
    assert not Registration.objects.filter(student__email="bot@example.org").exists()
    assert other_client.status_code == 302


def test_viewing_a_course_page_does_not_count_against_the_registration_limit(client, settings):
    settings.RATELIMIT_REGISTRATION = "1/h"
    slot = priced_slot()
    for _ in range(3):
        client.get(slot.course.get_absolute_url())

    assert (
        client.post(
            reverse("registrations:create", args=[slot.course.pk]), registration_form(slot, "ana@example.org")
        ).status_code
        == 302
    )


def test_waitlist_and_sign_in_limits_come_from_settings(client, settings):
    settings.RATELIMIT_SIGN_IN_LINK = "1/h"
    settings.RATELIMIT_WAITLIST_OFFER = "1/h"
    sign_in = reverse("portal:home")
    offer = reverse("waitlist:offer", args=["x" * 43])

    assert client.post(sign_in, {"email": "ana@example.org"}).status_code == 302
    assert client.post(sign_in, {"email": "ben@example.org"}).status_code == 429
    assert client.post(offer, {"action": "decline"}).status_code == 404
    assert client.post(offer, {"action": "decline"}).status_code == 429


# --- 5. Passwords ------------------------------------------------------------------------------------------------------


def test_new_passwords_are_hashed_with_argon2(settings):
    # conftest.py uses MD5 for speed; this test puts the project's real hashers back.
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS

    user = User.objects.create_user(username="owner", password=PASSWORD)

    assert project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


# --- 2. The admin under the CSP, in a real browser ----------------------------------------------------------------------


@pytest.fixture
def plain_http_cookies(settings):
    # The live server speaks plain http; production cookie names and Secure flags are for https only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CSRF_COOKIE_NAME = "csrftoken"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_pages_work_under_the_csp_without_console_errors(live_server, browser, plain_http_cookies):
    """The admin's own JavaScript (inlines, autocomplete, actions, calendar) runs under the strict CSP: no violation
    and no script error is logged, so the admin needs no relaxation."""
    User.objects.create_superuser(username="owner", email="owner@example.org", password=PASSWORD)
    slot = priced_slot(course=CourseFactory(name="House L1"))
    student = StudentFactory(first_name="<script>alert(1)</script>", last_name="Lima")
    registration = RegistrationFactory(slot=slot, student=student)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico")
            and errors.append(f"{page.url}: {message.text}")
        ),
    )
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("dialog", lambda dialog: errors.append(f"{page.url}: dialog {dialog.message}") or dialog.dismiss())
    admin = f"{live_server.url}/admin/"
    try:
        page.goto(admin)
        page.fill("#id_username", "owner")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(admin)
        assert page.locator("#content").is_visible()

        # Course page: slot inlines with "Add another", date and time shortcuts.
        page.goto(f"{admin}courses/course/{slot.course_id}/change/")
        rows = page.locator(".dynamic-slots").count()
        page.locator(".add-row a", has_text="Add another").first.click()
        assert page.locator(".dynamic-slots").count() == rows + 1
        page.locator(".datetimeshortcuts a", has_text="Today").first.click()
        page.locator("#content-main input[type=submit][name=_continue]").wait_for()

        # The owner's "register a student" page: autocomplete widgets (select2) fetch and show options.
        page.goto(f"{admin}registrations/registration/register/")
        page.locator(".select2-selection").first.click()
        page.locator(".select2-results__option", has_text="Lima").first.wait_for()
        page.keyboard.press("Escape")

        # Changelist: the action checkboxes and "select all".
        page.goto(f"{admin}registrations/registration/")
        page.locator("#action-toggle").check()
        assert page.locator(".action-counter").inner_text().startswith("1 of 1 selected")
        assert page.locator("#result_list").inner_text().count("<script>alert(1)</script>") == 1

        # A registration's page (its history inline) and the student's page.
        page.goto(f"{admin}registrations/registration/{registration.pk}/change/")
        page.goto(f"{admin}students/student/{registration.student_id}/change/")
    finally:
        context.close()

    assert errors == [], "\n".join(errors)
