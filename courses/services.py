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
from django.utils.translation import ngettext

from courses.models import CatalogVersion, Course, CoursePricing, CourseSlot
from courses.signals import seats_freed

_seats_taken: Callable[[CourseSlot], int] = lambda slot: 0  # noqa: E731 (nothing is taken until one is connected)


def connect_seat_counter(counter: Callable[[CourseSlot], int]) -> None:
    """Use `counter(slot)` (the seats taken in a slot on its busiest date) for the capacity floor."""
    global _seats_taken
    _seats_taken = counter


# One statement, whether or not the course has a row yet (an upsert that adds one to the version, which the ORM's
# update_conflicts cannot say). SQLite and PostgreSQL both speak it.
_BUMP_SQL = f"""
INSERT INTO {CatalogVersion._meta.db_table} (course_id, version, changed_at) VALUES (%s, 1, %s)
ON CONFLICT (course_id) DO UPDATE SET version = {CatalogVersion._meta.db_table}.version + 1, changed_at = %s
"""


def catalog_changed(course_id: int) -> None:
    """What the catalog shows of course `course_id` has changed: its cached pages are out of date once the current
    transaction commits. Call it last in the transaction: it holds the course's version row until the commit."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_BUMP_SQL, [course_id, now, now])


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
