"""Races for a seat held by a waitlist offer, on PostgreSQL where select_for_update() really locks.

The offer holder accepts while a walk-up tries the same seat, and the same offer is accepted in two tabs at once:
exactly one seat is used, never more than the capacity.
"""

import threading

import pytest
from django.db import connection

from courses.tests.factories import priced_slot
from registrations import services as registration_services
from registrations.errors import SlotFull
from registrations.models import Registration
from registrations.services import register_student
from registrations.tests.factories import RegistrationFactory
from registrations.transitions import cancel_registration
from students.services import StudentDetails
from waitlist import offers, services
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import student_details

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def offered_seat():
    """A one-seat slot whose seat was freed and offered (after the commit) to the one student waiting."""
    slot = priced_slot(capacity=1)
    holder = RegistrationFactory(slot=slot)
    services.join_waitlist(course=slot.course, details=student_details("a"))
    cancel_registration(registration=holder)  # commits; the offer is made on commit
    entry = WaitlistEntry.objects.get(course=slot.course)
    assert entry.status == WaitlistEntry.Status.OFFERED
    return slot, entry


def race(*attempts):
    """Run the callables at the same moment in threads; returns their outcomes (a label or the error's repr)."""
    start = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(index, attempt):
        try:
            start.wait(timeout=10)
            outcomes[index] = attempt()
        except Exception as error:  # noqa: BLE001 - reported by the assertions
            outcomes[index] = type(error).__name__
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, attempt)) for i, attempt in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def active(slot):
    return Registration.objects.filter(slot=slot, payment_status__in=Registration.ACTIVE_STATUSES)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_offer_holder_and_walk_up_racing_for_the_held_seat_use_it_exactly_once(monkeypatch, round_):
    slot, entry = offered_seat()
    seats_left = registration_services._walk_up_seats_left

    def slow_count(*args, **kwargs):
        # Widen the window between the walk-up's count and its write: only the slot lock keeps the offer out of it.
        left = seats_left(*args, **kwargs)
        threading.Event().wait(0.05)
        return left

    monkeypatch.setattr(registration_services, "_walk_up_seats_left", slow_count)

    def accept():
        offers.accept_offer(entry=entry, payment_method="venmo")
        return "accepted"

    def walk_up():
        register_student(
            course=slot.course,
            slot=slot,
            pricing_type="full_package",
            payment_method="venmo",
            details=StudentDetails(email="walkup@example.org", first_name="Walk", last_name="Up"),
        )
        return "registered"

    outcomes = race(accept, walk_up) if round_ % 2 == 0 else race(walk_up, accept)

    assert sorted(outcomes) == sorted(["accepted", SlotFull.__name__]), outcomes
    assert [r.student.email for r in active(slot)] == ["waitera@example.org"]
    assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistEntry.Status.ACCEPTED


def test_the_same_offer_accepted_in_two_tabs_at_once_registers_once():
    slot, entry = offered_seat()

    def accept():
        offers.accept_offer(entry=entry, payment_method="venmo")
        return "accepted"

    outcomes = race(accept, accept, accept)

    assert sorted(outcomes) == ["OfferUnavailable", "OfferUnavailable", "accepted"], outcomes
    assert active(slot).count() == 1


def full_course_slot():
    slot = priced_slot(capacity=1)
    RegistrationFactory(slot=slot)
    return slot


def test_the_same_email_joining_twice_at_once_makes_one_entry():
    slot = full_course_slot()

    def join():
        services.join_waitlist(course=slot.course, details=student_details("a"))
        return "joined"

    outcomes = race(join, join)

    assert sorted(outcomes) == ["AlreadyOnWaitlist", "joined"], outcomes
    assert WaitlistEntry.objects.filter(course=slot.course).count() == 1


def test_students_joining_at_once_get_positions_1_to_n_without_repeats():
    slot = full_course_slot()

    def joiner(n):
        def join():
            services.join_waitlist(course=slot.course, details=student_details(n))
            return "joined"

        return join

    outcomes = race(*[joiner(n) for n in range(8)])

    assert outcomes == ["joined"] * 8
    positions = sorted(WaitlistEntry.objects.filter(course=slot.course).values_list("waitlist_position", flat=True))
    assert positions == list(range(1, 9))
