"""The personal calendar feed: one event per class of the student's held registrations, local times across DST."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from attendance.services import generate_class_sessions
from attendance.tests.factories import ClassSessionFactory
from courses.models import Course
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students import services
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
PaymentStatus = Registration.PaymentStatus
# Tuesdays 7–8:30 pm from Oct 19 to Nov 16, 2027; US daylight saving time ends on Sunday, Nov 7, 2027.
TUESDAYS = [
    datetime.date(2027, 10, 19),
    datetime.date(2027, 10, 26),
    datetime.date(2027, 11, 2),
    datetime.date(2027, 11, 9),
    datetime.date(2027, 11, 16),
]


@pytest.fixture(autouse=True)
def _studio_in_los_angeles(settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    settings.SITE_URL = "https://studio.example.org"


@pytest.fixture
def slot():
    course = CourseFactory(name="House L1", start_date=TUESDAYS[0], end_date=TUESDAYS[-1])
    return CourseSlotFactory(
        course=course,
        day_of_week=1,
        start_time=datetime.time(19, 0),
        end_time=datetime.time(20, 30),
        location="Studio A, 12 Mission St",
    )


@pytest.fixture
def student():
    return StudentFactory()


def feed(client, student):
    token = services.ensure_calendar_token(student=student)
    response = client.get(reverse("portal:calendar_feed", args=[token]))
    assert response.status_code == 200
    return response


def events_of(response):
    return list(Calendar.from_ical(response.content).events)


def test_feed_is_text_calendar_with_a_vtimezone_of_the_studio(client, student, slot):
    RegistrationFactory(student=student, slot=slot)

    response = feed(client, student)

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert [tz.tz_name for tz in calendar.timezones] == ["America/Los_Angeles"]
    assert b"DTSTART;TZID=America/Los_Angeles:20271102T190000" in response.content


def test_full_package_feed_has_every_class_at_local_time_across_the_dst_change(client, student, slot):
    RegistrationFactory(student=student, slot=slot, payment_status=PaymentStatus.COMPLETED)

    events = events_of(feed(client, student))

    assert [event.start.date() for event in events] == TUESDAYS
    assert {(event.start.hour, event.start.minute, event.end.hour, event.end.minute) for event in events} == {
        (19, 0, 20, 30)
    }
    assert all(str(event.start.tzinfo) == "America/Los_Angeles" for event in events)
    # Daylight time before Nov 7 (UTC-7), standard time after (UTC-8): 7 pm local both sides.
    offsets = [event.start.utcoffset() for event in events]
    assert offsets == [datetime.timedelta(hours=-7)] * 3 + [datetime.timedelta(hours=-8)] * 2
    utc_hours = [event.start.astimezone(datetime.UTC).hour for event in events]
    assert utc_hours == [2, 2, 2, 3, 3]
    assert {str(event["SUMMARY"]) for event in events} == {"House L1"}
    assert {str(event["LOCATION"]) for event in events} == {"Studio A, 12 Mission St"}
    assert {str(event["STATUS"]) for event in events} == {"CONFIRMED"}


def test_pending_registration_shows_as_tentative_with_the_payment_link(client, student, slot):
    registration = RegistrationFactory(student=student, slot=slot)

    events = events_of(feed(client, student))

    assert {str(event["STATUS"]) for event in events} == {"TENTATIVE"}
    description = str(events[0]["DESCRIPTION"])
    assert registration.reference in description
    assert f"https://studio.example.org/registrations/{registration.public_id}/" in description


def test_drop_in_feed_has_only_the_class_of_its_date(client, student, slot):
    RegistrationFactory(student=student, slot=slot, pricing_type="drop_in", class_date=TUESDAYS[3])

    events = events_of(feed(client, student))

    assert [event.start for event in events] == [datetime.datetime(2027, 11, 9, 19, 0, tzinfo=LA)]


def test_dated_class_feed_has_its_one_date(client, student):
    course = CourseFactory(
        name="Saturday Footwork",
        course_type=Course.CourseType.DROP_IN,
        start_date=datetime.date(2027, 3, 13),
        end_date=datetime.date(2027, 3, 13),
    )
    dated = CourseSlotFactory(course=course, start_time=datetime.time(14, 0), end_time=datetime.time(16, 0))
    RegistrationFactory(student=student, slot=dated, pricing_type="drop_in")

    events = events_of(feed(client, student))

    assert [event.start for event in events] == [datetime.datetime(2027, 3, 13, 14, 0, tzinfo=LA)]


def test_generated_sessions_are_used_with_their_own_times_and_canceled_ones_marked(client, student, slot):
    RegistrationFactory(student=student, slot=slot, payment_status=PaymentStatus.COMPLETED)
    generate_class_sessions(course=slot.course)
    sessions = list(slot.sessions.order_by("session_date"))
    sessions[1].is_canceled = True
    sessions[1].canceled_at = timezone.now()
    sessions[1].save()
    sessions[2].start_time, sessions[2].end_time = datetime.time(18, 0), datetime.time(19, 30)
    sessions[2].location = "Studio B"
    sessions[2].save()

    events = events_of(feed(client, student))

    assert len(events) == 5
    assert str(events[1]["STATUS"]) == "CANCELLED"
    assert str(events[1]["SUMMARY"]).startswith("Canceled")
    assert events[2].start == datetime.datetime(2027, 11, 2, 18, 0, tzinfo=LA)
    assert str(events[2]["LOCATION"]) == "Studio B"
    assert {str(event["STATUS"]) for i, event in enumerate(events) if i != 1} == {"CONFIRMED"}


def test_drop_in_with_generated_sessions_has_the_session_of_its_date(client, student, slot):
    RegistrationFactory(student=student, slot=slot, pricing_type="drop_in", class_date=TUESDAYS[0])
    session = ClassSessionFactory(slot=slot, session_date=TUESDAYS[0])
    ClassSessionFactory(slot=slot, session_date=TUESDAYS[1])

    events = events_of(feed(client, student))

    assert len(events) == 1
    assert str(events[0]["UID"]).startswith(f"session-{session.pk}-student-{student.pk}@")


@pytest.mark.parametrize(
    "changes",
    [
        {"payment_status": PaymentStatus.CANCELED},
        {"payment_status": PaymentStatus.EXPIRED},
        {"payment_due_at": datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)},  # the hold ran out
    ],
)
def test_feed_leaves_out_registrations_that_hold_no_seat(client, student, slot, changes):
    RegistrationFactory(student=student, slot=slot, **changes)

    assert events_of(feed(client, student)) == []


def test_feed_has_only_the_students_own_classes(client, student, slot):
    RegistrationFactory(slot=slot)  # someone else's

    assert events_of(feed(client, student)) == []


def test_event_uids_are_unique_and_stable_between_fetches(client, student, slot):
    RegistrationFactory(student=student, slot=slot)

    first = [str(event["UID"]) for event in events_of(feed(client, student))]
    second = [str(event["UID"]) for event in events_of(feed(client, student))]

    assert first == second
    assert len(set(first)) == 5
    assert all(uid.endswith("@studio.example.org") and f"student-{student.pk}" in uid for uid in first)


def test_two_students_in_the_same_class_get_different_uids(client, slot):
    ana, bea = StudentFactory(), StudentFactory()
    RegistrationFactory(student=ana, slot=slot)
    RegistrationFactory(student=bea, slot=slot)

    uids_ana = {str(event["UID"]) for event in events_of(feed(client, ana))}
    uids_bea = {str(event["UID"]) for event in events_of(feed(client, bea))}

    assert uids_ana.isdisjoint(uids_bea)


def test_names_with_markup_and_newlines_stay_inside_their_property(client, student):
    course = CourseFactory(
        name="Waltz\r\nATTENDEE:mailto:evil@example.org <b>", start_date=TUESDAYS[0], end_date=TUESDAYS[0]
    )
    RegistrationFactory(student=student, slot=CourseSlotFactory(course=course, day_of_week=1))

    response = feed(client, student)
    events = events_of(response)

    assert len(events) == 1
    assert "ATTENDEE" not in events[0]
    assert b"\r\nATTENDEE:" not in response.content


@pytest.mark.parametrize("token", ["unknown-token", "x" * 500, "' OR 1=1"])
def test_unknown_calendar_token_is_404(client, token):
    StudentFactory(calendar_token="known-token")

    assert client.get(reverse("portal:calendar_feed", args=[token])).status_code == 404


def test_calendar_token_is_made_once_and_kept(student):
    token = services.ensure_calendar_token(student=student)

    student.refresh_from_db()
    assert len(token) >= 43
    assert student.calendar_token == token
    assert services.ensure_calendar_token(student=student) == token


def test_renewing_the_calendar_address_retires_the_old_one(client, sign_in, student):
    old = services.ensure_calendar_token(student=student)
    sign_in(client, student)

    response = client.post(reverse("portal:renew_calendar"))

    assert response.status_code == 302
    student.refresh_from_db()
    assert student.calendar_token != old
    assert client.get(reverse("portal:calendar_feed", args=[old])).status_code == 404
    assert client.get(reverse("portal:calendar_feed", args=[student.calendar_token])).status_code == 200
    assert student.calendar_token in client.get(reverse("portal:home")).content.decode()


def test_renewing_the_calendar_address_needs_a_sign_in(client, student):
    old = services.ensure_calendar_token(student=student)

    client.post(reverse("portal:renew_calendar"))

    student.refresh_from_db()
    assert student.calendar_token == old


def test_portal_shows_the_feed_address_as_https_and_webcal(client, sign_in, student):
    html = sign_in(client, student).get(reverse("portal:home")).content.decode()

    student.refresh_from_db()
    assert f"https://studio.example.org/me/calendar/{student.calendar_token}.ics" in html
    assert f"webcal://studio.example.org/me/calendar/{student.calendar_token}.ics" in html
