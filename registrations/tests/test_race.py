"""Twenty requests race for the last seat (docs/bad-inputs.md #26), on PostgreSQL where select_for_update() really
locks.

The control test removes the lock and shows the race is real: without it the same code oversells.
"""

import threading

import pytest
from django.db import connection

from courses.tests.factories import priced_slot
from registrations import seats, services
from registrations.errors import SlotFull
from registrations.models import Registration
from registrations.services import register_student
from registrations.tests.factories import RegistrationFactory
from students import services as student_services
from students.models import Student
from students.services import StudentDetails
from students.tests.factories import StudentFactory

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

RACERS = 20
CAPACITY = 5


def race_for_the_last_seat():
    """Fill all but one seat, then let RACERS distinct students register at the same moment."""
    slot = priced_slot(capacity=CAPACITY)
    for _ in range(CAPACITY - 1):
        RegistrationFactory(slot=slot)
    students = [StudentFactory() for _ in range(RACERS)]
    start = threading.Barrier(RACERS)
    outcomes = []

    def attempt(student):
        try:
            start.wait(timeout=10)
            register_student(
                course=slot.course,
                slot=slot,
                pricing_type="full_package",
                payment_method="venmo",
                details=StudentDetails(email=student.email, first_name=student.first_name, last_name=student.last_name),
            )
            outcomes.append("registered")
        except SlotFull:
            outcomes.append("full")
        except Exception as error:  # noqa: BLE001 - reported by the assertions below
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(student,)) for student in students]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    active = Registration.objects.filter(slot=slot, payment_status__in=Registration.ACTIVE_STATUSES).count()
    return outcomes, active


def test_register_student_sells_the_last_seat_exactly_once_under_a_race(monkeypatch):
    seats_left = services._walk_up_seats_left

    def slow_count(*args, **kwargs):
        # Widen the window between count and write: only the lock keeps the others out of it.
        left = seats_left(*args, **kwargs)
        threading.Event().wait(0.05)
        return left

    monkeypatch.setattr(services, "_walk_up_seats_left", slow_count)

    outcomes, active = race_for_the_last_seat()

    assert outcomes.count("registered") == 1
    assert outcomes.count("full") == RACERS - 1
    assert active == CAPACITY


def test_without_the_slot_lock_the_same_race_oversells(monkeypatch):
    seats_left = services._walk_up_seats_left
    counted = threading.Barrier(RACERS)

    def count_then_wait_for_everyone(*args, **kwargs):
        left = seats_left(*args, **kwargs)
        counted.wait(timeout=20)  # every racer has counted one free seat before anyone writes
        return left

    monkeypatch.setattr(seats, "lock_slot", lambda slot: type(slot).objects.get(pk=slot.pk))
    monkeypatch.setattr(services, "_walk_up_seats_left", count_then_wait_for_everyone)

    outcomes, active = race_for_the_last_seat()

    assert outcomes.count("registered") > 1, outcomes
    assert active > CAPACITY


def test_the_same_new_email_registering_twice_at_once_makes_one_student_and_one_registration(monkeypatch):
    """A double submit by someone new: both requests create the student; the database keeps one, and the request
    that lost starts again, finds the registration and says "already registered" (no savepoints in between)."""
    slot = priced_slot(capacity=CAPACITY)
    created = threading.Barrier(2)
    save_student = student_services.save_student

    def save_then_wait_for_the_other(**kwargs):
        try:
            return save_student(**kwargs)
        finally:
            if kwargs["known"] is None:
                try:
                    created.wait(timeout=2)  # the loser blocks on the unique email, so this times out for the winner
                except threading.BrokenBarrierError:
                    pass

    monkeypatch.setattr(student_services, "save_student", save_then_wait_for_the_other)
    start = threading.Barrier(2)
    outcomes = []

    def attempt():
        try:
            start.wait(timeout=10)
            register_student(
                course=slot.course,
                slot=slot,
                pricing_type="full_package",
                payment_method="venmo",
                details=StudentDetails(email="new.dancer@example.com", first_name="Ana", last_name="Lima"),
            )
            outcomes.append("registered")
        except Exception as error:  # noqa: BLE001 - reported by the assertions below
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["AlreadyRegistered", "registered"], outcomes
    assert Student.objects.filter(email="new.dancer@example.com").count() == 1
    assert Registration.objects.filter(slot=slot).count() == 1
