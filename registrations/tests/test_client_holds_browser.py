"""Seat squatting in a real browser (SECURITY.md "A shared Wi-Fi and the cap on unpaid holds"): a phone at the cap is
told why on the course page; the owner sees the client in admin → Holds by client and releases its holds (what one of
them had received becomes the student's account credit, as the owner chooses), and the waitlist gets the seats."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from courses.tests.factories import CourseFactory, priced_slot
from registrations import ledger
from registrations.models import Registration
from registrations.tests.factories import PaymentFactory, RegistrationFactory
from studio.models import SystemSetting
from waitlist.models import WaitlistEntry
from waitlist.services import join_waitlist
from waitlist.tests.factories import student_details

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def plain_http_cookies(settings):
    # The live server speaks plain http; production cookie names and Secure flags are for https only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CSRF_COOKIE_NAME = "csrftoken"


def console_errors(page) -> list:
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
    return errors


def test_a_phone_at_the_cap_is_told_why_and_the_owner_releases_its_holds(
    live_server, phone, browser, screenshot, axe_check, plain_http_cookies
):
    SystemSetting.objects.create(setting_key="max_unpaid_holds_per_client", setting_value="2")
    course = CourseFactory(name="Salsa Foundations")
    slot = priced_slot(course=course, capacity=3, full_package="120.00", drop_in=None, location="Studio A")
    errors = console_errors(phone)

    # The live server sees every request from 127.0.0.1: one client. Two holds fill its cap.
    for n in range(3):
        phone.goto(live_server.url + course.get_absolute_url())
        phone.get_by_label("Email").fill(f"dancer{n}@example.org")
        phone.get_by_label("First name").fill(f"Dancer {n}")
        phone.get_by_label("Last name").fill("Lima")
        phone.get_by_label("Venmo").check()
        phone.get_by_role("button", name="Register and see how to pay").click()
        phone.wait_for_load_state()
    assert phone.get_by_text("still waiting for payment").is_visible()
    assert phone.get_by_text("mobile data").is_visible()
    axe_check(phone)
    screenshot(phone, "holds-01-phone-at-the-cap")
    assert Registration.objects.count() == 2

    # Someone else joins the waitlist for the last seat's class (a seat is still free, so it is held for her later).
    RegistrationFactory(slot=slot)  # the third seat: the class is full now
    join_waitlist(course=course, details=student_details("w"))

    part_paid = Registration.objects.order_by("pk").first()
    PaymentFactory(registration=part_paid, amount=Decimal("40.00"))  # $40 of $120 sent before the holds are released

    User.objects.create_superuser(username="owner", email="owner@example.org", password=PASSWORD)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    admin_errors = console_errors(page)
    try:
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", "owner")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.goto(f"{live_server.url}/admin/registrations/holdsbyclient/")
        assert page.get_by_role("heading", name="Holds by client").is_visible()
        assert page.get_by_text("at the cap").is_visible()
        assert page.get_by_role("cell", name="Salsa Foundations").is_visible()
        screenshot(page, "holds-02-admin-list")

        page.locator("input[name=client]").first.check()
        page.get_by_role("button", name="Release these holds").click()
        page.get_by_label("Reason").fill("Too many unpaid seats from one phone")
        page.get_by_label("Give it as account credit").check()  # asked: one of the holds has money on it
        screenshot(page, "holds-03-admin-confirm")
        page.get_by_role("button", name="Release the holds").click()
        assert page.get_by_text("Released 2 holds").is_visible()
        screenshot(page, "holds-04-admin-released")
    finally:
        context.close()

    assert Registration.objects.filter(payment_status=Registration.PaymentStatus.CANCELED).count() == 2
    assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.OFFERED
    assert ledger.credit_balance(part_paid.student) == Decimal("40.00")
    assert errors == [] and admin_errors == [], errors + admin_errors
