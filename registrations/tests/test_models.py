from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from courses.tests.factories import CourseSlotFactory
from registrations.models import Registration, RegistrationEvent
from registrations.tests.factories import RegistrationFactory

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus


def drop_in(**kwargs) -> Registration:
    """A pending drop-in registration for one class date of a weekly slot."""
    return RegistrationFactory(pricing_type="drop_in", payment_amount=Decimal("35.00"), **kwargs)


@pytest.mark.parametrize("first_status", [PaymentStatus.PENDING, PaymentStatus.COMPLETED])
def test_second_active_registration_for_the_same_student_and_slot_is_rejected(first_status):
    first = RegistrationFactory(payment_status=first_status)

    with pytest.raises(IntegrityError), transaction.atomic():
        RegistrationFactory(student=first.student, slot=first.slot)


@pytest.mark.parametrize("first_status", [PaymentStatus.CANCELED, PaymentStatus.EXPIRED])
def test_inactive_registration_does_not_block_a_new_one_for_the_same_slot(first_status):
    first = RegistrationFactory(payment_status=first_status)

    again = RegistrationFactory(student=first.student, slot=first.slot)

    assert again.pk != first.pk


def test_same_student_may_register_for_another_slot():
    first = RegistrationFactory()

    other = RegistrationFactory(student=first.student, slot=CourseSlotFactory(course=first.course))

    assert other.pk is not None


def test_second_active_drop_in_for_the_same_class_date_is_rejected():
    slot = CourseSlotFactory()
    first = drop_in(slot=slot, class_date=slot.class_dates()[0])

    with pytest.raises(IntegrityError), transaction.atomic():
        drop_in(student=first.student, slot=slot, class_date=first.class_date)


def test_drop_ins_for_different_class_dates_of_a_slot_are_accepted():
    slot = CourseSlotFactory()
    first_date, second_date = slot.class_dates()[:2]
    first = drop_in(slot=slot, class_date=first_date)

    second = drop_in(student=first.student, slot=slot, class_date=second_date)

    assert second.pk is not None


def test_canceled_drop_in_does_not_block_a_new_one_for_the_same_class_date():
    slot = CourseSlotFactory()
    first = drop_in(slot=slot, class_date=slot.class_dates()[0], payment_status=PaymentStatus.CANCELED)

    again = drop_in(student=first.student, slot=slot, class_date=first.class_date)

    assert again.pk is not None


def test_class_date_on_a_full_package_registration_is_rejected():
    slot = CourseSlotFactory()

    with (
        pytest.raises(IntegrityError, match="registrations_registration_class_date_only_for_drop_in"),
        transaction.atomic(),
    ):
        RegistrationFactory(slot=slot, pricing_type="full_package", class_date=slot.class_dates()[0])


def test_negative_amount_is_rejected():
    with pytest.raises(IntegrityError, match="registrations_registration_amount_not_negative"), transaction.atomic():
        RegistrationFactory(payment_amount=Decimal("-1.00"))


@pytest.mark.parametrize(
    ("field", "constraint"),
    [
        ("payment_status", "registrations_registration_payment_status_valid"),
        ("payment_method", "registrations_registration_payment_method_valid"),
        ("payment_reported_method", "registrations_registration_payment_reported_method_valid"),
        ("pricing_type", "registrations_registration_pricing_type_valid"),
    ],
)
def test_registration_choice_field_rejects_unknown_value(field, constraint):
    # Reported as paid, so a bad reported method breaks only its own constraint (PostgreSQL names the first it finds).
    registration = RegistrationFactory(payment_reported_at=timezone.now())

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        Registration.objects.filter(pk=registration.pk).update(**{field: "paypal"})


@pytest.mark.parametrize(
    ("field", "constraint"),
    [
        ("to_status", "registrations_registrationevent_to_status_valid"),
        ("from_status", "registrations_registrationevent_from_status_valid"),
    ],
)
def test_registration_event_status_rejects_unknown_value(field, constraint):
    event = RegistrationEvent.objects.create(
        registration=RegistrationFactory(), from_status="", to_status=PaymentStatus.PENDING, actor_label="student"
    )

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        RegistrationEvent.objects.filter(pk=event.pk).update(**{field: "refunded"})


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"payment_status": PaymentStatus.PENDING, "payment_due_at": None}, "pending_has_hold_deadline"),
        ({"payment_status": PaymentStatus.COMPLETED, "confirmed_at": None}, "completed_has_confirmed_at"),
        ({"payment_status": PaymentStatus.CANCELED, "canceled_at": None}, "canceled_has_canceled_at"),
        ({"payment_reported_at": None, "payment_reported_method": "venmo"}, "payment_report_complete"),
    ],
    ids=["pending-without-deadline", "paid-without-confirmed-at", "canceled-without-canceled-at", "half-a-report"],
)
def test_a_status_without_what_goes_with_it_is_rejected(changes, constraint):
    registration = RegistrationFactory()

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        Registration.objects.filter(pk=registration.pk).update(**changes)


def test_who_confirmed_or_canceled_needs_when(django_user_model):
    owner = django_user_model.objects.create_user(username="owner")
    registration = RegistrationFactory()

    with pytest.raises(IntegrityError, match="confirmed_by_has_confirmed_at"), transaction.atomic():
        Registration.objects.filter(pk=registration.pk).update(confirmed_by=owner)
    with pytest.raises(IntegrityError, match="canceled_by_has_canceled_at"), transaction.atomic():
        Registration.objects.filter(pk=registration.pk).update(canceled_by=owner)
