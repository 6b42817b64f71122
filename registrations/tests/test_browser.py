"""The registration journey on a phone, in a real browser: catalog → course → form → payment page → email."""

import re
from decimal import Decimal

import pytest

from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from studio.models import EmailLog, SystemSetting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_student_registers_on_a_phone_and_sees_how_to_pay(live_server, phone, screenshot, mailoutbox):
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Groove Studio")
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="groove-studio")
    course = CourseFactory(name="House Foundations", level="Beginner", instructor="Jordan")
    priced_slot(course=course, full_package="120.00", drop_in="35.00", location="Studio A, 12 Mission St")
    priced_slot(course=CourseFactory(name="Saturday Footwork", course_type="drop_in"), full_package=None, drop_in="25")
    csp_errors = []
    phone.on(
        "console",
        lambda message: "Content Security Policy" in message.text and csp_errors.append(f"{phone.url}: {message.text}"),
    )

    # Catalog
    phone.goto(live_server.url + "/")
    assert phone.get_by_role("heading", name="Series").is_visible()
    assert phone.get_by_text("$120.00 full package · $35.00 drop-in").is_visible()
    # The stylesheet loaded (the live server serves static files): the header has the studio colour.
    header_colour = phone.locator(".site-header").evaluate("el => getComputedStyle(el).backgroundColor")
    assert header_colour == "rgb(75, 42, 132)"
    screenshot(phone, "01-catalog")

    # Course page
    phone.get_by_role("link", name="House Foundations").click()
    phone.wait_for_url(re.compile(rf"/courses/{course.pk}/$"))
    assert phone.get_by_role("heading", name="House Foundations").is_visible()
    screenshot(phone, "02-course")

    # Drop-in shows the class date; full package hides it again (site.js).
    phone.get_by_label(re.compile(r"Drop-in \(one class\)")).check()
    assert phone.get_by_label("Which class? (drop-in only)").is_visible()
    phone.get_by_label(re.compile(r"Full package \(every class\)")).check()
    assert phone.get_by_label("Which class? (drop-in only)").is_hidden()

    phone.get_by_label("Email").fill("  Zoe@Example.org ")
    phone.get_by_label("First name").fill("Zoë 💃")
    phone.get_by_label("Last name").fill("<script>alert(1)</script>")
    phone.get_by_label("Phone (optional)").fill("+1 415 555 0100")
    phone.get_by_label("Venmo").check()
    screenshot(phone, "03-course-form-filled")
    phone.get_by_role("button", name="Register and see how to pay").click()

    # Payment page
    phone.wait_for_url(re.compile(r"/registrations/[0-9a-f-]{36}/$"))
    registration = Registration.objects.select_related("student").get()
    assert registration.payment_amount == Decimal("120.00")
    assert registration.student.email == "zoe@example.org"
    assert registration.student.last_name == "<script>alert(1)</script>"
    assert phone.locator(".reference").inner_text() == registration.reference
    assert phone.locator(".amount").inner_text() == "$120.00"
    assert (
        phone.get_by_role("link", name="Open Venmo")
        .get_attribute("href")
        .startswith("venmo://paycharge?txn=pay&recipients=groove-studio&amount=120.00&note=" + registration.reference)
    )
    assert phone.locator(".qr-code svg").is_visible()
    screenshot(phone, "04-payment")

    # The "registration received" email was recorded for the student.
    email = EmailLog.objects.get(kind="registration_received")
    assert email.to_email == "zoe@example.org"
    assert registration.reference in email.body_text
    assert email.status == EmailLog.Status.SENT
    assert [message.to for message in mailoutbox] == [["zoe@example.org"]]

    # "I've sent the payment" works and comes back with a message.
    phone.get_by_role("button", name="I've sent the payment").click()
    phone.wait_for_load_state()
    assert phone.get_by_text("You told us you paid").is_visible()
    registration.refresh_from_db()
    assert registration.payment_reported_at is not None
    screenshot(phone, "05-payment-reported")

    assert csp_errors == []
