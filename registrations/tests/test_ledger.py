"""The money rules (README "Payments"): payments and the balance due, partial payments and overpayments, refunds,
account credit granted, used and expired, and what a cancellation does with the money."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from courses.tests.factories import CourseFactory, priced_slot
from registrations import ledger, transitions
from registrations.errors import InvalidChoice, RegistrationCanceled, RegistrationError, SlotFull
from registrations.models import CreditEntry, Payment, Refund, Registration, RegistrationEvent
from registrations.payments import payment_instructions
from registrations.services import admin_register_student, register_student
from registrations.tests.factories import CreditGrantFactory, PaymentFactory, RegistrationFactory
from students.services import StudentDetails
from students.tests.factories import StudentFactory
from studio.emails import render_logged
from studio.models import EmailLog, SystemSetting

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus
Kind, Reason = CreditEntry.Kind, CreditEntry.Reason


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(username="owner", is_staff=True)


def confirm(registration, owner, **kwargs):
    return transitions.confirm_payment(registration=registration, actor=owner, **kwargs)


def emails(kind):
    """The emails of `kind`, written as their delivery writes them (a registration's are written after the commit)."""
    return [render_logged(log) for log in EmailLog.objects.filter(kind=kind)]


# --- the balance ----------------------------------------------------------------------------------------------------------


def test_a_new_registration_owes_its_whole_amount():
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))

    balance = ledger.balance(registration)

    assert (balance.received, balance.due, balance.is_paid_in_full) == (Decimal("0"), Decimal("120.00"), False)


def test_the_balance_is_payments_less_refunds_plus_credit_used():
    registration = RegistrationFactory(payment_amount=Decimal("120.00"), credit_applied=Decimal("20.00"))
    PaymentFactory(registration=registration, amount=Decimal("70.00"))
    PaymentFactory(registration=registration, amount=Decimal("40.00"), method="zelle")
    Refund.objects.create(registration=registration, amount=Decimal("15.00"), method="venmo", reason="Too much")

    balance = ledger.balance(registration)

    assert balance.received == Decimal("95.00")
    assert balance.covered == Decimal("115.00")
    assert balance.due == Decimal("5.00")
    assert balance.is_part_paid


def test_balances_of_many_registrations_come_in_one_query(django_assert_num_queries):
    for _ in range(3):
        PaymentFactory(amount=Decimal("50.00"))

    with django_assert_num_queries(1):
        balances = [ledger.balance_from(r) for r in ledger.with_balances(Registration.objects.all())]

    assert [b.due for b in balances] == [Decimal("70.00")] * 3


def test_the_total_due_summed_in_the_database_is_the_sum_of_each_balance_due(django_assert_num_queries):
    owing = RegistrationFactory(payment_amount=Decimal("120.00"), credit_applied=Decimal("20.00"))
    PaymentFactory(registration=owing, amount=Decimal("70.00"))
    Refund.objects.create(registration=owing, amount=Decimal("15.00"), method="venmo", reason="Too much")
    overpaid = PaymentFactory(amount=Decimal("150.00")).registration  # $30 over: owes nothing, takes nothing off
    credited_back = PaymentFactory(amount=Decimal("50.00")).registration
    CreditGrantFactory(
        student=credited_back.student,
        registration=credited_back,
        reason=CreditEntry.Reason.REGISTRATION_CANCELED,
        amount=Decimal("50.00"),
    )
    RegistrationFactory(payment_amount=Decimal("0.00"))

    with django_assert_num_queries(1):
        total = ledger.total_due(Registration.objects.all())

    each = [ledger.balance(registration).due for registration in Registration.objects.all()]
    assert total == sum(each) == Decimal("45.00") + 0 + Decimal("120.00") + 0
    assert ledger.balance(overpaid).due == 0
    assert ledger.total_due(Registration.objects.none()) == 0


# --- recording a payment (confirm_payment) --------------------------------------------------------------------------------


def test_confirming_records_a_payment_of_the_balance_due_and_marks_it_paid(owner):
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))

    assert confirm(registration, owner, note="Venmo 1234") is True

    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.recorded_by, payment.source) == (
        Decimal("120.00"),
        "venmo",
        owner,
        Payment.Source.HAND,
    )
    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.COMPLETED
    assert len(emails("payment_confirmed")) == 1


def test_confirming_twice_records_one_payment_and_one_email(owner):
    registration = RegistrationFactory()

    assert confirm(registration, owner) is True
    assert confirm(registration, owner) is False
    assert confirm(registration, owner, amount=Decimal("20.00")) is False  # no transaction id: not recorded again

    assert Payment.objects.count() == 1
    assert len(emails("payment_confirmed")) == 1


def test_a_partial_payment_keeps_the_registration_pending_with_its_hold_and_emails_what_is_still_due(owner):
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="groove-studio")
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))
    hold = registration.payment_due_at

    assert confirm(registration, owner, amount=Decimal("100.00")) is True

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.PENDING
    assert registration.payment_due_at == hold
    assert ledger.balance(registration).due == Decimal("20.00")
    assert emails("payment_confirmed") == []
    (partial,) = emails("payment_partial")
    assert "We received $100.00" in partial.body_text and "$20.00 is still due" in partial.body_text
    assert "amount=20.00" in partial.body_text  # the Venmo link asks for the rest
    assert RegistrationEvent.objects.filter(registration=registration, reason__contains="$20.00 still due").exists()


def test_the_rest_of_a_partial_payment_completes_it_with_one_confirmation(owner):
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))
    confirm(registration, owner, amount=Decimal("100.00"))

    confirm(registration, owner)  # the balance due

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.COMPLETED
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [Decimal("20.00"), Decimal("100.00")]
    assert len(emails("payment_confirmed")) == 1


def test_payment_instructions_ask_for_the_balance_due_in_the_venmo_link_and_qr_code(owner):
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="groove-studio")
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))
    confirm(registration, owner, amount=Decimal("100.00"))

    instructions = payment_instructions(registration)

    assert instructions.amount == Decimal("20.00")
    assert "amount=20.00" in instructions.venmo_app_url and "amount=20.00" in instructions.venmo_web_url


def test_an_overpayment_confirms_the_registration_and_becomes_account_credit(owner):
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))

    confirm(registration, owner, amount=Decimal("150.00"))

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.COMPLETED
    grant = CreditEntry.objects.get()
    assert (grant.kind, grant.reason, grant.amount, grant.registration) == (
        Kind.GRANTED,
        Reason.OVERPAYMENT,
        Decimal("30.00"),
        registration,
    )
    assert ledger.credit_balance(registration.student) == Decimal("30.00")
    assert ledger.balance(registration).covered == Decimal("120.00")
    assert "You paid $30.00 more than the price" in emails("payment_confirmed")[0].body_text


def test_a_statement_line_for_a_paid_registration_is_recorded_once_as_credit(owner):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=registration)

    assert confirm(registration, owner, amount=Decimal("25.00"), transaction_id="V-1") is True
    with pytest.raises(ledger.DuplicatePayment):
        confirm(registration, owner, amount=Decimal("25.00"), transaction_id="V-1")

    assert ledger.credit_balance(registration.student) == Decimal("25.00")
    assert Payment.objects.count() == 2


def test_a_transaction_id_is_recorded_once_per_method(owner):
    first, second = RegistrationFactory(), RegistrationFactory()
    confirm(first, owner, transaction_id="3891", amount=Decimal("120.00"))

    with pytest.raises(ledger.DuplicatePayment):
        confirm(second, owner, transaction_id="3891", amount=Decimal("120.00"))
    confirm(second, owner, method="zelle", transaction_id="3891", amount=Decimal("120.00"))

    assert Payment.objects.filter(transaction_id="3891").count() == 2
    second.refresh_from_db()
    assert second.payment_status == PaymentStatus.COMPLETED


@pytest.mark.parametrize("amount", ["0", "-5", "12.345", "NaN", "Infinity"])
def test_a_bad_amount_is_refused_and_nothing_is_recorded(owner, amount):
    registration = RegistrationFactory()

    with pytest.raises(RegistrationError) as refused:
        confirm(registration, owner, amount=Decimal(amount))

    assert refused.value.field == "amount"
    assert not Payment.objects.exists()
    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.PENDING


def test_a_canceled_registration_takes_no_payment(owner):
    registration = RegistrationFactory(payment_status=PaymentStatus.CANCELED)

    with pytest.raises(RegistrationCanceled, match="record a refund instead"):
        confirm(registration, owner, amount=Decimal("120.00"))

    assert not Payment.objects.exists()


def test_a_partial_payment_of_an_expired_hold_is_recorded_and_changes_no_status(owner):
    registration = RegistrationFactory(payment_status=PaymentStatus.EXPIRED)

    confirm(registration, owner, amount=Decimal("50.00"))

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.EXPIRED
    assert ledger.balance(registration).received == Decimal("50.00")
    assert emails("payment_partial") == []


def run_out(registration):
    """Make `registration`'s hold one that ran out an hour ago (made three days ago)."""
    Registration.objects.filter(pk=registration.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3),
        payment_due_at=timezone.now() - datetime.timedelta(hours=1),
    )


def test_a_hold_that_runs_out_turns_what_was_paid_into_account_credit(owner):
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))
    confirm(registration, owner, amount=Decimal("40.00"))
    run_out(registration)

    assert transitions.expire_run_out_holds() == 1

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.EXPIRED
    grant = CreditEntry.objects.get()
    assert (grant.kind, grant.reason, grant.amount, grant.registration) == (
        Kind.GRANTED,
        Reason.HOLD_EXPIRED,
        Decimal("40.00"),
        registration,
    )
    assert ledger.credit_balance(registration.student) == Decimal("40.00")
    assert ledger.balance(registration).covered == 0  # the money is the student's credit now, not on the registration
    assert "$40.00 it had received is now account credit" in registration.events.order_by("pk").last().reason
    assert "The $40.00 you had paid is now account credit" in emails("hold_expired")[0].body_text


def test_a_hold_that_runs_out_with_nothing_paid_grants_no_credit():
    registration = RegistrationFactory()
    run_out(registration)

    transitions.expire_run_out_holds()

    assert not CreditEntry.objects.exists()
    assert "account credit" not in emails("hold_expired")[0].body_text


def test_the_studio_can_cancel_an_expired_registration_with_money_recorded_since_and_refund_it(owner):
    registration = RegistrationFactory(payment_status=PaymentStatus.EXPIRED, payment_amount=Decimal("120.00"))
    confirm(registration, owner, amount=Decimal("50.00"))  # paid late: recorded, still expired

    assert transitions.cancel_registration(registration=registration, actor=owner, reason="Late", settle="refund")

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.CANCELED
    assert Refund.objects.get().amount == Decimal("50.00")


def test_an_expired_registration_without_money_still_has_nothing_to_cancel(owner):
    registration = RegistrationFactory(payment_status=PaymentStatus.EXPIRED)

    with pytest.raises(RegistrationError, match="nothing to cancel"):
        transitions.cancel_registration(registration=registration, actor=owner, reason="x")


def test_paying_off_a_run_out_hold_in_a_full_slot_records_nothing_without_over_capacity(owner):
    slot = priced_slot(capacity=1)
    late = RegistrationFactory(slot=slot, payment_due_at=timezone.now() - datetime.timedelta(hours=1))
    RegistrationFactory(slot=slot)  # took the seat

    with pytest.raises(SlotFull):
        confirm(late, owner)

    assert not Payment.objects.exists()
    confirm(late, owner, over_capacity=True)
    assert Payment.objects.count() == 1


def test_a_payment_without_any_method_is_refused(owner):
    registration = RegistrationFactory(
        payment_method="", payment_amount=Decimal("30.00"), credit_applied=Decimal("30.00")
    )
    registration.payment_status = PaymentStatus.PENDING

    with pytest.raises(InvalidChoice):
        confirm(registration, owner, amount=Decimal("10.00"), transaction_id="x")


# --- refunds --------------------------------------------------------------------------------------------------------------


def test_a_refund_is_recorded_and_lowers_what_was_received(owner):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=registration, amount=Decimal("120.00"))

    refund = ledger.record_refund(
        registration=registration, amount=Decimal("20.00"), method="venmo", reason="Missed a class", recorded_by=owner
    )

    assert (refund.amount, refund.reason, refund.recorded_by) == (Decimal("20.00"), "Missed a class", owner)
    assert ledger.balance(registration).received == Decimal("100.00")


def test_a_refund_above_what_was_received_is_refused(owner):
    registration = RegistrationFactory()
    PaymentFactory(registration=registration, amount=Decimal("50.00"))

    with pytest.raises(ledger.RefundRefused) as refused:
        ledger.record_refund(
            registration=registration, amount=Decimal("50.01"), method="venmo", reason="x", recorded_by=owner
        )

    assert refused.value.field == "amount"
    assert not Refund.objects.exists()


def test_a_refund_needs_a_reason(owner):
    registration = RegistrationFactory()
    PaymentFactory(registration=registration)

    with pytest.raises(ledger.RefundRefused) as refused:
        ledger.record_refund(
            registration=registration, amount=Decimal("5.00"), method="venmo", reason=" ", recorded_by=owner
        )

    assert refused.value.field == "reason"


# --- cancelling a registration with money on it ---------------------------------------------------------------------------


def paid_registration(amount="120.00", **kwargs):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED, payment_amount=Decimal(amount), **kwargs)
    PaymentFactory(registration=registration, amount=Decimal(amount) - registration.credit_applied)
    return registration


def test_cancelling_a_paid_registration_asks_what_to_do_with_the_money(owner):
    registration = paid_registration()

    with pytest.raises(RegistrationError) as refused:
        transitions.cancel_registration(registration=registration, actor=owner, reason="Moved away")

    assert refused.value.field == "settle"
    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.COMPLETED


def test_cancelling_with_a_refund_records_a_refund_of_what_was_paid(owner):
    registration = paid_registration()

    transitions.cancel_registration(registration=registration, actor=owner, reason="Injury", settle="refund")

    refund = Refund.objects.get()
    assert (refund.amount, refund.method, refund.reason, refund.recorded_by) == (
        Decimal("120.00"),
        "venmo",
        "Injury",
        owner,
    )
    assert ledger.balance(registration).covered == 0
    assert "We are refunding $120.00 to you." in emails("registration_canceled")[0].body_text


def test_cancelling_with_credit_grants_what_covered_it_as_account_credit(owner):
    registration = paid_registration()

    transitions.cancel_registration(registration=registration, actor=owner, reason="Moved", settle="credit")

    assert not Refund.objects.exists()
    grant = CreditEntry.objects.get()
    assert (grant.reason, grant.amount) == (Reason.REGISTRATION_CANCELED, Decimal("120.00"))
    assert ledger.credit_balance(registration.student) == Decimal("120.00")
    assert "$120.00 is now account credit" in emails("registration_canceled")[0].body_text


def test_a_refund_on_cancel_gives_back_the_money_and_returns_the_credit_used_as_credit(owner):
    registration = paid_registration(credit_applied=Decimal("30.00"))

    transitions.cancel_registration(registration=registration, actor=owner, reason="x", settle="refund")

    assert Refund.objects.get().amount == Decimal("90.00")
    assert ledger.credit_balance(registration.student) == Decimal("30.00")


def class_credited(registration, amount="20.00"):
    """The studio canceled one of `registration`'s classes and credited its share."""
    return ledger.grant_credit(
        student=registration.student,
        amount=Decimal(amount),
        reason=Reason.CLASS_CANCELED,
        registration=registration,
        class_date=timezone.localdate(),
    )


def test_a_refund_on_cancel_gives_back_what_was_paid_less_the_credit_granted_for_its_canceled_classes(owner):
    registration = paid_registration()
    class_credited(registration)

    transitions.cancel_registration(registration=registration, actor=owner, reason="Moved", settle="refund")

    assert Refund.objects.get().amount == Decimal("100.00")  # not $120 on top of the $20 credit
    assert ledger.credit_balance(registration.student) == Decimal("20.00")


def test_credit_on_cancel_is_what_covered_it_less_the_credit_granted_for_its_canceled_classes(owner):
    registration = paid_registration(credit_applied=Decimal("30.00"))
    class_credited(registration)

    transitions.cancel_registration(registration=registration, actor=owner, reason="Moved", settle="credit")

    assert CreditEntry.objects.get(reason=Reason.REGISTRATION_CANCELED).amount == Decimal("100.00")


def test_a_refund_without_cancelling_is_limited_by_the_credit_granted_for_its_canceled_classes(owner):
    registration = paid_registration()
    class_credited(registration)

    with pytest.raises(ledger.RefundRefused, match=r"At most \$100\.00"):
        ledger.record_refund(
            registration=registration, amount=Decimal("100.01"), method="venmo", reason="x", recorded_by=owner
        )


def test_cancelling_and_keeping_the_money_records_nothing(owner):
    registration = paid_registration()

    transitions.cancel_registration(registration=registration, actor=owner, reason="No show", settle="keep")

    assert not Refund.objects.exists() and not CreditEntry.objects.exists()
    assert ledger.balance(registration).received == Decimal("120.00")


def test_a_student_who_cancels_a_part_paid_registration_keeps_the_money_as_credit(owner):
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))
    confirm(registration, owner, amount=Decimal("40.00"))

    transitions.cancel_registration(registration=registration, by_student=True)

    assert ledger.credit_balance(registration.student) == Decimal("40.00")


def test_cancelling_an_unpaid_registration_needs_no_money_choice(owner):
    registration = RegistrationFactory()

    assert transitions.cancel_registration(registration=registration, actor=owner, reason="x") is True

    assert not Refund.objects.exists() and not CreditEntry.objects.exists()


# --- account credit -------------------------------------------------------------------------------------------------------


def register(slot, student, *, signed_in=True, payment_method="venmo"):
    return register_student(
        course=slot.course,
        slot=slot,
        pricing_type="full_package",
        payment_method=payment_method,
        details=StudentDetails(email=student.email, first_name=student.first_name, last_name=student.last_name),
        verified_student=student if signed_in else None,
    )


def test_a_signed_in_students_credit_is_taken_off_their_next_registration():
    student = StudentFactory()
    CreditGrantFactory(student=student, amount=Decimal("30.00"))

    registration = register(priced_slot(full_package="120.00"), student)

    assert registration.payment_status == PaymentStatus.PENDING
    assert registration.credit_applied == Decimal("30.00")
    used = CreditEntry.objects.get(kind=Kind.USED)
    assert (used.amount, used.registration) == (Decimal("30.00"), registration)
    assert ledger.credit_balance(student) == 0
    assert ledger.balance(registration).due == Decimal("90.00")
    assert "Amount: $90.00" in emails("registration_received")[0].body_text


def test_a_registration_covered_by_credit_is_confirmed_at_once_without_a_method():
    student = StudentFactory()
    CreditGrantFactory(student=student, amount=Decimal("200.00"))

    registration = register(priced_slot(full_package="120.00"), student, payment_method="")

    assert registration.payment_status == PaymentStatus.COMPLETED
    assert (registration.payment_method, registration.payment_due_at) == ("", None)
    assert registration.credit_applied == Decimal("120.00")
    assert ledger.credit_balance(student) == Decimal("80.00")
    assert ledger.balance(registration).is_paid_in_full
    (confirmed,) = emails("registration_confirmed")
    assert "paid with $120.00 of your account credit" in confirmed.body_text


def test_a_registration_made_by_typing_an_email_uses_nobodys_credit():
    student = StudentFactory()
    CreditGrantFactory(student=student, amount=Decimal("30.00"))

    registration = register(priced_slot(full_package="120.00"), student, signed_in=False)

    assert registration.credit_applied == 0
    assert ledger.credit_balance(student) == Decimal("30.00")


def test_credit_that_expires_first_is_used_first_across_grants():
    student = StudentFactory()
    later = CreditGrantFactory(
        student=student, amount=Decimal("50.00"), expires_at=timezone.now() + datetime.timedelta(days=60)
    )
    never = CreditGrantFactory(student=student, amount=Decimal("50.00"))
    sooner = CreditGrantFactory(
        student=student, amount=Decimal("40.00"), expires_at=timezone.now() + datetime.timedelta(days=5)
    )

    register(priced_slot(full_package="70.00"), student)

    drawn = dict(CreditEntry.objects.filter(kind=Kind.USED).values_list("grant", "amount"))
    assert drawn == {sooner.pk: Decimal("40.00"), later.pk: Decimal("30.00")}
    assert ledger.credit_balance(student) == Decimal("70.00")
    assert never.draws.count() == 0


def test_credit_granted_expires_after_credit_expiry_days_and_never_with_zero():
    student = StudentFactory()

    endless = ledger.grant_credit(student=student, amount=Decimal("10.00"), reason=Reason.OVERPAYMENT)
    SystemSetting.objects.create(setting_key="credit_expiry_days", setting_value="90")
    expiring = ledger.grant_credit(student=student, amount=Decimal("10.00"), reason=Reason.OVERPAYMENT)

    assert endless.expires_at is None
    assert expiring.expires_at.date() == (timezone.now() + datetime.timedelta(days=90)).date()


def test_credit_past_its_expiry_counts_for_nothing_before_the_sweep_runs():
    student = StudentFactory()
    CreditGrantFactory(student=student, expires_at=timezone.now() + datetime.timedelta(days=1))

    with time_machine.travel(timezone.now() + datetime.timedelta(days=2)):
        assert ledger.credit_balance(student) == 0
        registration = register(priced_slot(full_package="120.00"), student)

    assert registration.credit_applied == 0
    assert not CreditEntry.objects.filter(kind=Kind.EXPIRED).exists()


def test_the_sweep_writes_what_is_left_of_an_expired_grant_once():
    student = StudentFactory()
    grant = CreditGrantFactory(
        student=student, amount=Decimal("30.00"), expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    CreditEntry.objects.create(
        student=student,
        kind=Kind.USED,
        reason=Reason.REGISTRATION,
        amount=Decimal("10.00"),
        grant=grant,
        registration=RegistrationFactory(student=student),
    )
    CreditGrantFactory(student=student, amount=Decimal("5.00"))  # never expires

    later = timezone.now() + datetime.timedelta(days=2)
    assert ledger.expire_credit(now=later) == 1
    assert ledger.expire_credit(now=later) == 0

    expired = CreditEntry.objects.get(kind=Kind.EXPIRED)
    assert (expired.amount, expired.grant, expired.reason) == (Decimal("20.00"), grant, Reason.EXPIRY)
    assert ledger.credit_balance(student, now=later) == Decimal("5.00")


def test_the_expire_credit_command_runs_the_sweep(capsys):
    from django.core.management import call_command

    CreditGrantFactory(expires_at=timezone.now() - datetime.timedelta(minutes=1))

    call_command("expire_credit")

    assert "Expired 1 credit grants." in capsys.readouterr().out
    assert CreditEntry.objects.filter(kind=Kind.EXPIRED).count() == 1


def test_the_studio_registering_a_student_uses_their_credit_unless_told_not_to(owner):
    student = StudentFactory()
    CreditGrantFactory(student=student, amount=Decimal("30.00"))
    slot = priced_slot(full_package="120.00")

    kept = admin_register_student(
        student=student, slot=slot, pricing_type="full_package", payment_method="zelle", actor=owner, use_credit=False
    )
    used = admin_register_student(
        student=student,
        slot=priced_slot(course=CourseFactory(), full_package="120.00"),
        pricing_type="full_package",
        payment_method="zelle",
        actor=owner,
    )

    assert (kept.credit_applied, used.credit_applied) == (0, Decimal("30.00"))


# --- the studio's figures -------------------------------------------------------------------------------------------------


def test_revenue_per_month_is_payments_less_refunds_in_the_studios_calendar():
    now = timezone.now()
    this_month = timezone.localdate(now).replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    PaymentFactory(amount=Decimal("120.00"), received_at=now)
    PaymentFactory(
        amount=Decimal("35.00"),
        received_at=datetime.datetime.combine(last_month, datetime.time(12), tzinfo=timezone.get_default_timezone()),
    )
    Refund.objects.create(registration=RegistrationFactory(), amount=Decimal("20.00"), method="venmo", reason="x")

    months = ledger.revenue_by_month(months=3, now=now)

    assert [m.month for m in months[:2]] == [this_month, last_month]
    assert (months[0].payments, months[0].refunds, months[0].net) == (
        Decimal("120.00"),
        Decimal("20.00"),
        Decimal("100.00"),
    )
    assert months[1].net == Decimal("35.00")
    assert months[2].net == 0


def test_registrations_paid_before_the_ledger_get_the_payment_their_confirmation_stood_for(owner):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("registrations.migrations.0010_payments_before_the_ledger")
    paid = RegistrationFactory(
        payment_status=PaymentStatus.COMPLETED, confirmed_by=owner, transaction_note="Venmo 99", payment_method="zelle"
    )
    free = RegistrationFactory(payment_status=PaymentStatus.COMPLETED, payment_amount=0, payment_method="")
    RegistrationFactory()  # pending: nothing received
    recorded = PaymentFactory(registration=RegistrationFactory(payment_status=PaymentStatus.COMPLETED))

    migration.record_payments_before_the_ledger(apps, None)
    migration.record_payments_before_the_ledger(apps, None)  # run again: nothing twice

    payment = Payment.objects.exclude(pk=recorded.pk).get()
    assert (payment.registration, payment.amount, payment.method, payment.note, payment.recorded_by) == (
        paid,
        Decimal("120.00"),
        "zelle",
        "Venmo 99",
        owner,
    )
    assert payment.source == Payment.Source.BEFORE_LEDGER and payment.received_at == paid.confirmed_at
    assert ledger.balance(paid).is_paid_in_full and not free.payments.exists()
