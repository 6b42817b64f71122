"""A student's money on a phone, in a real browser (README "Payments"): signed in, they see their credit on the form and
register with it; a partial payment shows what is still due; the portal shows the credit and its history."""

import re
from decimal import Decimal

import pytest

from courses.tests.factories import CourseFactory, priced_slot
from registrations import transitions
from registrations.models import Registration
from registrations.tests.factories import CreditGrantFactory
from students.services import make_sign_in_token
from students.tests.factories import StudentFactory
from studio.models import SystemSetting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def http_settings(settings, live_server):
    # The live server speaks plain http; production cookie names and Secure flags are for https only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CSRF_COOKIE_NAME = "csrftoken"
    settings.SITE_URL = live_server.url


def test_a_signed_in_student_registers_with_credit_and_sees_what_is_still_due(
    live_server, phone, http_settings, screenshot, axe_check, django_user_model
):
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Groove Studio")
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="groove-studio")
    ana = StudentFactory(email="ana@example.org", first_name="Zoë 💃", last_name="Lima")
    CreditGrantFactory(student=ana, amount=Decimal("30.00"), note="House Foundations on Sep 12 canceled")
    slot = priced_slot(course=CourseFactory(name="Salsa On1"), full_package="120.00", drop_in=None)
    problems = []
    phone.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico")
            and problems.append(f"{phone.url}: {message.text}")
        ),
    )

    # Signed in (the emailed link), the course form shows the credit and the price after it.
    phone.goto(f"{live_server.url}/me/sign-in/{make_sign_in_token(ana)}/")
    phone.get_by_role("button", name=re.compile("Sign in")).tap()
    phone.wait_for_url(re.compile(r"/me/$"))
    phone.goto(f"{live_server.url}{slot.course.get_absolute_url()}")
    assert phone.get_by_text("You have $30.00 of account credit").is_visible()
    assert phone.get_by_text("you pay $90.00 with your credit").is_visible()
    axe_check(phone)
    screenshot(phone, "ledger-01-course-with-credit")

    phone.get_by_label("Venmo").check()
    phone.get_by_role("button", name="Register and see how to pay").tap()
    phone.wait_for_url(re.compile(r"/registrations/[0-9a-f-]{36}/$"))
    registration = Registration.objects.get()
    assert registration.credit_applied == Decimal("30.00")
    assert phone.locator(".credit-used").inner_text() == "$30.00"
    assert "amount=90.00" in phone.locator("a.venmo-web").get_attribute("href")

    # The studio records $50 of the $90: the page says what came in and asks for the rest.
    owner = django_user_model.objects.create_user(username="owner", is_staff=True)
    transitions.confirm_payment(registration=registration, actor=owner, amount=Decimal("50.00"))
    phone.reload()
    assert phone.get_by_text("We received $50.00; $40.00 is still due.").is_visible()
    assert "amount=40.00" in phone.locator("a.venmo-web").get_attribute("href")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    axe_check(phone)
    screenshot(phone, "ledger-02-part-paid")

    # The portal: what is still due, and the credit's history.
    phone.goto(f"{live_server.url}/me/")
    assert phone.get_by_text("Received $50.00, $40.00 still due").is_visible()
    assert phone.locator(".credit-balance").inner_text() == "$0.00"
    assert phone.locator(".credit-history li").count() == 2  # granted, used
    axe_check(phone)
    screenshot(phone, "ledger-03-portal")
    assert problems == []
