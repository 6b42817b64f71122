"""Studio closures: a closed day is skipped by every course (sessions, class counts, drop-in dates, pricing), the
pages say so, and the sessions already made for that day are canceled with the reason."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from attendance.models import ClassSession
from attendance.selectors import completion_for_course
from attendance.services import generate_class_sessions
from courses import services
from courses.models import Closure
from courses.tests.factories import CourseFactory, priced_slot
from registrations.services import register_student
from registrations.tests.factories import RegistrationFactory
from students.services import StudentDetails
from studio.models import EmailLog, SystemSetting

pytestmark = pytest.mark.django_db


def a_series():
    """A four-week series starting next week, meeting weekly."""
    return priced_slot()


def close(day, reason="Winter holiday"):
    return services.add_closure(closure=Closure(date=day, reason=reason))


def test_a_closed_day_is_not_a_class_date_and_is_listed_as_skipped():
    slot = a_series()
    second = slot.class_dates()[1]

    close(second)

    slot = type(slot).objects.get(pk=slot.pk)
    assert second not in slot.class_dates()
    assert slot.skipped_dates() == [second]
    assert len(slot.class_dates()) == 3


def test_generating_sessions_skips_the_closed_day():
    slot = a_series()
    second = slot.class_dates()[1]
    close(second)

    generate_class_sessions(course=slot.course)

    assert second not in set(ClassSession.objects.values_list("session_date", flat=True))
    assert ClassSession.objects.count() == 3


def test_closing_a_day_cancels_its_sessions_and_emails_the_reason(django_capture_on_commit_callbacks, mailoutbox):
    slot = a_series()
    generate_class_sessions(course=slot.course)
    RegistrationFactory(slot=slot, payment_status="completed")
    second = slot.class_dates()[1]

    with django_capture_on_commit_callbacks(execute=True):
        close(second, reason="Studio trip")

    session = ClassSession.objects.get(session_date=second)
    assert session.is_canceled and session.cancel_reason == "Studio trip"
    assert "Why: Studio trip" in EmailLog.objects.get(kind="session_canceled").body_text


def test_closing_a_day_cancels_and_emails_nothing_before_its_transaction_commits(
    django_capture_on_commit_callbacks, mailoutbox
):
    slot = a_series()
    generate_class_sessions(course=slot.course)
    RegistrationFactory(slot=slot, payment_status="completed")
    second = slot.class_dates()[1]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        close(second, reason="Studio trip")

    assert len(callbacks) == 1  # closure_added, sent once the closure is committed
    assert not ClassSession.objects.filter(is_canceled=True).exists()
    assert not EmailLog.objects.exists() and mailoutbox == []


def test_the_course_page_and_catalog_say_there_is_no_class_that_day(client):
    slot = a_series()
    second = slot.class_dates()[1]
    close(second)

    for url in (slot.course.get_absolute_url(), "/"):
        html = client.get(url).content.decode()
        assert f"No class on {second:%a, %b} {second.day} (Winter holiday)" in html, url


def test_drop_in_dates_leave_out_the_closed_day(client):
    slot = a_series()
    second = slot.class_dates()[1]
    close(second)

    html = client.get(slot.course.get_absolute_url()).content.decode()

    assert f'value="{second.isoformat()}"' not in html


def test_late_join_pricing_counts_the_classes_actually_held():
    SystemSetting.objects.create(setting_key="late_join_pricing", setting_value="prorated")
    start = timezone.localdate() - datetime.timedelta(weeks=1)
    course = CourseFactory(start_date=start, end_date=start + datetime.timedelta(weeks=5, days=-1))  # 5 classes
    slot = priced_slot(course=course, start_time=datetime.time(23), end_time=datetime.time(23, 45))
    close(slot.class_dates()[3])  # 4 held: 1 past, 3 left

    registration = register_student(
        course=course,
        slot=type(slot).objects.get(pk=slot.pk),
        pricing_type="full_package",
        payment_method="venmo",
        details=StudentDetails(email="ana@example.org", first_name="Ana", last_name="Lima"),
    )

    assert registration.payment_amount == Decimal("90.00")  # 120 × 3 / 4


def test_completion_counts_the_classes_held():
    slot = a_series()
    close(slot.class_dates()[1])
    generate_class_sessions(course=slot.course)

    matrix = completion_for_course(slot.course, today=slot.course.end_date)

    assert len(matrix.sessions) == 3


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (lambda slot: timezone.localdate() - datetime.timedelta(days=1), "That day is past"),
        (lambda slot: slot.class_dates()[0] + datetime.timedelta(days=1), "No class meets that day"),
    ],
    ids=["past", "no-class"],
)
def test_a_closure_in_the_past_or_on_a_day_without_classes_is_refused(day, message):
    slot = a_series()

    with pytest.raises(ValidationError, match=message):
        close(day(slot))

    assert not Closure.objects.exists()


def test_the_same_day_cannot_be_closed_twice():
    slot = a_series()
    close(slot.class_dates()[0])

    with pytest.raises(ValidationError, match="already closed"):
        close(slot.class_dates()[0], reason="Again")

    assert Closure.objects.count() == 1


def test_the_admin_shows_a_bad_closure_next_to_the_form_and_saves_nothing(admin_client):
    response = admin_client.post(
        reverse("admin:courses_closure_add"),
        {"date": (timezone.localdate() - datetime.timedelta(days=3)).isoformat(), "reason": "Too late"},
    )

    assert response.status_code == 200
    assert "That day is past" in response.content.decode()
    assert not Closure.objects.exists()


def test_the_admin_adds_a_closure_through_the_service(admin_client):
    slot = a_series()
    day = slot.class_dates()[2]

    response = admin_client.post(reverse("admin:courses_closure_add"), {"date": day.isoformat(), "reason": "Trip"})

    assert response.status_code == 302
    assert Closure.objects.get().date == day
