"""The registration journey on a phone, in a real browser: catalog → course → form → payment page → email."""

import datetime
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
    assert phone.locator(".qr-code img").is_visible()
    assert phone.locator(".qr-code img").evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG drew
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


def test_a_drop_in_on_a_two_slot_series_and_a_free_class_on_a_phone(live_server, phone, screenshot, axe_check):
    SystemSetting.objects.create(setting_key="zelle_email", setting_value="pay@groove.example")
    course = CourseFactory(name="Popping Basics")
    thursday = priced_slot(course=course, day_of_week=3, full_package="120.00", drop_in="35.00", location="Studio A")
    saturday = priced_slot(
        course=course, day_of_week=5, start_time=datetime.time(11), end_time=datetime.time(12), drop_in=None
    )
    free = CourseFactory(name="Open Practice", course_type="drop_in")
    priced_slot(course=free, full_package=None, drop_in="0.00")
    csp_errors = []
    phone.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(m.text))

    # The drop-in follows the slot: the Saturday slot has none, the Thursday one lists only its own dates.
    phone.goto(live_server.url + course.get_absolute_url())
    drop_in = phone.get_by_label(re.compile(r"Drop-in \(one class\)"))
    phone.locator(f"input[name='slot'][value='{saturday.pk}']").check()
    assert drop_in.is_hidden()
    phone.locator(f"input[name='slot'][value='{thursday.pk}']").check()
    drop_in.check()
    dates = phone.get_by_label("Which class? (drop-in only)")
    assert dates.is_visible()
    day = thursday.class_dates()[1]
    assert f"{day:%a, %b} {day.day}, 7–8:30 pm" in dates.inner_text()
    assert saturday.class_dates()[0].strftime("%b %-d,") not in dates.inner_text()
    dates.select_option(day.isoformat())
    phone.get_by_label("Email").fill("ana@example.org")
    phone.get_by_label("First name").fill("Ana")
    phone.get_by_label("Last name").fill("Lima")
    axe_check(phone)
    screenshot(phone, "06-drop-in-form")
    phone.get_by_role("button", name="Register and see how to pay").click()
    phone.wait_for_url(re.compile(r"/registrations/[0-9a-f-]{36}/$"))
    drop_in_registration = Registration.objects.get()
    assert (drop_in_registration.slot, drop_in_registration.class_date) == (thursday, day)
    assert drop_in_registration.payment_amount == Decimal("35.00")

    # A free class asks for no payment and confirms at once.
    phone.goto(live_server.url + free.get_absolute_url())
    assert phone.get_by_text("How will you pay?").count() == 0
    phone.get_by_label("Email").fill("ben@example.org")
    phone.get_by_label("First name").fill("Ben")
    phone.get_by_label("Last name").fill("Okafor")
    phone.get_by_role("button", name="Register – it's free").click()
    phone.wait_for_url(re.compile(r"/registrations/[0-9a-f-]{36}/$"))
    assert phone.get_by_role("heading", name="You're in – see you in class").is_visible()
    assert phone.get_by_text("Seat held until").count() == 0
    assert phone.get_by_text("Almost done").count() == 0
    axe_check(phone)
    screenshot(phone, "07-free-class-youre-in")
    free_registration = Registration.objects.get(course=free)
    assert free_registration.payment_status == Registration.PaymentStatus.COMPLETED
    assert EmailLog.objects.get(about_id=free_registration.pk, kind="registration_confirmed")

    assert csp_errors == []
