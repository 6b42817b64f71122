"""The door tablet in a real browser: 1024×768, touch, taps that save at once, taps kept through bad Wi-Fi and a
reload, Save without JavaScript."""

import datetime
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from attendance.models import AttendanceRecord
from attendance.tests.factories import AttendanceRecordFactory, ClassSessionFactory
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.tests.factories import StudentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Status = AttendanceRecord.Status
DAY = datetime.timedelta(days=1)
PASSWORD = "door-tablet-pass-42"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"  # gitignored
FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dev", "Emma", "Farid", "Gia", "Hugo", "Ines", "Jon", "Kai", "Lena"]


@pytest.fixture
def tablet(browser):
    """A fresh page in a 1024×768 landscape tablet viewport with touch, closed after the test."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def door_settings(settings):
    # The live server speaks plain http; production cookie names and Secure flags are for https only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CSRF_COOKIE_NAME = "csrftoken"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only


@pytest.fixture
def class_today():
    today = timezone.localdate()
    course = CourseFactory(name="House L1", start_date=today - 14 * DAY, end_date=today + 14 * DAY)
    slot = CourseSlotFactory(course=course, day_of_week=today.weekday(), location="Studio A")
    session = ClassSessionFactory(slot=slot, session_date=today)
    students = [
        RegistrationFactory(
            slot=slot,
            payment_status=Registration.PaymentStatus.COMPLETED,
            student=StudentFactory(first_name=name, last_name="Door"),
        ).student
        for name in FIRST_NAMES
    ]
    RegistrationFactory(slot=slot, student=StudentFactory(first_name="Uma", last_name="Unpaid"))
    AttendanceRecordFactory(session=session, student=students[-1], status=Status.PRESENT)
    return session, students


def snap(page, name: str, *, full_page=True) -> None:
    """Save screenshots/<name>.png. caret="initial": hiding the caret makes Playwright set style attributes, which
    the page's CSP blocks and reports as console errors that this test treats as failures."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, caret="initial")


def row(page, student):
    return page.locator(f"#row-{student.pk}")


def tap(page, student, status):
    row(page, student).locator(f"label[for='mark-{student.pk}-{status}']").tap()


def queued(page, session) -> list[dict]:
    """The taps this browser keeps for `session` (each session has its own queue)."""
    return page.evaluate(f"JSON.parse(localStorage.getItem('dance-portal:attendance-taps:{session.pk}') || '[]')")


def stored(session) -> dict[int, str]:
    return dict(AttendanceRecord.objects.filter(session=session).values_list("student_id", "status"))


def test_door_tablet_taps_save_at_once_and_a_tap_made_offline_is_sent_when_the_connection_is_back(
    live_server, tablet, door_settings, class_today
):
    session, students = class_today
    ana, ben, chloe = students[:3]
    user = User.objects.create_user(username="door", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Instructor")[0])
    today = timezone.localdate()
    for name, offset, canceled in [("Salsa On2", -1, False), ("Hip Hop L2", 2, True), ("Waacking", 5, False)]:
        other = CourseFactory(name=name, start_date=today - 14 * DAY, end_date=today + 14 * DAY)
        other_slot = CourseSlotFactory(course=other, day_of_week=(today + offset * DAY).weekday(), location="Studio B")
        ClassSessionFactory(slot=other_slot, session_date=today + offset * DAY, is_canceled=canceled)
    page = tablet
    console_errors = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico")
            and console_errors.append(message.text)
        ),
    )

    # Anonymous → admin login → back to the door page.
    page.goto(f"{live_server.url}/attendance/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "door")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/attendance/")
    assert page.locator(".session-card").first.inner_text().count("House L1") == 1
    snap(page, "attendance-list")

    page.locator(".session-card", has_text="House L1").first.tap()
    page.wait_for_url(re.compile(rf"/attendance/{session.pk}/$"))
    assert page.locator("#marked-count").inner_text() == "1/13 marked"
    assert page.locator(".roster-row.is-unpaid", has_text="Uma Unpaid").count() == 1
    # Touch targets: every mark button and the toolbar buttons are at least 48 px high.
    for box in [
        *(label.bounding_box() for label in page.locator(".btn-mark").all()[:6]),
        page.get_by_role("button", name="All present").bounding_box(),
        page.get_by_role("button", name="Save").first.bounding_box(),
    ]:
        assert box["height"] >= 48
    snap(page, "attendance-roster")
    # The toolbar with the count and Save stays in view while scrolling down a long roster.
    page.evaluate("window.scrollTo(0, 700)")
    assert page.evaluate("window.scrollY") >= 500
    assert 0 <= page.locator(".roster-toolbar").bounding_box()["y"] < 10
    snap(page, "attendance-roster-scrolled", full_page=False)
    page.evaluate("window.scrollTo(0, 0)")

    # Each tap saves at once (htmx) and updates the row and the count.
    tap(page, ana, "present")
    row(page, ana).get_by_text("Saved").wait_for()
    tap(page, ben, "late")
    row(page, ben).get_by_text("Saved").wait_for()
    assert page.locator("#marked-count").inner_text() == "3/13 marked"
    assert stored(session)[ana.pk] == Status.PRESENT
    assert stored(session)[ben.pk] == Status.LATE

    assert console_errors == [], "\n".join(console_errors)  # among others: no Content-Security-Policy violation

    # Wi-Fi drops: the tap is kept in the browser, waiting to be sent...
    page.context.set_offline(True)
    tap(page, chloe, "absent")
    row(page, chloe).get_by_text("Waiting to send").wait_for()
    assert page.locator("#roster-queue").inner_text().startswith("Waiting to send (1)")
    assert page.locator(f"#mark-{chloe.pk}-absent").is_checked()
    assert chloe.pk not in stored(session)
    snap(page, "attendance-tap-waiting")

    # ...and it goes by itself when the connection is back.
    page.context.set_offline(False)
    row(page, chloe).get_by_text("Saved").wait_for()
    assert stored(session)[chloe.pk] == Status.ABSENT
    assert page.locator("#roster-queue").is_hidden()
    assert page.locator("#marked-count").inner_text() == "4/13 marked"
    console_errors.clear()  # the browser logs the request that failed while offline: expected

    # "All present" fills the unmarked paid students and leaves the unpaid one and the marks already made.
    page.get_by_role("button", name="All present").tap()
    page.get_by_text("Saved 8 marks.").wait_for()
    marks = stored(session)
    assert [marks[s.pk] for s in (ana, ben, chloe)] == [Status.PRESENT, Status.LATE, Status.ABSENT]
    assert all(marks[s.pk] == Status.PRESENT for s in students[3:])
    assert len(marks) == 12
    assert set(
        AttendanceRecord.objects.filter(session=session, student__in=students[:-1]).values_list("marked_by", flat=True)
    ) == {user.pk}
    assert page.locator("#marked-count").inner_text() == "12/13 marked"
    snap(page, "attendance-saved")
    assert console_errors == [], "\n".join(console_errors)  # among others: no Content-Security-Policy violation


def test_completion_matrix_on_the_tablet(live_server, tablet, door_settings, class_today):
    session, students = class_today
    earlier = ClassSessionFactory(slot=session.slot, session_date=session.session_date - 7 * DAY)
    for student, status in zip(students, [Status.PRESENT, Status.LATE, Status.ABSENT] * 4, strict=True):
        AttendanceRecordFactory(session=earlier, student=student, status=status)
    owner = User.objects.create_user(username="door", password=PASSWORD, is_staff=True)
    owner.groups.add(Group.objects.get(name="Studio admin"))  # the CSV carries emails: the owner's
    page = tablet
    page.goto(f"{live_server.url}/admin/login/?next=/attendance/course/{session.course_id}/")
    page.fill("#id_username", "door")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    page.get_by_role("link", name="Download CSV").wait_for()
    assert page.locator(".completion-table tbody tr").count() == 12
    lena = page.locator(".completion-table tbody tr", has_text="Lena Door")
    assert lena.inner_text().split()[-2:] == ["50%", "(1/2)"]  # absent last week, present today
    snap(page, "attendance-completion")


def test_door_tablet_without_javascript_saves_the_whole_roster_with_one_post(
    live_server, browser, door_settings, class_today
):
    session, students = class_today
    ana, ben = students[:2]
    User.objects.create_user(username="door", password=PASSWORD, is_staff=True).groups.add(
        Group.objects.get(name="Instructor")
    )
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/attendance/{session.pk}/")
        page.fill("#id_username", "door")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(re.compile(rf"/attendance/{session.pk}/$"))

        tap(page, ana, "late")
        tap(page, ben, "absent")
        assert stored(session) == {students[-1].pk: Status.PRESENT}  # nothing saved per tap without JavaScript
        page.get_by_role("button", name="Save").first.tap()
        page.get_by_text("Saved 2 marks.").wait_for()

        assert stored(session) == {ana.pk: Status.LATE, ben.pk: Status.ABSENT, students[-1].pk: Status.PRESENT}
        assert page.locator("#marked-count").inner_text() == "3/13 marked"
        snap(page, "attendance-roster-no-js")
    finally:
        context.close()


def log_in(page, live_server, session):
    """Sign in as "door", an Instructor (access goes by the group's permissions), and open the session's roster."""
    user = User.objects.create_user(username="door", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Instructor")[0])
    page.goto(f"{live_server.url}/admin/login/?next=/attendance/{session.pk}/")
    page.fill("#id_username", "door")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(rf"/attendance/{session.pk}/$"))


def test_taps_made_offline_survive_a_reload_and_are_saved_once_in_order_when_the_connection_is_back(
    live_server, tablet, door_settings, class_today
):
    from playwright.sync_api import Error as PlaywrightError

    session, students = class_today
    ana, ben, chloe = students[:3]
    page = tablet
    log_in(page, live_server, session)
    answered = []
    page.on(
        "response",
        lambda response: response.request.method == "POST" and "/mark/" in response.url and answered.append(response),
    )

    # The Wi-Fi drops: three students tapped (Ana twice: she came in late after all), each kept in order.
    page.context.set_offline(True)
    tap(page, ana, "present")
    tap(page, ben, "late")
    tap(page, chloe, "absent")
    tap(page, ana, "late")
    assert page.locator("#roster-queue").inner_text().startswith("Waiting to send (4)")
    for student in (ana, ben, chloe):
        assert row(page, student).locator(".roster-state").inner_text() == "Waiting to send"
    snap(page, "attendance-offline-queue")
    assert stored(session) == {students[-1].pk: Status.PRESENT}

    # A reload while offline: the browser cannot load the page, and the taps stay in the browser.
    with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
        page.reload()

    # The connection is back and the roster opens again: the taps are shown waiting, then sent, once each, in order.
    page.context.set_offline(False)
    page.goto(f"{live_server.url}/attendance/{session.pk}/")
    page.locator("#roster-queue").wait_for(state="hidden")
    for student, label in ((ana, "late"), (ben, "late"), (chloe, "absent")):
        row(page, student).get_by_text("Saved").wait_for()
        assert page.locator(f"#mark-{student.pk}-{label}").is_checked()
    assert stored(session) == {
        ana.pk: Status.LATE,
        ben.pk: Status.LATE,
        chloe.pk: Status.ABSENT,
        students[-1].pk: Status.PRESENT,
    }
    assert queued(page, session) == []
    assert page.locator("#marked-count").inner_text() == "4/13 marked"
    # One answer per tap, in the order tapped (read after the page calls above: Playwright hands events over then).
    assert [(response.url.rsplit("/mark/", 1)[1], response.status) for response in answered] == [
        (f"{student.pk}/", 200) for student in (ana, ben, chloe, ana)
    ]

    # The last tap sent once more (its answer lost on the way): it changes nothing.
    record = AttendanceRecord.objects.get(session=session, student=ana)
    status = page.evaluate(
        """([url, student, tap]) => fetch(url, {
            method: "POST",
            body: new URLSearchParams({[`mark-${student}`]: "late", tap, was: "present"}),
            headers: {"X-CSRFToken": document.querySelector("input[name=csrfmiddlewaretoken]").value,
                      "X-Attendance-Tap": tap},
        }).then((response) => response.status)""",
        [f"/attendance/{session.pk}/mark/{ana.pk}/", ana.pk, str(record.tap_id)],
    )
    assert status == 200
    again = AttendanceRecord.objects.get(session=session, student=ana)
    assert (again.status, again.marked_at, again.tap_id) == (Status.LATE, record.marked_at, record.tap_id)
    snap(page, "attendance-offline-sent")


def test_a_tap_kept_offline_for_a_student_who_left_the_roster_meanwhile_says_why_on_the_row(
    live_server, tablet, door_settings, class_today
):
    session, students = class_today
    ana = students[0]
    page = tablet
    log_in(page, live_server, session)

    page.context.set_offline(True)
    tap(page, ana, "present")
    row(page, ana).get_by_text("Waiting to send").wait_for()
    Registration.objects.filter(slot=session.slot, student=ana).update(
        payment_status=Registration.PaymentStatus.CANCELED, canceled_at=timezone.now()
    )
    page.context.set_offline(False)

    row(page, ana).get_by_text("is not on this class's roster").wait_for()
    assert page.locator("#roster-queue").is_hidden()  # answered for good: not sent again
    assert ana.pk not in stored(session)
    snap(page, "attendance-tap-refused")


def test_a_tap_the_server_will_never_take_is_dropped_with_the_reason_and_the_queue_moves_on(
    live_server, tablet, door_settings, class_today
):
    session, students = class_today
    ana, ben, chloe = students[:3]
    page = tablet
    log_in(page, live_server, session)

    # Offline, three taps; meanwhile the door user loses the right to mark (403 for every tap).
    page.context.set_offline(True)
    tap(page, ana, "present")
    tap(page, ben, "late")
    row(page, ben).get_by_text("Waiting to send").wait_for()
    User.objects.get(username="door").groups.clear()
    page.context.set_offline(False)

    page.locator("#roster-queue").wait_for(state="hidden")
    for student in (ana, ben):
        row(page, student).get_by_text("you may no longer mark attendance").wait_for()
    assert "you may no longer mark attendance" in page.locator("#roster-notice").inner_text()
    assert queued(page, session) == []
    snap(page, "attendance-tap-forbidden")

    # The right comes back, but the class is deleted meanwhile (404): the tap is dropped too, and says why.
    User.objects.get(username="door").groups.add(Group.objects.get(name="Instructor"))
    page.context.set_offline(True)
    tap(page, chloe, "absent")
    row(page, chloe).get_by_text("Waiting to send").wait_for()
    AttendanceRecord.objects.filter(session=session).delete()  # only so the test can delete the session
    session.delete()
    page.context.set_offline(False)

    row(page, chloe).get_by_text("this class no longer exists").wait_for()
    assert page.locator("#roster-queue").is_hidden()
    assert queued(page, session) == []
    assert not AttendanceRecord.objects.exists()


def test_each_session_keeps_its_own_queue_of_taps(live_server, tablet, door_settings, class_today):
    session, students = class_today
    ana = students[0]
    other = ClassSessionFactory(slot=CourseSlotFactory(course=session.course, day_of_week=session.slot.day_of_week))
    other.session_date = session.session_date
    other.save(update_fields=["session_date"])
    page = tablet
    log_in(page, live_server, session)

    # A tap that cannot go out (the request fails), then the tablet opens another class.
    page.route("**/mark/**", lambda route: route.abort())
    tap(page, ana, "present")
    row(page, ana).get_by_text("Waiting to send").wait_for()
    page.goto(f"{live_server.url}/attendance/{other.pk}/")

    assert page.locator("#roster-queue").is_hidden()  # not this class's tap
    assert queued(page, other) == []
    assert [(entry["student"], entry["status"]) for entry in queued(page, session)] == [(str(ana.pk), "present")]

    # Back on the first class with a working connection: its tap goes out.
    page.unroute("**/mark/**")
    page.goto(f"{live_server.url}/attendance/{session.pk}/")
    row(page, ana).get_by_text("Saved").wait_for()
    assert stored(session)[ana.pk] == Status.PRESENT
    assert queued(page, session) == []


def test_taps_kept_in_the_queue_all_sessions_shared_are_moved_to_their_session(
    live_server, tablet, door_settings, class_today
):
    session, students = class_today
    ana = students[0]
    page = tablet
    log_in(page, live_server, session)
    legacy = [
        {
            "id": "5b0e8c5e-2f4e-4d3c-9a55-7f3f0b5a1c06",
            "url": f"/attendance/{session.pk}/mark/{ana.pk}/",
            "student": str(ana.pk),
            "status": "late",
            "was": "",
        },
        {
            "id": "6b0e8c5e-2f4e-4d3c-9a55-7f3f0b5a1c07",
            "url": "/attendance/987654/mark/1/",
            "student": "1",
            "status": "late",
            "was": "",
        },
    ]
    page.evaluate("(taps) => localStorage.setItem('dance-portal:attendance-taps', JSON.stringify(taps))", legacy)

    page.reload()

    row(page, ana).get_by_text("Saved").wait_for()
    assert stored(session)[ana.pk] == Status.LATE
    assert page.evaluate("JSON.parse(localStorage.getItem('dance-portal:attendance-taps'))") == legacy[1:]
