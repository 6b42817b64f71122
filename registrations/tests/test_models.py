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


# --- the ledger (README "Payments") ---------------------------------------------------------------------------------------


def refused(constraint):
    return pytest.raises(IntegrityError, match=constraint)


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_the_database_refuses_a_payment_or_refund_that_is_not_positive(amount):
    from registrations.tests.factories import PaymentFactory, RefundFactory

    with refused("registrations_payment_amount_positive"), transaction.atomic():
        PaymentFactory(amount=Decimal(amount))
    with refused("registrations_refund_amount_positive"), transaction.atomic():
        RefundFactory(amount=Decimal(amount))


def test_the_database_refuses_a_payment_with_an_unknown_method_or_source():
    from registrations.tests.factories import PaymentFactory

    with refused("registrations_payment_method_valid"), transaction.atomic():
        PaymentFactory(method="cash")
    with refused("registrations_payment_source_valid"), transaction.atomic():
        PaymentFactory(source="magic")


def test_the_database_records_a_transaction_id_once_per_method():
    from registrations.tests.factories import PaymentFactory

    PaymentFactory(transaction_id="3891234567")
    PaymentFactory(transaction_id="3891234567", method="zelle")  # another method's id
    PaymentFactory(transaction_id="")
    PaymentFactory(transaction_id="")  # ids not known: any number

    # SQLite names the columns of a unique index, PostgreSQL the index.
    columns = "registrations_payment.method, registrations_payment.transaction_id"
    with refused(f"registrations_payment_one_per_transaction_id|{columns}"), transaction.atomic():
        PaymentFactory(transaction_id="3891234567")


def test_the_database_refuses_a_statement_payment_without_its_import():
    from registrations.tests.factories import PaymentFactory

    with refused("registrations_payment_statement_has_import"), transaction.atomic():
        PaymentFactory(source="statement")


def test_the_database_refuses_a_refund_without_a_reason():
    from registrations.tests.factories import RefundFactory

    with refused("registrations_refund_reason_given"), transaction.atomic():
        RefundFactory(reason="")


def test_the_database_keeps_credit_used_within_the_amount_and_allows_no_method_only_when_it_covers_it():
    RegistrationFactory(
        payment_status=PaymentStatus.COMPLETED,
        payment_method="",
        payment_amount=Decimal("40.00"),
        credit_applied=Decimal("40.00"),
    )

    with refused("registrations_registration_credit_within_amount"), transaction.atomic():
        RegistrationFactory(payment_amount=Decimal("40.00"), credit_applied=Decimal("40.01"))
    with refused("registrations_registration_credit_within_amount"), transaction.atomic():
        RegistrationFactory(credit_applied=Decimal("-1.00"))
    with refused("registrations_registration_method_unless_nothing_to_pay"), transaction.atomic():
        RegistrationFactory(payment_method="", payment_amount=Decimal("40.00"), credit_applied=Decimal("39.99"))


def credit_entry(**fields):
    from registrations.models import CreditEntry
    from registrations.tests.factories import CreditGrantFactory

    return CreditGrantFactory(**{"kind": CreditEntry.Kind.GRANTED, **fields})


def test_the_database_refuses_credit_that_is_not_positive():
    with refused("registrations_creditentry_amount_positive"), transaction.atomic():
        credit_entry(amount=Decimal("0.00"))


def test_the_database_refuses_a_credit_reason_that_does_not_fit_its_kind():
    grant = credit_entry()

    with refused("registrations_creditentry_reason_fits_kind"), transaction.atomic():
        credit_entry(reason="expiry")
    with refused("registrations_creditentry_reason_fits_kind"), transaction.atomic():
        credit_entry(kind="used", reason="overpayment", grant=grant, registration=RegistrationFactory())
    # An unknown kind breaks both rules (which one the database names first differs between SQLite and PostgreSQL).
    with refused("registrations_creditentry_(kind_valid|reason_fits_kind)"), transaction.atomic():
        credit_entry(kind="gift", grant=grant, student=grant.student)


def test_the_database_draws_used_and_expired_credit_from_a_grant_and_only_those():
    grant = credit_entry()
    registration = RegistrationFactory(student=grant.student)

    with refused("registrations_creditentry_drawn_from_a_grant"), transaction.atomic():
        credit_entry(kind="used", reason="registration", registration=registration, student=grant.student)
    with refused("registrations_creditentry_drawn_from_a_grant"), transaction.atomic():
        credit_entry(grant=grant)
    with refused("registrations_creditentry_used_for_a_registration"), transaction.atomic():
        credit_entry(kind="used", reason="registration", grant=grant, student=grant.student)


def test_the_database_puts_an_expiry_on_grants_only():
    grant = credit_entry()

    with refused("registrations_creditentry_expiry_only_on_grants"), transaction.atomic():
        credit_entry(kind="expired", reason="expiry", grant=grant, student=grant.student, expires_at=timezone.now())


def test_the_database_credits_a_canceled_class_once_per_registration_and_names_it():
    registration = RegistrationFactory()
    day = registration.slot.class_dates()[0]
    credit_entry(student=registration.student, reason="class_canceled", registration=registration, class_date=day)

    columns = "registrations_creditentry.registration_id, registrations_creditentry.class_date"
    with refused(f"registrations_creditentry_one_credit_per_canceled_class|{columns}"), transaction.atomic():
        credit_entry(student=registration.student, reason="class_canceled", registration=registration, class_date=day)
    with refused("registrations_creditentry_canceled_class_named"), transaction.atomic():
        credit_entry(student=registration.student, reason="class_canceled", registration=registration)


def test_the_database_expires_a_grant_once():
    grant = credit_entry()
    credit_entry(kind="expired", reason="expiry", grant=grant, student=grant.student, amount=Decimal("10.00"))

    with (
        refused("registrations_creditentry_one_expiry_per_grant|registrations_creditentry.grant_id"),
        transaction.atomic(),
    ):
        credit_entry(kind="expired", reason="expiry", grant=grant, student=grant.student, amount=Decimal("10.00"))


def test_the_database_refuses_a_confirmed_statement_import_without_its_time():
    from registrations.models import StatementImport

    with refused("registrations_statementimport_confirmed_has_confirmed_at"), transaction.atomic():
        StatementImport.objects.create(kind="venmo", status="confirmed")
    with refused("registrations_statementimport_kind_valid"), transaction.atomic():
        StatementImport.objects.create(kind="paypal")
    with refused("registrations_statementimport_status_valid"), transaction.atomic():
        StatementImport.objects.create(kind="venmo", status="done")
