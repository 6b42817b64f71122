import datetime
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from courses.models import Course
from courses.tests.factories import CourseFactory, CourseSlotFactory
from students.models import Student

pytestmark = pytest.mark.django_db


def test_system_checks_pass():
    call_command("check", fail_level="WARNING", stdout=StringIO())


def test_models_have_no_changes_missing_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:
        pytest.fail(f"makemigrations --check found model changes without a migration:\n{out.getvalue()}")


def import_settings(**env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter that sees only `env` (plus PATH)."""
    return subprocess.run(
        [sys.executable, "-c", "import dance_portal.settings"],
        cwd=settings.BASE_DIR,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


# SECRET_KEY="" counts as unset; it is passed explicitly so that a developer's .env cannot fill it in.
def test_settings_without_secret_key_and_debug_off_fail_with_a_clear_message():
    result = import_settings(DEBUG="0", SECRET_KEY="")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_settings_with_secret_key_and_debug_off_load():
    result = import_settings(DEBUG="0", SECRET_KEY="a-real-secret-from-the-environment")

    assert result.returncode == 0, result.stderr


def site_url(**env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "from dance_portal import settings; print(settings.SITE_URL)"],
        cwd=settings.BASE_DIR,
        env={"PATH": os.environ.get("PATH", ""), "DEBUG": "1", "SECRET_KEY": "", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_emailed_links_in_development_use_the_port_make_run_serves():
    # SITE_URL="" counts as unset (a developer's .env cannot fill it in).
    assert site_url(PORT="8731", SITE_URL="") == "http://127.0.0.1:8731"
    assert site_url(SITE_URL="") == "http://127.0.0.1:8000"


def test_an_explicit_site_url_wins_over_the_port():
    assert site_url(PORT="8731", SITE_URL="https://portal.example.com/") == "https://portal.example.com"


def test_settings_without_secret_key_load_when_debug_is_on():
    result = import_settings(DEBUG="1", SECRET_KEY="")

    assert result.returncode == 0, result.stderr


def test_weekly_slot_meets_on_its_weekday_between_the_course_dates():
    # Monday 2025-09-01 to Monday 2025-09-29; the slot is on Wednesdays.
    course = CourseFactory.build(start_date=datetime.date(2025, 9, 1), end_date=datetime.date(2025, 9, 29))
    slot = CourseSlotFactory.build(course=course, day_of_week=2)

    assert slot.class_dates() == [
        datetime.date(2025, 9, 3),
        datetime.date(2025, 9, 10),
        datetime.date(2025, 9, 17),
        datetime.date(2025, 9, 24),
    ]


def test_weekly_slot_includes_first_and_last_course_day_on_its_weekday():
    course = CourseFactory.build(start_date=datetime.date(2025, 9, 1), end_date=datetime.date(2025, 9, 15))
    slot = CourseSlotFactory.build(course=course, day_of_week=0)

    assert slot.class_dates() == [datetime.date(2025, 9, 1), datetime.date(2025, 9, 8), datetime.date(2025, 9, 15)]


def test_weekly_slot_whose_weekday_falls_outside_a_short_course_has_no_dates():
    # Monday to Wednesday; the slot is on Fridays.
    course = CourseFactory.build(start_date=datetime.date(2025, 9, 1), end_date=datetime.date(2025, 9, 3))
    slot = CourseSlotFactory.build(course=course, day_of_week=4)

    assert slot.class_dates() == []


def test_dated_slot_meets_on_its_one_date():
    course = CourseFactory.build(
        course_type=Course.CourseType.DROP_IN, start_date=datetime.date(2025, 9, 1), end_date=datetime.date(2025, 9, 30)
    )
    slot = CourseSlotFactory.build(course=course, practice_date=datetime.date(2025, 9, 12))

    assert slot.class_dates() == [datetime.date(2025, 9, 12)]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
@pytest.mark.django_db(transaction=True)
def test_sqlite_transactions_take_the_write_lock_up_front():
    """SQLite ignores select_for_update(); BEGIN IMMEDIATE is what serialises two registrations (STYLE 10)."""
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        Student.objects.count()

    assert queries.captured_queries[0]["sql"] == "BEGIN IMMEDIATE"
