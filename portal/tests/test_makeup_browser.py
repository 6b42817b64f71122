"""The whole "can't make it" path on a phone, in a real browser: the reminder email → "I can't make it" → the seat
goes to the student waiting → a make-up picked in the portal → on the other class's roster."""

import re

import pytest
from django.core import mail

from attendance.models import Absence, MakeUp
from attendance.reminders import send_class_reminders
from attendance.selectors import session_roster
from attendance.tests.helpers import dated_class, paid, series, set_setting
from registrations.models import Registration
from students.tests.factories import StudentFactory
from studio.models import EmailLog
from waitlist.models import WaitlistEntry
from waitlist.services import join_waitlist
from waitlist.tests.factories import sent_link, student_details

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def http_settings(settings, live_server):
    # The live server speaks plain http; production cookie names and Secure flags are for https only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CSRF_COOKIE_NAME = "csrftoken"
    settings.SITE_URL = live_server.url


def link_sent(to: str, path: str) -> str:
    """The link under `path` in the last email sent to `to`, as delivered (the email log keeps no live secret link)."""
    return sent_link(mail.outbox, to=to, pattern=rf"{path}[^/\s]+/")


def check_phone_page(page, axe_check):
    """No serious accessibility problem, nothing scrolls sideways, every button and field easy to tap."""
    axe_check(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    small = page.evaluate(
        """() => [...document.querySelectorAll('button, .btn, input:not([type=hidden]), select')]
            .filter(el => { const box = el.getBoundingClientRect(); return box.height > 0 && box.height < 44; })
            .map(el => el.outerHTML.slice(0, 80))"""
    )
    assert small == []


def test_reminder_to_cant_make_it_to_the_waitlist_to_a_make_up_on_another_roster(
    live_server, phone, http_settings, screenshot, axe_check
):
    for key, value in {
        "studio_name": "Groove Studio",
        "venmo_username": "groove-studio",
        "class_reminder_hours": 72,
    }.items():
        set_setting(key, value)
    # Saturday's Heels Workshop (one date, one seat) is Ana's; Wendy waits for a seat in it.
    workshop_slot, workshop = dated_class(capacity=1, in_days=2, name="Heels Workshop", instructor="Mia")
    workshop_slot.difficulty_level = "intermediate"
    workshop_slot.location = "Studio B, 12 Mission St"
    workshop_slot.save()
    workshop.location = workshop_slot.location
    workshop.save()
    ana = paid(
        workshop_slot,
        pricing_type="drop_in",
        student=StudentFactory(email="ana@example.org", first_name="Ana", last_name="Lima"),
    ).student
    join_waitlist(course=workshop_slot.course, details=student_details("wendy", first_name="Wendy"))
    # Classes open to her make-up: House L1 (beginner, weekly), with seats.
    house_slot, house = series(name="House L1", difficulty="beginner", capacity=8, starts_in_days=3)
    for _ in range(3):
        paid(house_slot)
    series(name="House L3", difficulty="advanced", starts_in_days=4)  # too hard: not offered
    console_errors = []
    phone.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico")
            and console_errors.append(f"{phone.url}: {message.text}")
        ),
    )

    # The reminder goes out (cron) with when, where and the "Can't make it?" link.
    assert send_class_reminders() == 1
    reminder = EmailLog.objects.get(kind="class_reminder")
    assert reminder.to_email == "ana@example.org"
    assert "Studio B, 12 Mission St" in reminder.body_text

    # The link: the class and what will happen; nothing changes until she taps.
    phone.goto(link_sent("ana@example.org", "/me/cant-make-it/"))
    phone.get_by_role("heading", name="Can't make it?").wait_for()
    assert phone.get_by_text("Heels Workshop").is_visible()
    assert phone.get_by_text("You get a make-up class").is_visible()
    assert not Absence.objects.exists()
    check_phone_page(phone, axe_check)
    screenshot(phone, "cant-make-it-phone")

    phone.get_by_role("button", name="I can't make it").tap()
    phone.get_by_role("heading", name="We'll miss you!").wait_for()
    assert phone.get_by_text("Your seat went back, and you get a make-up.").is_visible()
    check_phone_page(phone, axe_check)
    screenshot(phone, "cant-make-it-done-phone")

    # The seat goes to Wendy, waiting: an offer by email; she accepts it.
    entry = WaitlistEntry.objects.get()
    assert entry.status == WaitlistEntry.Status.OFFERED
    wendy = phone.context.browser.new_context(viewport={"width": 390, "height": 844})
    wendy_page = wendy.new_page()
    wendy_page.goto(link_sent(entry.student.email, "/waitlist/offer/"))
    wendy_page.get_by_text("Venmo", exact=True).click()
    wendy_page.get_by_role("button", name="Accept the seat").click()
    wendy_page.wait_for_url(re.compile(r"/registrations/[0-9a-f-]{36}/$"))
    wendy.close()
    assert Registration.objects.get(slot=workshop_slot, student=entry.student).payment_status == "pending"

    # Ana picks her make-up: the button asks her to sign in (a link by email), then lists the classes.
    phone.get_by_role("link", name="Pick a make-up class").tap()
    phone.wait_for_url(re.compile(r"/me/$"))
    phone.get_by_label("Your email").fill("ana@example.org")
    phone.get_by_role("button", name="Email me a sign-in link").tap()
    phone.wait_for_url(re.compile(r"/me/link-sent/$"))
    phone.goto(link_sent("ana@example.org", "/me/sign-in/"))
    phone.get_by_role("button", name="Sign in").tap()
    phone.wait_for_url(re.compile(r"/me/$"))
    assert phone.get_by_text("Make-up classes to book").is_visible()
    phone.get_by_role("link", name="Pick a make-up class").tap()
    phone.get_by_role("heading", name="Pick a make-up class").wait_for()
    assert phone.locator(".makeup-choice", has_text="House L1").count() == 4
    assert phone.locator(".makeup-choice", has_text="House L3").count() == 0
    check_phone_page(phone, axe_check)
    screenshot(phone, "makeup-picker-phone")

    phone.locator(".makeup-choice").first.get_by_role("button", name=re.compile("^Book House L1")).tap()
    phone.wait_for_url(re.compile(r"/me/$"))
    assert phone.get_by_text("Your make-up class is booked: House L1.").is_visible()
    assert phone.locator(".upcoming-class", has_text="House L1").get_by_text("Make-up", exact=True).is_visible()
    assert phone.locator(".upcoming-class", has_text="Heels Workshop").get_by_text("Not going").is_visible()
    check_phone_page(phone, axe_check)
    screenshot(phone, "makeup-booked-portal-phone")

    # On House L1's roster, marked make-up; and in her inbox.
    makeup = MakeUp.objects.get()
    assert makeup.session == house[0]
    entry = session_roster(house[0]).entry_for(ana.pk)
    assert entry is not None and entry.makeup == makeup
    assert EmailLog.objects.filter(kind="makeup_booked", to_email="ana@example.org").exists()
    assert console_errors == [], "\n".join(console_errors)
