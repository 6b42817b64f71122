"""Reads of the catalog and course pages: the open courses with their open slots, prices and seats."""

from django.core.paginator import Page, Paginator
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from courses.models import Course
from courses.selectors import attach_closures, listed_courses, studio_today, upcoming_class_dates
from registrations import pricing, seats
from students.models import Student
from studio.config import studio_settings


def catalog_courses(student: Student | None = None, *, ordered: bool = True):
    """The courses the catalog lists for `student` (crew-only ones for a crew member), as a queryset in catalog order
    (`ordered=False`: none, for reading one course)."""
    return listed_courses(crew_member=student is not None and student.is_crew_member, ordered=ordered)


def _prices_now(slot, *, now, studio) -> dict:
    """The slot's prices as a student would pay them now (registrations.pricing: a late joiner's full package, none
    once its last class has started); sets `slot.classes_left` and `slot.class_count` (of a weekly series)."""
    prices = {}
    for price in slot.prices.all():
        quote = pricing.quote(slot=slot, pricing_type=price.pricing_type, price=price.price, now=now, studio=studio)
        if quote is not None:
            prices[price.pricing_type] = quote.amount
    dates = slot.class_dates()
    slot.class_count = len(dates)
    slot.classes_left = len(pricing.classes_not_started(slot, now=now)) if not slot.course.is_dated else len(dates)
    return prices


def walk_up_seats(counts: seats.SeatCounts, dates) -> tuple[int, dict]:
    """What the pages show of a slot's seats: those a walk-up may take for a full package, and on each of `dates` (its
    upcoming class dates) for a drop-in. The page cache counts them again with this, for the pages it keeps."""
    return counts.walk_up_left(), {day: counts.walk_up_left(day) for day in dates}


def _decorate(courses: list[Course], *, with_seats: bool = True) -> list[Course]:
    """Attach open slots, prices and (`with_seats`) seats to each course with a fixed number of queries."""
    if not courses:
        return courses
    # The settings are read only if a series has started (for its late-join price).
    now, today, studio = timezone.now(), studio_today(), SimpleLazyObject(studio_settings)
    all_slots = [slot for course in courses for slot in course.slots.all()]
    closures = attach_closures(all_slots)
    counts_by_slot = seats.seat_counts(all_slots, now=now, with_waiting=True) if with_seats else {}
    for course in courses:
        course.seats_counted = with_seats
        course.open_slots = []
        for slot in course.slots.all():
            slot.course = course  # the slot's dates and prices read its course: no query
            slot.upcoming_dates = upcoming_class_dates(slot, today=today)
            if not slot.upcoming_dates:
                continue
            # `slot.prices` is the reverse relation (it cannot be assigned), hence `price_by_type`.
            slot.price_by_type = _prices_now(slot, now=now, studio=studio)
            # Days the studio is closed on which this slot would meet: "no class on Dec 24 (Winter holiday)".
            slot.closed_ahead = [(day, closures[day]) for day in slot.skipped_dates() if day >= today]
            if not slot.price_by_type and slot.prices.all():
                continue  # nothing left to sell: its only option was a full package whose last class has started
            if with_seats:
                counts = counts_by_slot[slot.pk]
                slot.waiting_count = counts.waiting
                slot.seats_left, slot.seats_by_date = walk_up_seats(counts, slot.upcoming_dates)
            course.open_slots.append(slot)
    return courses


def open_courses(*, student: Student | None = None) -> list[Course]:
    """Courses listed in the catalog for `student` (crew-only ones for a crew member), in a fixed number of queries.

    Each course carries `.open_slots` (slots with a class date from today on). Each slot carries `.price_by_type`
    (pricing type -> Decimal), `.seats_left` (seats a walk-up may take for a full package), `.upcoming_dates`,
    `.seats_by_date` (date -> seats a walk-up may take for a drop-in that day) and `.waiting_count`.
    """
    return _decorate(list(catalog_courses(student)))


def open_courses_page(*, number: int, per_page: int, student: Student | None = None) -> Page:
    """Page `number` of `open_courses`, in the same order and decorated the same way, with one query more.

    Raises django.core.paginator.EmptyPage when `number` is past the last page.
    """
    page = Paginator(catalog_courses(student), per_page).page(number)
    page.object_list = _decorate(list(page.object_list))
    return page


def course_for_page(*, course_id: int, student: Student | None = None, seats: bool = True) -> Course:
    """One course as `open_courses` lists it; raises Course.DoesNotExist when it is not listed for `student`.

    Without `seats` (three queries fewer) its slots carry no seat counts and `course.seats_counted` is False: enough
    to check a registration form, whose service counts the seats itself under a lock, not to show the page.
    """
    courses = catalog_courses(student, ordered=False).filter(pk=course_id)
    decorated = _decorate(list(courses), with_seats=seats)
    if not decorated:
        raise Course.DoesNotExist(f"No listed course with id {course_id!r}.")
    return decorated[0]
