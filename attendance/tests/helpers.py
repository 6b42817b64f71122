"""Classes to miss and make up, shared by the tests of excused absences, make-ups and reminders."""

import datetime

from django.utils import timezone

from attendance.selectors import session_starts_at
from attendance.services import generate_class_sessions
from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from studio.models import SystemSetting

DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)


def set_setting(key: str, value) -> None:
    SystemSetting.objects.update_or_create(setting_key=key, defaults={"setting_value": str(value)})


def series(*, capacity=3, starts_in_days=7, weeks=4, name="House L2", difficulty="intermediate", **course_fields):
    """A weekly series (Tuesday-like: the weekday it starts on) at 7 pm with its class sessions; returns (slot,
    sessions in date order)."""
    start = timezone.localdate() + starts_in_days * DAY
    course = CourseFactory(name=name, start_date=start, end_date=start + (weeks - 1) * 7 * DAY, **course_fields)
    slot = priced_slot(course=course, capacity=capacity, difficulty_level=difficulty)
    generate_class_sessions(course=course)
    return slot, list(slot.sessions.order_by("session_date"))


def dated_class(*, capacity=1, in_days=7, name="Heels Workshop", **course_fields):
    """A one-date drop-in class with its session; returns (slot, session)."""
    day = timezone.localdate() + in_days * DAY
    course = CourseFactory(name=name, course_type="drop_in", start_date=day, end_date=day, **course_fields)
    slot = priced_slot(course=course, capacity=capacity, full_package=None)
    generate_class_sessions(course=course)
    return slot, slot.sessions.get()


def paid(slot, **kwargs) -> Registration:
    return RegistrationFactory(
        slot=slot, payment_status=Registration.PaymentStatus.COMPLETED, payment_due_at=None, **kwargs
    )


def starts(session) -> datetime.datetime:
    return session_starts_at(session)
