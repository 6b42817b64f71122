"""The owner's admin at 1280×800 in the light and the dark theme (README "The studio's admin"): axe-core finds no
serious or critical violation on the pages this issue changed, the registrations list shows every column beside its
filters, nothing breaks the CSP, and screenshots land in screenshots/pages/ (the README's admin screenshot is one of
them)."""

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from attendance.tests.factories import ClassSessionFactory
from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.services import send_registration_received
from registrations.tests.factories import RegistrationFactory
from registrations.transitions import confirm_payment
from students.tests.factories import StudentFactory
from studio.models import EmailLog, SystemSetting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "admin-pages-pass-42"
LAPTOP = {"width": 1280, "height": 800}
PaymentStatus = Registration.PaymentStatus


@pytest.fixture
def http_settings(settings, live_server):
    # The live server speaks plain http; production cookie names and Secure flags are for https only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CSRF_COOKIE_NAME = "csrftoken"
    settings.SITE_URL = live_server.url


@pytest.fixture
def studio(django_user_model):
    """A studio as the owner sees it on a Monday morning: long names, amounts over a thousand, every status."""
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Groove Studio")
    owner = django_user_model.objects.create_superuser(username="owner", email="owner@example.org", password=PASSWORD)
    today = timezone.localdate()
    courses = [
        CourseFactory(name="Intensive Choreography Lab", start_date=today - datetime.timedelta(days=14)),
        CourseFactory(name="House Foundations L1"),
        CourseFactory(name="Crew Practice: Showcase", course_type="crew_practice", required_student_type="crew_member"),
    ]
    slots = [priced_slot(course=courses[0], full_package="1250.00", capacity=12, day_of_week=today.weekday())]
    slots.append(priced_slot(course=courses[1], capacity=16))
    slots.append(priced_slot(course=courses[2], full_package=None, drop_in="15"))
    names = [
        ("Maximiliana", "Fernández-Castellanos"),
        ("Zoë", "O'Brien"),
        ("Kwame", "Mensah"),
        ("Aaliyah", "Johnson"),
        ("Björn", "Larsson"),
        ("Mei", "Chen"),
    ]
    registrations = []
    for n, (first, last) in enumerate(names):
        student = StudentFactory(first_name=first, last_name=last)
        registrations.append(
            RegistrationFactory(
                student=student,
                slot=slots[n % 3],
                payment_amount=Decimal("1250.00") if n % 3 == 0 else Decimal("120.00"),
                payment_reported_at=timezone.now() if n == 1 else None,
                payment_reported_method="venmo" if n == 1 else "",
            )
        )
    for registration in registrations:
        send_registration_received(registration)
    confirm_payment(registration=registrations[0], actor=owner, method="zelle", note="Zelle 4431")
    RegistrationFactory(slot=slots[1], payment_status=PaymentStatus.CANCELED)
    RegistrationFactory(slot=slots[1], payment_status=PaymentStatus.EXPIRED)
    ClassSessionFactory(slot=slots[0], session_date=today)
    return {
        "course": courses[0],
        "registration": registrations[1],
        "email": EmailLog.objects.filter(kind="registration_received").order_by("pk").first(),
    }


def pages(studio):
    return {
        "admin-dashboard": "/admin/",
        "admin-registrations": "/admin/registrations/registration/",
        "admin-registration": f"/admin/registrations/registration/{studio['registration'].pk}/change/",
        "admin-email-log": "/admin/studio/emaillog/",
        "admin-email": f"/admin/studio/emaillog/{studio['email'].pk}/change/",
        "admin-settings": "/admin/studio/systemsetting/",
    }


# The changelist's rows scroll sideways inside their box when they do not fit: that is how columns get cut off.
ROWS_OVERFLOW = """() => { const box = document.querySelector('#changelist .results');
  return box ? box.scrollWidth - box.clientWidth : 0; }"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_admin_pages_pass_axe_and_fit_a_laptop_in_both_themes(
    browser, live_server, http_settings, studio, axe_check, page_screenshot, theme
):
    context = browser.new_context(viewport=LAPTOP, color_scheme=theme, timezone_id="America/Los_Angeles")
    context.set_default_timeout(10_000)
    page = context.new_page()
    csp_errors = []
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(f"{page.url}: {m.text}"))
    problems = []

    def check(name):
        try:
            axe_check(page)
        except pytest.fail.Exception as error:
            problems.append(f"{name} ({theme}):\n" + "\n".join(str(error).splitlines()[1:]))
        page_screenshot(page, f"{name}-{theme}")
        if page.evaluate("document.documentElement.scrollWidth") > LAPTOP["width"]:
            problems.append(f"{name} ({theme}) scrolls sideways")

    page.goto(live_server.url + "/admin/login/")
    assert page.title() == "Log in | Groove Studio"
    check("admin-login")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    for name, url in pages(studio).items():
        assert page.goto(live_server.url + url).status == 200
        check(name)
        if name == "admin-registrations":
            assert page.evaluate(ROWS_OVERFLOW) <= 0, "the registrations list hides columns at 1280 px"
            assert page.locator("#changelist-filter").is_visible()
        if theme == "light" and name in ("admin-dashboard", "admin-registrations", "admin-registration"):
            # What the owner sees first, at the screen's own size (the README's admin screenshot is one of these).
            page.screenshot(path=str(_viewport_path(name)), caret="initial")
    context.close()
    assert problems == [], "\n".join(problems)
    assert csp_errors == []


def _viewport_path(name):
    folder = Path(settings.BASE_DIR) / "screenshots" / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}-1280x800-viewport.png"


def test_the_email_preview_shows_the_html_email_inside_its_sandbox(browser, live_server, http_settings, studio):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/studio/emaillog/{studio['email'].pk}/change/")

    preview = page.frame_locator("iframe.email-preview")
    assert preview.get_by_text("We received your registration").is_visible()
    # Sandboxed without allow-scripts: the preview's document runs nothing.
    assert page.locator("iframe.email-preview").get_attribute("sandbox") == ""
    context.close()


def test_the_course_page_shows_every_column_of_its_time_slots(browser, live_server, http_settings, studio):
    context = browser.new_context(viewport=LAPTOP, timezone_id="America/Los_Angeles")
    page = context.new_page()
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/courses/course/{studio['course'].pk}/change/")

    wrapper = "document.querySelector('#slots-group .tabular table').parentElement"
    assert page.evaluate(f"{wrapper}.scrollWidth - {wrapper}.clientWidth") <= 0
    for column in ["Capacity", "Full package price", "Drop-in price", "Difficulty", "Location", "Delete?"]:
        assert page.locator("#slots-group thead th", has_text=column).first.is_visible()
    context.close()
