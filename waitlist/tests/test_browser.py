"""The waitlist on a phone, in a real browser: full course → join → a seat frees → offer email → accept → pay."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail

from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from registrations.transitions import cancel_registration
from studio.models import EmailLog, SystemSetting
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import OFFER_LINK, sent_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(django_settings.BASE_DIR) / "screenshots"


def shoot(page, name):
    """A full-page screenshot; caret="initial" keeps Playwright from injecting the inline style the CSP blocks."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"waitlist-{name}.png"), full_page=True, caret="initial")


def test_student_joins_a_full_class_gets_an_offer_and_accepts_it_on_a_phone(live_server, phone, settings):
    settings.SITE_URL = live_server.url
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Groove Studio")
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="groove-studio")
    course = CourseFactory(name="House Foundations")
    slot = priced_slot(course=course, capacity=1, full_package="120.00", drop_in=None, location="Studio A")
    holder = RegistrationFactory(slot=slot)
    csp_errors = []
    phone.on(
        "console",
        lambda message: "Content Security Policy" in message.text and csp_errors.append(f"{phone.url}: {message.text}"),
    )

    # The full course page offers the waitlist instead of registration.
    phone.goto(live_server.url + course.get_absolute_url())
    assert phone.get_by_text("This class is full.").is_visible()
    assert phone.locator(".registration-form").count() == 0
    phone.get_by_label("Email").fill("zoe@example.org")
    phone.get_by_label("First name").fill("Zoë 💃")
    phone.get_by_label("Last name").fill("Okafor")
    shoot(phone, "01-full-course-join")
    phone.get_by_role("button", name="Join the waitlist").click()

    # The student's page shows their place.
    phone.wait_for_url(re.compile(r"/waitlist/[0-9a-f-]{36}/$"))
    assert phone.locator(".waitlist-position").inner_text().strip() == "Your place in line: #1"
    entry = WaitlistEntry.objects.get(student__email="zoe@example.org")
    assert EmailLog.objects.filter(kind="waitlist_joined", to_email="zoe@example.org").exists()
    shoot(phone, "02-position")

    # A seat frees: the studio cancels a registration; the seat is offered to the waitlist after the commit.
    cancel_registration(registration=holder, reason="Moved away")
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert EmailLog.objects.filter(kind="waitlist_offer", to_email="zoe@example.org").exists()
    link = sent_link(mail.outbox, to="zoe@example.org", pattern=OFFER_LINK.pattern)
    assert link.startswith(live_server.url)

    # The emailed link shows the class, price and expiry; GET changes nothing.
    phone.goto(link)
    assert phone.get_by_role("heading", name="A seat is free for you!").is_visible()
    assert phone.locator(".amount").inner_text() == "$120.00"
    assert phone.get_by_text("We are holding this seat for you until").is_visible()
    assert not Registration.objects.filter(student=entry.student).exists()
    shoot(phone, "03-offer")
    phone.get_by_role("button", name="Accept the seat").click()

    # Accepted: the payment page of the new registration.
    phone.wait_for_url(re.compile(r"/registrations/[0-9a-f-]{36}/$"))
    registration = Registration.objects.get(student=entry.student)
    assert registration.slot == slot
    assert registration.payment_status == Registration.PaymentStatus.PENDING
    assert phone.locator(".reference").inner_text() == registration.reference
    assert phone.get_by_role("link", name="Open Venmo").is_visible()
    shoot(phone, "04-payment")

    # The link works once.
    phone.goto(link)
    assert phone.get_by_role("heading", name="This offer has already been used").is_visible()
    shoot(phone, "05-offer-used")
    assert csp_errors == []
