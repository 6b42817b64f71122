"""The seat rule with seats held outside registrations by several sources (registrations/seats.py `connect_claims`):
seats held on every date, seats held or given back on single dates, students waiting."""

import datetime

import pytest
from django.utils import timezone

from courses.models import Course
from courses.tests.factories import CourseFactory, priced_slot
from registrations import seats
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory

pytestmark = pytest.mark.django_db

PAID = Registration.PaymentStatus.COMPLETED


class FakeClaims(seats.SeatClaims):
    """Seats held by hand: on every date, on single dates, and students waiting, per slot id."""

    def __init__(self, *, every_date=None, by_date=None, waiting=None):
        self.every_date, self.by_date, self.waiting = every_date or {}, by_date or {}, waiting or {}

    def held_by_slot(self, slot_ids, *, now):
        return {slot_id: n for slot_id, n in self.every_date.items() if slot_id in slot_ids}

    def held_by_date(self, slot_ids, *, now):
        return {slot_id: dates for slot_id, dates in self.by_date.items() if slot_id in slot_ids}

    def waiting_by_slot(self, slots):
        return {slot.pk: self.waiting.get(slot.pk, 0) for slot in slots}

    def held_and_waiting(self, slot, *, now):
        return self.every_date.get(slot.pk, 0), self.waiting.get(slot.pk, 0)


class OtherFakeClaims(FakeClaims):
    pass


@pytest.fixture
def only(monkeypatch):
    """only(*sources): the seat rule counts exactly these sources during the test."""

    def connect(*sources):
        monkeypatch.setattr(seats, "_sources", [])
        for source in sources:
            seats.connect_claims(source)

    return connect


def full_series(capacity=3):
    """A four-week series slot whose every seat is paid for (a full package each)."""
    slot = priced_slot(capacity=capacity)
    for _ in range(capacity):
        RegistrationFactory(slot=slot, payment_status=PAID)
    return slot


def test_every_connected_source_is_counted(only):
    slot = priced_slot(capacity=10)
    day = slot.class_dates()[1]
    only(
        FakeClaims(every_date={slot.pk: 2}, by_date={slot.pk: {day: 1}}, waiting={slot.pk: 1}),
        OtherFakeClaims(every_date={slot.pk: 3}, by_date={slot.pk: {day: 2}}, waiting={slot.pk: 2}),
    )

    counts = seats.seat_counts([slot], with_waiting=True)[slot.pk]

    assert (counts.every_date, counts.by_date, counts.waiting) == (5, {day: 3}, 3)
    assert seats.seats_left(slot) == 2  # 10 − 5 on every date − 3 on the busiest date
    assert seats.seats_left(slot, class_date=day) == 2
    assert seats.seats_left(slot, class_date=slot.class_dates()[0]) == 5


def test_connecting_a_source_of_the_same_kind_again_replaces_it(only):
    slot = priced_slot(capacity=10)
    only(FakeClaims(every_date={slot.pk: 4}))

    seats.connect_claims(FakeClaims(every_date={slot.pk: 1}))

    assert seats.seats_left(slot) == 9


def test_a_seat_given_back_on_one_date_frees_that_date_only(only):
    slot = full_series()
    day, other_day = slot.class_dates()[1], slot.class_dates()[2]
    only(FakeClaims(by_date={slot.pk: {day: -1}}))

    assert seats.seats_left(slot, class_date=day) == 1
    assert seats.seats_left(slot, class_date=other_day) == 0
    # A full package needs a seat on every date: a date with a seat given back is no busier than an empty one.
    assert seats.seats_left(slot) == 0
    assert seats.walk_up_seats_left(slot, class_date=day) == 1


def test_a_seat_taken_on_one_date_fills_that_date_and_every_date_for_a_full_package(only):
    slot = priced_slot(capacity=2)
    RegistrationFactory(slot=slot, payment_status=PAID)
    day = slot.class_dates()[3]
    only(FakeClaims(by_date={slot.pk: {day: 1}}))

    assert seats.seats_left(slot, class_date=day) == 0
    assert seats.seats_left(slot, class_date=slot.class_dates()[0]) == 1
    assert seats.seats_left(slot) == 0


def test_on_a_dated_class_a_seat_given_back_on_its_date_is_a_seat_on_every_date(only):
    slot = priced_slot(capacity=2, course=CourseFactory(course_type=Course.CourseType.DROP_IN), full_package=None)
    RegistrationFactory(slot=slot, payment_status=PAID, pricing_type="drop_in")
    RegistrationFactory(slot=slot, payment_status=PAID, pricing_type="drop_in")
    only(FakeClaims(by_date={slot.pk: {slot.practice_date: -1}}))

    counts = seats.seat_counts([slot])[slot.pk]

    assert (counts.every_date, counts.by_date) == (1, {})
    assert seats.seats_left(slot) == 1
    assert seats.seats_left(slot, class_date=slot.practice_date) == 1


def test_students_waiting_come_first_only_for_the_seats_free_on_every_date(only):
    slot = full_series()
    day = slot.class_dates()[1]
    only(FakeClaims(by_date={slot.pk: {day: -1}}, waiting={slot.pk: 2}))

    counts = seats.seat_counts([slot], with_waiting=True)[slot.pk]

    # Nobody waiting can use a seat free on one date (an offer holds a seat on every date): it is a walk-up's.
    assert counts.walk_up_left(day) == 1
    assert seats.walk_up_seats_left(slot, class_date=day) == 1
    assert counts.walk_up_left() == 0


def test_a_seat_free_on_every_date_still_goes_to_the_students_waiting_first(only):
    slot = priced_slot(capacity=3)
    RegistrationFactory(slot=slot, payment_status=PAID)
    RegistrationFactory(slot=slot, payment_status=PAID)
    day = slot.class_dates()[1]
    only(FakeClaims(by_date={slot.pk: {day: -1}}, waiting={slot.pk: 1}))

    # One seat free on every date (for the one waiting) and one more on `day` (a walk-up's).
    assert seats.walk_up_seats_left(slot) == 0
    assert seats.walk_up_seats_left(slot, class_date=day) == 1
    assert seats.walk_up_seats_left(slot, class_date=slot.class_dates()[2]) == 0


def test_on_a_dated_class_the_students_waiting_come_first_for_a_seat_given_back(only):
    slot = priced_slot(capacity=1, course=CourseFactory(course_type=Course.CourseType.DROP_IN), full_package=None)
    RegistrationFactory(slot=slot, payment_status=PAID, pricing_type="drop_in")
    only(FakeClaims(by_date={slot.pk: {slot.practice_date: -1}}, waiting={slot.pk: 1}))

    assert seats.seats_left(slot) == 1
    assert seats.walk_up_seats_left(slot, class_date=slot.practice_date) == 0
    assert seats.walk_up_seats_left(slot) == 0


def test_seat_counts_ask_each_source_once_for_many_slots(only, django_assert_num_queries):
    slots = [priced_slot(capacity=5) for _ in range(3)]
    calls = []

    class Counting(FakeClaims):
        def held_by_date(self, slot_ids, *, now):
            calls.append(sorted(slot_ids))
            return {}

    only(Counting())

    with django_assert_num_queries(1):  # the registrations; the fake source asks the database nothing
        seats.seat_counts(slots)

    assert calls == [sorted(slot.pk for slot in slots)]


def test_no_source_releases_a_seat_by_itself_unless_it_says_when(only):
    slot = priced_slot(capacity=5)
    now = timezone.now()
    RegistrationFactory(slot=slot, payment_due_at=now + datetime.timedelta(hours=3))

    class Releasing(FakeClaims):
        def next_release(self, *, now):
            return now + datetime.timedelta(hours=1)

    only(FakeClaims())
    assert seats.next_seat_release(now=now) == now + datetime.timedelta(hours=3)
    only(FakeClaims(), Releasing())
    assert seats.next_seat_release(now=now) == now + datetime.timedelta(hours=1)
