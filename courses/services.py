"""Writes of the catalog (README "Courses, slots, prices"): courses, their time slots and prices, and the catalog
versions that tell cached pages they are out of date. The admin saves through these functions and nothing else.

A slot's capacity cannot go below the seats taken in it, counted by the one seat rule of the registrations app, which
connects its counter here (`connect_seat_counter`) so that this app imports nothing above it. New seats (a new slot,
a raised capacity) are announced through `courses.signals.seats_freed` after the commit: the waitlist offers them
first.
"""

from collections.abc import Callable
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from courses.models import CatalogVersion, Closure, Course, CoursePricing, CourseSlot
from courses.selectors import studio_today
from courses.signals import closure_added, seats_freed

_seats_taken: Callable[[CourseSlot], int] = lambda slot: 0  # noqa: E731 (nothing is taken until one is connected)


def connect_seat_counter(counter: Callable[[CourseSlot], int]) -> None:
    """Use `counter(slot)` (the seats taken in a slot on its busiest date) for the capacity floor."""
    global _seats_taken
    _seats_taken = counter


# One statement, whether or not the course has a row yet (an upsert that adds one to the versions, which the ORM's
# update_conflicts cannot say). SQLite and PostgreSQL both speak it.
_VERSIONS = CatalogVersion._meta.db_table
_BUMP_SQL = f"""
INSERT INTO {_VERSIONS} (course_id, version, changed_at, details_version, details_changed_at) VALUES (%s, 1, %s, 1, %s)
ON CONFLICT (course_id) DO UPDATE SET version = {_VERSIONS}.version + 1, changed_at = %s,
    details_version = {_VERSIONS}.details_version + 1, details_changed_at = %s
"""
_BUMP_SEATS_SQL = f"""
INSERT INTO {_VERSIONS} (course_id, version, changed_at, details_version) VALUES (%s, 1, %s, 0)
ON CONFLICT (course_id) DO UPDATE SET version = {_VERSIONS}.version + 1, changed_at = %s
"""


def catalog_changed(course_id: int) -> None:
    """What the catalog shows of course `course_id` has changed (its details, slots, prices, dates): its cached pages
    are out of date once the current transaction commits. Call it last in the transaction: it holds the course's
    version row until the commit. Right for any change; a change of seats alone may call seats_changed instead."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_BUMP_SQL, [course_id, now, now, now, now])


def seats_changed(course_id: int) -> None:
    """Only the seats of course `course_id` changed (taken, freed, held, waited for): its cached pages stay, and the
    seat counts drawn into them are counted again once the current transaction commits. Call it last, as above."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_BUMP_SEATS_SQL, [course_id, now, now])


def _announce_seats_on_commit(slot_id: int) -> None:
    transaction.on_commit(partial(seats_freed.send, sender=CourseSlot, slot_id=slot_id), robust=True)


def check_capacity(*, slot: CourseSlot, capacity: int) -> None:
    """The capacity floor: raises ValidationError({"capacity": ...}) when `capacity` is below the seats taken in the
    slot on its busiest date (nobody is turned away by lowering it)."""
    if slot.pk is None or capacity is None:
        return
    taken = _seats_taken(slot)
    if capacity < taken:
        raise ValidationError(
            {
                "capacity": ngettext(
                    "%(count)d seat is taken; capacity cannot go below %(count)d.",
                    "%(count)d seats are taken; capacity cannot go below %(count)d.",
                    taken,
                )
                % {"count": taken}
            },
            code="below_taken",
        )


def save_course(*, course: Course) -> Course:
    """Create or update a course (checked by its model); its cached pages are out of date. Raises ValidationError."""
    course.full_clean()
    with transaction.atomic():
        course.save()
        catalog_changed(course.pk)
    return course


def save_slot(*, slot: CourseSlot, prices: dict[str, Decimal | None] | None = None) -> CourseSlot:
    """Create or update a time slot, and with `prices` (pricing type -> price, None to remove) its prices.

    Lock, count, write: the slot row is locked before the capacity floor is counted, so no registration slips in
    between. New seats go to the waitlist first, after the commit. Raises ValidationError."""
    slot.full_clean(exclude=["course"])
    with transaction.atomic():
        old_capacity = None
        if slot.pk is not None:
            old_capacity = CourseSlot.objects.select_for_update().values_list("capacity", flat=True).get(pk=slot.pk)
            check_capacity(slot=slot, capacity=slot.capacity)
        slot.save()
        if prices is not None:
            for pricing_type, price in prices.items():
                _set_price(slot=slot, pricing_type=pricing_type, price=price)
        catalog_changed(slot.course_id)
        if old_capacity is None or slot.capacity > old_capacity:
            _announce_seats_on_commit(slot.pk)
    return slot


def delete_slot(*, slot: CourseSlot) -> None:
    """Delete a time slot with its prices (one with registrations or sessions is protected by the database)."""
    with transaction.atomic():
        slot.delete()
        catalog_changed(slot.course_id)


def delete_course(*, course: Course) -> None:
    """Delete a course with its slots and prices (one with registrations or sessions is protected by the database)."""
    with transaction.atomic():
        course.delete()


def _set_price(*, slot: CourseSlot, pricing_type: str, price: Decimal | None) -> None:
    if price is None:
        slot.prices.filter(pricing_type=pricing_type).delete()
        return
    row = CoursePricing(course_slot=slot, pricing_type=pricing_type, price=price)
    row.full_clean(exclude=["course_slot"], validate_unique=False, validate_constraints=False)
    CoursePricing.objects.update_or_create(course_slot=slot, pricing_type=pricing_type, defaults={"price": price})


def save_price(*, price: CoursePricing) -> CoursePricing:
    """Create or update one price row (one per slot and pricing type). Raises ValidationError."""
    price.full_clean()
    with transaction.atomic():
        price.save()
        catalog_changed(price.course_slot.course_id)
    return price


def delete_price(*, price: CoursePricing) -> None:
    """Remove one price: that option is no longer offered for its slot."""
    with transaction.atomic():
        price.delete()
        catalog_changed(price.course_slot.course_id)


# --- studio closures -----------------------------------------------------------------------------------------------


def _courses_meeting_on(day) -> list[int]:
    """The active courses with a class scheduled on `day` (before any closure)."""
    slots = CourseSlot.objects.filter(
        course__is_active=True, course__start_date__lte=day, course__end_date__gte=day
    ).select_related("course")
    return sorted({slot.course_id for slot in slots if day in slot.scheduled_dates()})


def check_closure(*, closure: Closure) -> list[int]:
    """A studio closure must be on a day to come, once, and on a day some course meets; raises ValidationError
    ({"date": ...}) otherwise. Returns the courses meeting that day."""
    if closure.date is None:
        raise ValidationError({"date": _("Enter the date the studio is closed.")})
    if closure.date < studio_today():
        raise ValidationError({"date": _("That day is past: a closure is for a day to come.")})
    if Closure.objects.filter(date=closure.date).exclude(pk=closure.pk).exists():
        raise ValidationError({"date": _("The studio is already closed that day.")})
    courses = _courses_meeting_on(closure.date)
    if not courses:
        raise ValidationError({"date": _("No class meets that day, so there is nothing to close.")})
    return courses


def add_closure(*, closure: Closure) -> Closure:
    """Close the studio for a day: no class of any course meets then. Its sessions are canceled (the students
    emailed the reason) after the commit, and the catalog says "no class" that day. Raises ValidationError."""
    closure.full_clean(exclude=["date"], validate_unique=False)
    with transaction.atomic():
        courses = check_closure(closure=closure)
        closure.save()
        for course_id in courses:
            catalog_changed(course_id)
        transaction.on_commit(
            partial(closure_added.send, sender=Closure, date=closure.date, reason=closure.reason), robust=True
        )
    return closure


def remove_closure(*, closure: Closure) -> None:
    """Open the studio again that day: its classes are scheduled again (sessions canceled for it stay canceled)."""
    with transaction.atomic():
        for course_id in _courses_meeting_on(closure.date):
            catalog_changed(course_id)
        closure.delete()
