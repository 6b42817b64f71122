"""Two admins (or a double click) act on the same registration at once (docs/bad-inputs.md #29, #33), on PostgreSQL
where select_for_update() really locks: one transition, one history row, one email."""

import threading

import pytest
from django.db import connection

from registrations.models import Registration, RegistrationEvent
from registrations.tests.factories import RegistrationFactory
from registrations.transitions import cancel_registration, confirm_payment
from studio.models import EmailLog

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CLICKS = 6


def at_once(action):
    """Run `action()` in CLICKS threads released together; return what each returned (or the error's repr)."""
    start = threading.Barrier(CLICKS)
    outcomes = []

    def attempt():
        try:
            start.wait(timeout=10)
            outcomes.append(action())
        except Exception as error:  # noqa: BLE001 - reported by the assertions
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(CLICKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_confirming_at_once_confirms_once_with_one_email(django_user_model):
    owner = django_user_model.objects.create_user(username="owner", is_staff=True)
    registration = RegistrationFactory()

    outcomes = at_once(lambda: confirm_payment(registration=registration, actor=owner, note="Venmo 123"))

    assert sorted(outcomes, key=str) == [False] * (CLICKS - 1) + [True]
    assert RegistrationEvent.objects.filter(registration=registration).count() == 1
    assert EmailLog.objects.filter(kind="payment_confirmed").count() == 1
    registration.refresh_from_db()
    assert registration.payment_status == Registration.PaymentStatus.COMPLETED


def test_canceling_at_once_cancels_once_with_one_email(django_user_model):
    owner = django_user_model.objects.create_user(username="owner", is_staff=True)
    registration = RegistrationFactory()

    outcomes = at_once(lambda: cancel_registration(registration=registration, actor=owner, reason="Asked to"))

    assert sorted(outcomes, key=str) == [False] * (CLICKS - 1) + [True]
    assert RegistrationEvent.objects.filter(registration=registration).count() == 1
    assert EmailLog.objects.filter(kind="registration_canceled").count() == 1
