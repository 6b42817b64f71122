"""Make-up bookings racing for the last seat of a class, on PostgreSQL where select_for_update() really locks.

The control test removes the slot lock and shows the race is real: without it the same code oversells.
"""

import threading

import pytest
from django.db import connection

from attendance import makeups
from attendance.absences import report_absence
from attendance.models import Absence, MakeUp
from attendance.tests.helpers import paid, series
from registrations import seats

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def two_students_missing_a_class_and_one_seat_left():
    """Two students of House L2 told us they can't make a class; House L1's first class has one seat left."""
    missed_slot, missed = series(name="House L2", capacity=5)
    absences = [
        report_absence(session=missed[0], student=paid(missed_slot).student, channel=Absence.Channel.EMAIL)
        for _ in range(2)
    ]
    target_slot, target = series(name="House L1", difficulty="beginner", capacity=3)
    for _ in range(2):
        paid(target_slot)
    return absences, target_slot, target[0]


def race(absences, session):
    start = threading.Barrier(len(absences))
    outcomes = []

    def book(absence):
        try:
            start.wait(timeout=10)
            makeups.book_makeup(absence=absence, session=session)
            outcomes.append("booked")
        except makeups.ClassFull:
            outcomes.append("full")
        except Exception as error:  # noqa: BLE001 - reported by the assertions below
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(absence,)) for absence in absences]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def test_two_make_up_bookings_for_the_last_seat_give_one_seat(monkeypatch):
    absences, slot, session = two_students_missing_a_class_and_one_seat_left()
    walk_up_seats_left = seats.walk_up_seats_left

    def slow_count(*args, **kwargs):
        # Widen the window between count and write: only the lock keeps the other out of it.
        left = walk_up_seats_left(*args, **kwargs)
        threading.Event().wait(0.05)
        return left

    monkeypatch.setattr(seats, "walk_up_seats_left", slow_count)

    outcomes = race(absences, session)

    assert outcomes == ["booked", "full"]
    assert MakeUp.objects.filter(session=session, status=MakeUp.Status.BOOKED).count() == 1
    assert seats.seats_left(slot, class_date=session.session_date) == 0


def test_without_the_slot_lock_the_same_race_oversells(monkeypatch):
    absences, slot, session = two_students_missing_a_class_and_one_seat_left()
    walk_up_seats_left = seats.walk_up_seats_left
    counted = threading.Barrier(len(absences))

    def count_then_wait_for_the_other(*args, **kwargs):
        left = walk_up_seats_left(*args, **kwargs)
        counted.wait(timeout=20)  # both have counted one free seat before either writes
        return left

    monkeypatch.setattr(seats, "lock_slot", lambda slot: type(slot).objects.select_related("course").get(pk=slot.pk))
    monkeypatch.setattr(seats, "walk_up_seats_left", count_then_wait_for_the_other)

    outcomes = race(absences, session)

    assert outcomes == ["booked", "booked"]
    assert MakeUp.objects.filter(session=session, status=MakeUp.Status.BOOKED).count() == 2


def test_one_missed_class_booked_from_two_tabs_at_once_gives_one_make_up():
    missed_slot, missed = series(name="House L2", capacity=5)
    absence = report_absence(session=missed[0], student=paid(missed_slot).student, channel=Absence.Channel.EMAIL)
    _one, one = series(name="House L1", difficulty="beginner")
    _other, other = series(name="Open Floor", difficulty="all_levels")
    start = threading.Barrier(2)
    outcomes = []

    def book(session):
        try:
            start.wait(timeout=10)
            makeups.book_makeup(absence=absence, session=session)
            outcomes.append("booked")
        except makeups.MakeupAlreadyBooked:
            outcomes.append("already")
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(session,)) for session in (one[0], other[0])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["already", "booked"]
    assert MakeUp.objects.filter(absence=absence, status=MakeUp.Status.BOOKED).count() == 1
