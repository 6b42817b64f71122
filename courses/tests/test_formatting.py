"""One way to write times, dates and money (courses/formatting.py): 12-hour times as the public pages write them,
dates with their weekday, money with cents and a thousands separator."""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from courses import formatting
from courses.models import Course
from courses.tests.factories import CourseFactory, CourseSlotFactory

THIS_YEAR = timezone.localdate().year


def test_money_has_cents_and_a_thousands_separator():
    assert formatting.money(Decimal("2058")) == "$2,058.00"
    assert formatting.money(Decimal("1234567.5")) == "$1,234,567.50"
    assert formatting.money(Decimal("0")) == "$0.00"
    assert formatting.money(Decimal("-5")) == "-$5.00"
    assert formatting.money("35.5") == "$35.50"
    assert formatting.money(None) == ""


def test_time_of_day_is_a_twelve_hour_clock_with_minutes_only_when_there_are_some():
    assert formatting.time_of_day(datetime.time(19)) == "7 pm"
    assert formatting.time_of_day(datetime.time(10, 30)) == "10:30 am"
    assert formatting.time_of_day(datetime.time(0, 5)) == "12:05 am"
    assert formatting.time_of_day(datetime.time(12)) == "12 pm"
    assert formatting.time_of_day(None) == ""


def test_day_has_the_weekday_and_the_year_only_when_it_is_not_this_year():
    today = datetime.date(2026, 6, 1)
    assert formatting.day(datetime.date(2026, 9, 1), today=today) == "Tue, Sep 1"
    assert formatting.day(datetime.date(2027, 9, 1), today=today) == "Wed, Sep 1, 2027"
    assert formatting.day(None) == ""


def test_moment_reads_as_the_public_pages_write_it(settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    value = timezone.make_aware(datetime.datetime(THIS_YEAR, 11, 27, 10, 30)).astimezone(datetime.UTC)
    weekday = f"{datetime.date(THIS_YEAR, 11, 27):%a}"

    with timezone.override("America/Los_Angeles"):
        assert formatting.moment(value) == f"{weekday}, Nov 27, 10:30 am"
        older = timezone.make_aware(datetime.datetime(2020, 11, 27, 19, 0))
        assert formatting.moment(older) == "Fri, Nov 27, 2020, 7 pm"


@pytest.mark.django_db
def test_slots_and_sessions_say_when_they_meet():
    course = CourseFactory(start_date=datetime.date(THIS_YEAR, 9, 1), end_date=datetime.date(THIS_YEAR, 9, 29))
    weekly = CourseSlotFactory(
        course=course, day_of_week=1, start_time=datetime.time(19), end_time=datetime.time(20, 30)
    )
    dated = Course(course_type=Course.CourseType.DROP_IN)
    one_date = datetime.date(THIS_YEAR, 10, 3)
    dated_slot = CourseSlotFactory.build(
        course=dated, day_of_week=None, practice_date=one_date, start_time=datetime.time(14), end_time=datetime.time(16)
    )
    saturday = f"{one_date:%a}, Oct 3"

    assert formatting.slot_when(weekly) == "Tuesdays 7–8:30 pm"
    assert formatting.slot_when(dated_slot) == f"{saturday}, 2–4 pm"
    assert formatting.class_start(weekly) == "Tuesdays 7 pm"
    assert (
        formatting.class_start(weekly, datetime.date(THIS_YEAR, 9, 8))
        == f"{datetime.date(THIS_YEAR, 9, 8):%a}, Sep 8, 7 pm"
    )
    assert formatting.schedule_text(weekly) == "Tuesdays 7–8:30 pm, Sep 1 – Sep 29"
    assert str(weekly) == f"{course.name} · Tuesdays 7–8:30 pm"


EMAILS = Path(settings.BASE_DIR) / "templates" / "emails"
# A sentence of an email that starts with a small letter: "…%}we received" after a translate tag.
LOWER_START = re.compile(r"{% (?:blocktranslate[^%]*|translate) %}[a-z]|{% translate \"[a-z]")


@pytest.mark.parametrize("path", sorted(EMAILS.glob("*[!_]*.*")), ids=lambda path: path.name)
def test_every_email_sentence_starts_with_a_capital_letter(path):
    assert not LOWER_START.findall(path.read_text())
