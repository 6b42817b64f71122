"""The calendar feed's alarms, make-up classes and the classes a student told us they can't make."""

import datetime

import pytest
from django.urls import reverse
from icalendar import Calendar

from attendance.absences import report_absence
from attendance.makeups import book_makeup, cancel_makeup
from attendance.models import Absence
from attendance.tests.helpers import paid, series, set_setting
from students import services

pytestmark = pytest.mark.django_db


def events(client, student) -> dict:
    token = services.ensure_calendar_token(student=student)
    response = client.get(reverse("portal:calendar_feed", args=[token]))
    assert response.status_code == 200
    return {event.start.date(): event for event in Calendar.from_ical(response.content).events}


def alarms(event) -> list:
    return [component for component in event.subcomponents if component.name == "VALARM"]


def test_every_class_has_an_alarm_as_long_before_it_as_the_reminder(client):
    slot, sessions = series()
    ana = paid(slot).student

    feed = events(client, ana)

    for session in sessions:
        [alarm] = alarms(feed[session.session_date])
        assert alarm.get("ACTION") == "DISPLAY"
        assert alarm.get("TRIGGER").dt == -datetime.timedelta(hours=24)


def test_the_alarm_follows_the_setting_and_goes_with_it(client):
    slot, sessions = series()
    ana = paid(slot).student

    set_setting("class_reminder_hours", 3)
    assert alarms(events(client, ana)[sessions[0].session_date])[0].get("TRIGGER").dt == -datetime.timedelta(hours=3)
    set_setting("class_reminder_hours", 0)
    assert alarms(events(client, ana)[sessions[0].session_date]) == []


def test_a_class_the_student_cant_make_is_cancelled_for_them_without_an_alarm(client):
    slot, sessions = series(name="House L2")
    ana, ben = paid(slot).student, paid(slot).student
    report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)

    feed = events(client, ana)

    excused = feed[sessions[1].session_date]
    assert (str(excused.get("STATUS")), str(excused.get("SUMMARY"))) == ("CANCELLED", "Not going: House L2")
    assert alarms(excused) == []
    assert str(feed[sessions[0].session_date].get("STATUS")) == "CONFIRMED"
    assert str(events(client, ben)[sessions[1].session_date].get("STATUS")) == "CONFIRMED"


def test_a_make_up_class_is_in_the_feed_until_it_is_cancelled(client):
    slot, sessions = series(name="House L2")
    ana = paid(slot).student
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    _other_slot, other = series(name="House L1", difficulty="beginner", starts_in_days=9)
    makeup = book_makeup(absence=absence, session=other[0])

    event = events(client, ana)[other[0].session_date]

    assert str(event.get("SUMMARY")) == "Make-up: House L1"
    assert str(event.get("STATUS")) == "CONFIRMED"
    assert "Make-up for House L2 on" in str(event.get("DESCRIPTION"))
    assert len(alarms(event)) == 1
    cancel_makeup(makeup=makeup)
    assert other[0].session_date not in events(client, ana)
