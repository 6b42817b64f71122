"""The student portal on a phone, in a real browser: ask for a link → open it from the email → see → cancel."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail

from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.tests.factories import StudentFactory
from studio.models import EmailLog, SystemSetting
from waitlist.tests.factories import sent_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"  # gitignored


@pytest.fixture
def http_settings(settings, live_server):
    # The live server speaks plain http; production cookie names and Secure flags are for https only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CSRF_COOKIE_NAME = "csrftoken"
    settings.SITE_URL = live_server.url


def snap(page, name: str) -> None:
    """Save screenshots/<name>.png. caret="initial": hiding the caret makes Playwright set style attributes, which
    the page's CSP blocks and reports as console errors."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")


def assert_fits_the_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_student_signs_in_from_the_emailed_link_on_a_phone_and_cancels_a_pending_registration(
    live_server, phone, http_settings
):
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Groove Studio")
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="groove-studio")
    ana = StudentFactory(email="ana@example.org", first_name="Zoë 💃", last_name="O'Brien")
    slot = priced_slot(course=CourseFactory(name="House Foundations"), location="Studio A, 12 Mission St")
    pending = RegistrationFactory(student=ana, slot=slot, payment_amount=Decimal("120.00"))
    paid = RegistrationFactory(
        student=ana, payment_status=Registration.PaymentStatus.COMPLETED, payment_amount=Decimal("35.00")
    )
    console_errors = []
    phone.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico")
            and console_errors.append(f"{phone.url}: {message.text}")
        ),
    )

    # From the catalog header to the portal's sign-in form.
    phone.goto(live_server.url + "/")
    phone.get_by_role("link", name="My registrations").tap()
    phone.wait_for_url(re.compile(r"/me/$"))
    assert_fits_the_phone(phone)
    snap(phone, "portal-01-sign-in")

    phone.get_by_label("Your email").fill("  Ana@Example.org ")
    phone.get_by_role("button", name="Email me a sign-in link").tap()
    phone.wait_for_url(re.compile(r"/me/link-sent/$"))
    assert phone.get_by_text("If this email is registered, a sign-in link is on its way").is_visible()
    snap(phone, "portal-02-link-sent")

    # Open the link from the recorded email: GET shows a button, the tap signs in.
    email = EmailLog.objects.get(kind="sign_in_link")
    assert email.to_email == "ana@example.org"
    assert "LINK-SECRET-REMOVED" in email.body_text  # the log never keeps a live sign-in link
    link = sent_link(mail.outbox, to="ana@example.org", pattern="/me/sign-in/[^/\\s]+/")
    assert link.startswith(live_server.url)
    phone.goto(link)
    snap(phone, "portal-03-sign-in-button")
    phone.get_by_role("button", name="Sign in").tap()
    phone.wait_for_url(re.compile(r"/me/$"))

    # The portal: both registrations, the pending one with how to pay and a cancel button.
    assert phone.get_by_text("You're signed in.").is_visible()
    card = phone.locator(f".registration-card[data-reference='{pending.reference}']")
    assert card.get_by_text("House Foundations").is_visible()
    assert card.get_by_text("Pending payment").is_visible()
    assert card.locator(".amount").inner_text() == "$120.00"
    assert card.get_by_role("link", name="How to pay (Venmo)").get_attribute("href") == pending.get_absolute_url()
    paid_card = phone.locator(f".registration-card[data-reference='{paid.reference}']")
    assert paid_card.get_by_text("Paid").is_visible()
    assert paid_card.get_by_role("link", name="Cancel registration").count() == 0
    assert phone.get_by_label("First name").input_value() == "Zoë 💃"
    assert_fits_the_phone(phone)
    snap(phone, "portal-04-my-registrations")

    # Cancel: a confirmation page first, then back to the portal.
    card.get_by_role("link", name="Cancel registration").tap()
    phone.wait_for_url(re.compile(rf"/me/registrations/{pending.public_id}/cancel/$"))
    assert phone.get_by_role("heading", name="Cancel this registration?").is_visible()
    snap(phone, "portal-05-cancel-confirm")
    phone.get_by_role("button", name="Yes, cancel it").tap()
    phone.wait_for_url(re.compile(r"/me/$"))
    assert phone.get_by_text(f"Your registration {pending.reference} for House Foundations is canceled.").is_visible()
    pending.refresh_from_db()
    assert pending.payment_status == Registration.PaymentStatus.CANCELED
    assert phone.locator(f".registration-card[data-reference='{pending.reference}']").count() == 0
    assert phone.get_by_role("heading", name="History").is_visible()
    assert EmailLog.objects.filter(kind="registration_canceled", to_email="ana@example.org").exists()
    snap(phone, "portal-06-canceled")
    assert console_errors == []

    # The link was single use: a friendly page (410) with a form for a new one.
    response = phone.goto(link)
    assert response.status == 410
    assert phone.get_by_text("already been used").is_visible()
    assert phone.get_by_role("button", name="Email me a sign-in link").is_visible()
    snap(phone, "portal-07-link-used")
