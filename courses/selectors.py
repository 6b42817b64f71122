"""Reads of the catalog's own data: which courses are listed, and which class dates are still to come."""

import datetime

from django.db.models import Case, Prefetch, QuerySet, Value, When
from django.utils import timezone

from courses.models import Closure, Course, CoursePricing, CourseSlot

# Course types in the order the catalog lists them (the enum's order, not the alphabet's).
_COURSE_TYPE_ORDER = Case(
    *[When(course_type=value, then=Value(n)) for n, value in enumerate(Course.CourseType.values)],
    default=Value(len(Course.CourseType.values)),
)


def studio_today() -> datetime.date:
    """Today in the studio's time zone (settings.TIME_ZONE), whatever zone is active."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def attach_closures(slots) -> dict:
    """Read the studio's closures once for many slots (each would read them itself, one query a slot); returns them
    as date -> reason."""
    reasons = dict(Closure.objects.values_list("date", "reason"))
    closed = frozenset(reasons)
    for slot in slots:
        slot.closed_dates = closed
    return reasons


def upcoming_class_dates(slot: CourseSlot, *, today: datetime.date | None = None) -> list[datetime.date]:
    """The slot's class dates from today on (studio time zone)."""
    today = today or studio_today()
    return [day for day in slot.class_dates() if day >= today]


def listed_courses(*, crew_member: bool = False, ordered: bool = True) -> QuerySet[Course]:
    """Active courses that have not ended, crew-only ones only for a crew member, with their slots and prices
    prefetched, in catalog order (`ordered=False`: none, for reading one course)."""
    courses = Course.objects.filter(is_active=True, end_date__gte=studio_today())
    if not crew_member:
        courses = courses.filter(required_student_type=Course.RequiredStudentType.ANY)
    slots = CourseSlot.objects.order_by("day_of_week", "practice_date", "start_time", "pk").prefetch_related(
        Prefetch("prices", queryset=CoursePricing.objects.order_by("pricing_type"))
    )
    courses = courses.prefetch_related(Prefetch("slots", queryset=slots))
    # Unordered for one row: the CASE expression costs more to build than the query takes.
    return courses.order_by(_COURSE_TYPE_ORDER, "start_date", "name", "pk") if ordered else courses.order_by()
