"""The limit per student and the cap per client are counted across slots, so the slot lock alone does not guard them:
two registrations at once for different slots each lock only their own. On PostgreSQL (where select_for_update()
really locks), the student's row or the client's key is locked before counting, and exactly one of them passes.

The control test removes the student lock and shows the race is real: both registrations pass the limit.
"""

import threading

import pytest
from django.db import connections

from courses.tests.factories import priced_slot
from registrations import seats, services
from registrations.errors import ClientHoldLimitReached, RegistrationLimitReached
from registrations.models import Registration
from students.services import StudentDetails
from students.tests.factories import StudentFactory
from studio.models import SystemSetting

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

PHONE = "a-client-key"


def setting(key: str, value: int) -> None:
    SystemSetting.objects.update_or_create(setting_key=key, defaults={"setting_value": str(value)})


def race(attempts, monkeypatch, *, wait_after_counting) -> list[str]:
    """Run `attempts` (callables) at the same moment, each waiting in `wait_after_counting` between counting the
    seats (after the limits) and writing its registration."""
    seats_left = services._walk_up_seats_left

    def count_then_wait(*args, **kwargs):
        left = seats_left(*args, **kwargs)
        wait_after_counting()
        return left

    monkeypatch.setattr(services, "_walk_up_seats_left", count_then_wait)
    start = threading.Barrier(len(attempts))
    outcomes = []

    def run(attempt):
        try:
            start.wait(timeout=10)
            attempt()
            outcomes.append("registered")
        except RegistrationLimitReached:
            outcomes.append("limit")
        except ClientHoldLimitReached:
            outcomes.append("capped")
        except Exception as error:  # noqa: BLE001 - reported by the assertions
            outcomes.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def one_student_in_two_slots():
    """The same student registering for two different slots at once, with a limit of one seat per student."""
    setting("max_registrations_per_student", 1)
    student = StudentFactory()
    # Nothing to fill in: registering writes nothing to the student's row (an update would lock it by chance).
    student.profile_complete = student.has_complete_profile
    student.save()
    details = StudentDetails(email=student.email, first_name=student.first_name, last_name=student.last_name)

    def attempt(slot):
        return lambda: services.register_student(
            course=slot.course, slot=slot, pricing_type="full_package", payment_method="venmo", details=details
        )

    return student, [attempt(priced_slot()), attempt(priced_slot())]


def test_one_student_registering_for_two_slots_at_once_stops_at_the_limit(monkeypatch):
    student, attempts = one_student_in_two_slots()

    outcomes = race(attempts, monkeypatch, wait_after_counting=lambda: threading.Event().wait(0.3))

    assert outcomes == ["limit", "registered"]
    assert Registration.objects.filter(student=student).count() == 1


def test_without_the_student_lock_the_same_race_passes_the_limit_twice(monkeypatch):
    student, attempts = one_student_in_two_slots()
    counted = threading.Barrier(2)
    monkeypatch.setattr(seats, "lock_student", lambda student: None)

    outcomes = race(attempts, monkeypatch, wait_after_counting=lambda: counted.wait(timeout=20))

    assert outcomes == ["registered", "registered"]
    assert Registration.objects.filter(student=student).count() == 2


def test_one_client_registering_invented_students_for_two_slots_at_once_stops_at_the_cap(monkeypatch):
    setting("max_unpaid_holds_per_client", 1)

    def attempt(n):
        slot = priced_slot()
        return lambda: services.register_student(
            course=slot.course,
            slot=slot,
            pricing_type="full_package",
            payment_method="venmo",
            details=StudentDetails(email=f"invented{n}@example.org", first_name="Bot", last_name=str(n)),
            client_key=PHONE,
        )

    outcomes = race([attempt(1), attempt(2)], monkeypatch, wait_after_counting=lambda: threading.Event().wait(0.3))

    assert outcomes == ["capped", "registered"]
    assert Registration.objects.filter(client_key=PHONE).count() == 1
