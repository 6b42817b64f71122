"""Every student, portal and attendance page at phone, tablet and laptop sizes: axe-core finds no serious or critical
violation, nothing scrolls sideways, and a screenshot of each lands in screenshots/pages/ (path printed at the end)."""

import datetime
import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from attendance.absences import make_token
from attendance.tests.factories import ClassSessionFactory
from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from registrations.transitions import cancel_registration
from students.services import make_sign_in_token
from students.tests.factories import CrewMemberFactory, StudentFactory
from studio.models import EmailLog, SystemSetting
from waitlist.offers import offer_link_secret
from waitlist.services import join_waitlist
from waitlist.tests.factories import student_details

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONES = [(360, 740), (390, 844)]
LARGE = [(1024, 768), (1440, 900)]
SIZES = PHONES + LARGE
DAY = datetime.timedelta(days=1)
PASSWORD = "pages-check-pass-42"


@pytest.fixture
def http_settings(settings, live_server):
    # The live server speaks plain http; production cookie names and Secure flags are for https only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CSRF_COOKIE_NAME = "csrftoken"
    settings.SITE_URL = live_server.url


@pytest.fixture
def studio():
    """A studio with every kind of page to show: open, full and crew courses, Venmo and Zelle payments, an offer."""
    for key, value in {
        "studio_name": "Groove Studio",
        "venmo_username": "groove-studio",
        "zelle_recipient_name": "Groove Studio LLC",
        "zelle_email": "pay@groove.example",
        "contact_email": "hello@groove.example",
        "social_handle": "groovestudio",
    }.items():
        SystemSetting.objects.create(setting_key=key, setting_value=value)
    today = timezone.localdate()
    course = CourseFactory(name="House Foundations", level="Beginner", instructor="Jordan")
    slot = priced_slot(course=course, location="Studio A, 12 Mission St")
    priced_slot(course=CourseFactory(name="Saturday Footwork", course_type="drop_in"), full_package=None)
    priced_slot(
        course=CourseFactory(name="Crew Practice", course_type="crew_practice", required_student_type="crew_member"),
        full_package=None,
        drop_in="10",
    )
    crew_member = CrewMemberFactory(email="ana@example.org", first_name="Ana")
    venmo = RegistrationFactory(slot=slot, student=crew_member)
    zelle = RegistrationFactory(slot=slot, payment_method=Registration.PaymentMethod.ZELLE)
    paid = RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.COMPLETED)
    expired = RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.EXPIRED)

    full_course = CourseFactory(name="Waacking Intensive")
    full = priced_slot(course=full_course, capacity=1, location="Studio B")
    holder = RegistrationFactory(slot=full)
    join_waitlist(course=full_course, details=student_details("zoe"), preferred_slot=None)
    cancel_registration(registration=holder, reason="Moved away")
    token = offer_link_secret(EmailLog.objects.get(kind="waitlist_offer").about)
    RegistrationFactory(slot=full)  # full again for the waitlist page

    door = CourseFactory(name="House L1", start_date=today - 14 * DAY, end_date=today + 14 * DAY)
    door_slot = priced_slot(course=door, day_of_week=today.weekday(), location="Studio A")
    session = ClassSessionFactory(slot=door_slot, session_date=today)
    door_students = [
        RegistrationFactory(
            slot=door_slot,
            payment_status=Registration.PaymentStatus.COMPLETED,
            student=StudentFactory(first_name=name, last_name="Door"),
        ).student
        for name in ["Ana", "Ben", "Chloé", "Dev"]
    ]
    next_week = ClassSessionFactory(slot=door_slot, session_date=today + 7 * DAY)
    return {
        "catalog": "/",
        "course": course.get_absolute_url(),
        "payment-venmo": venmo.get_absolute_url(),
        "payment-zelle": zelle.get_absolute_url(),
        "payment-confirmed": paid.get_absolute_url(),
        "payment-expired": expired.get_absolute_url(),
        "course-full-waitlist": full_course.get_absolute_url(),
        "offer": f"/waitlist/offer/{token}/",
        "me-sign-in": "/me/",
        "sign_in_link": f"/me/sign-in/{make_sign_in_token(venmo.student)}/",
        "cant-make-it": reverse("portal:cant_make_it", args=[make_token(session=next_week, student=door_students[0])]),
        "attendance-list": "/attendance/",
        "attendance-roster": f"/attendance/{session.pk}/",
    }


# Buttons, fields and the header links: anything smaller than 44 px high is hard to hit with a thumb. Radio buttons
# and checkboxes are exempt: their whole card (label) is the tap target.
SMALL_TAP_TARGETS = """() => [...document.querySelectorAll(
    'button, .btn, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, textarea, header a'
  )].filter(el => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && box.height < 44 && !el.closest('.hp-field');
  }).map(el => el.outerHTML.slice(0, 80))"""


def check_page(page, name, url, sizes, *, axe_check, page_screenshot, base, problems, status=200):
    """Visit `url` at each size: axe finds nothing serious, nothing scrolls sideways, a screenshot is saved.
    Problems are collected rather than raised, so one run reports every page."""
    for width, height in sizes:
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(base + url)
        assert response.status == status, f"{url} answered {response.status}"
        page_screenshot(page, name)
        try:
            axe_check(page)
        except pytest.fail.Exception as error:
            problems.append(f"{name} at {width}×{height}:\n" + "\n".join(str(error).splitlines()[1:]))
        if width < 768:
            small = page.evaluate(SMALL_TAP_TARGETS)
            if small:
                problems.append(f"{name} at {width}×{height}: tap targets under 44 px: {small}")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            problems.append(f"{name} scrolls sideways at {width}×{height} ({scroll_width}px wide)")


def test_every_page_passes_axe_and_fits_phones_tablets_and_laptops(
    browser, live_server, http_settings, studio, axe_check, page_screenshot
):
    urls = studio
    csp_errors = []

    def new_page(**options):
        context = browser.new_context(viewport={"width": 390, "height": 844}, **options)
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text and csp_errors.append(f"{page.url}: {message.text}")
            ),
        )
        return context, page

    context, page = new_page()
    problems = []
    check = dict(axe_check=axe_check, page_screenshot=page_screenshot, base=live_server.url, problems=problems)
    for name in [
        "catalog",
        "course",
        "payment-venmo",
        "payment-zelle",
        "course-full-waitlist",
        "offer",
        "me-sign-in",
        "cant-make-it",
    ]:
        check_page(page, name, urls[name], SIZES, **check)

    # Signed in: the sign-in link's button, then the portal.
    page.goto(live_server.url + urls["sign_in_link"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/me/$"))
    check_page(page, "me-signed-in", "/me/", SIZES, **check)
    # A crew member sees the crew practices in their own section, badge included.
    check_page(page, "catalog-crew-member", "/", SIZES, **check)
    assert page.locator(".crew-section .badge-crew").first.is_visible()
    # Profile fields tell the phone what to autofill.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/me/")
    autocomplete = {
        name: page.locator(f"form input[name='{name}']").first.get_attribute("autocomplete")
        for name in ["first_name", "last_name", "phone"]
    }
    assert autocomplete == {"first_name": "given-name", "last_name": "family-name", "phone": "tel"}
    context.close()

    # Every other state has a designed page; checked on the phone sizes.
    context, page = new_page()
    for name in ["payment-confirmed", "payment-expired"]:
        check_page(page, name, urls[name], PHONES, **check)
    check_page(page, "offer-invalid", "/waitlist/offer/not-a-real-token/", PHONES, status=404, **check)
    check_page(page, "cant-make-it-invalid", "/me/cant-make-it/not-a-real-token/", PHONES, status=404, **check)
    check_page(page, "not-found", "/no-such-page/", PHONES, status=404, **check)
    SystemSetting.objects.create(setting_key="registration_open", setting_value="false")
    check_page(page, "catalog-registration-closed", "/", PHONES, **check)
    check_page(page, "course-registration-closed", urls["course"], PHONES, **check)
    context.close()

    # Staff at the door: tablet and laptop only.
    user = User.objects.create_user(username="door", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Instructor")[0])
    context, page = new_page(has_touch=True)
    page.goto(f"{live_server.url}/admin/login/?next=/attendance/")
    page.fill("#id_username", "door")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/attendance/")
    for name in ["attendance-list", "attendance-roster"]:
        check_page(page, name, urls[name], LARGE, **check)
    context.close()
    assert problems == [], "\n".join(problems)
    assert csp_errors == []


# What the focused element shows: an outline or Bootstrap's focus shadow.
FOCUS_STATE = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  return {
    text: (el.innerText || el.value || el.name || el.tagName).trim().slice(0, 40),
    visible: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none',
  };
}"""


def test_course_page_works_with_the_keyboard_alone_and_always_shows_where_the_focus_is(
    browser, live_server, http_settings, studio
):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + studio["course"])

    page.keyboard.press("Tab")
    assert page.evaluate(FOCUS_STATE) == {"text": "Skip to content", "visible": True}
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STATE)
        assert focus["visible"], f"no visible focus on {focus['text']!r}"
        reached.append(focus["text"])
        if focus["text"] == "Register and see how to pay":
            break
    assert "Register and see how to pay" in reached, reached

    # Choose with Space, type, and submit with Enter: the payment page.
    page.get_by_label(re.compile(r"Full package")).focus()
    page.keyboard.press("Space")
    page.get_by_label("Email").focus()
    page.keyboard.type("keys@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("Kim")
    page.keyboard.press("Tab")
    page.keyboard.type("Board")
    page.get_by_label("Venmo").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Register and see how to pay").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/registrations/[0-9a-f-]{36}/$"))
    assert page.get_by_role("heading", name=re.compile("Almost done")).is_visible()
    context.close()


def test_axe_check_fails_on_serious_violations_and_names_them(browser, axe_check):
    context = browser.new_context()
    page = context.new_page()
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><input type="text"></main></body></html>'
    )
    with pytest.raises(pytest.fail.Exception, match=r"(?s)label \(critical\).*input"):
        axe_check(page)
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><h1>Hi</h1>'
        '<label for="x">Name</label><input id="x" type="text"></main></body></html>'
    )
    axe_check(page)
    context.close()


def test_accent_color_setting_recolours_the_header_and_buttons_without_a_code_change(browser, live_server):
    SystemSetting.objects.create(setting_key="accent_color", setting_value="#1a5e20")
    priced_slot(course=CourseFactory(name="House Foundations"))
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + "/")
    colour = "el => getComputedStyle(el).backgroundColor"
    assert page.locator(".site-header").evaluate(colour) == "rgb(26, 94, 32)"
    assert page.get_by_role("link", name="Details and registration").evaluate(colour) == "rgb(26, 94, 32)"
    context.close()
