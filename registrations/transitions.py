"""What happens to a registration after it is made (README "Registrations and seats", "Payments"): the studio confirms
a payment, the studio or the student cancels, the studio re-opens, a hold runs out.

Every transition locks the slot, then the registration (the fixed lock order), records its history row, and sends its
email after the commit; a freed seat is announced to the waitlist (seats.announce_freed_seats).
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.formatting import money
from courses.models import CourseSlot
from courses.services import seats_changed
from registrations import ledger, seats
from registrations.errors import (
    AlreadyRegistered,
    InvalidChoice,
    RegistrationCanceled,
    RegistrationError,
    SlotFull,
)
from registrations.models import Payment, Registration, StatementImport
from registrations.payments import payment_instructions
from registrations.services import (
    actor_label_for,
    conflicting_registration,
    expire_hold,
    record_event,
    registration_email_context,
    send_registration_confirmed,
    send_registration_received,
)
from registrations.signals import registration_ended
from studio.config import studio_settings
from studio.emails import send_email

PaymentStatus = Registration.PaymentStatus


def _lock_registration(registration: Registration) -> tuple[CourseSlot, Registration]:
    """Lock the slot, then the registration (the fixed lock order), and return both re-read."""
    slot = seats.lock_slot(registration.slot)
    # of=("self",): lock the registration row only, not the joined student and course rows (the waitlist locks a
    # course before its slot; locking it here, after the slot, would deadlock with it).
    registration = (
        Registration.objects.select_for_update(of=("self",)).select_related("student", "course").get(pk=registration.pk)
    )
    return slot, registration


def _check_no_other_active(registration: Registration) -> None:
    """Re-activating must not give the student a second active registration for the same seat."""
    other = conflicting_registration(
        student=registration.student, slot=registration.slot, class_date=registration.class_date
    )
    if other is not None and other.pk != registration.pk:
        raise AlreadyRegistered(
            _("The student already has another active registration for this class (%(reference)s).")
            % {"reference": other.reference}
        )


# --- confirm, cancel, re-open -------------------------------------------------------------------------------------------


def confirm_payment(
    *,
    registration: Registration,
    actor: AbstractBaseUser | None,
    method: str = "",
    note: str = "",
    over_capacity: bool = False,
    amount: Decimal | None = None,
    transaction_id: str = "",
    received_at: datetime.datetime | None = None,
    source: str = Payment.Source.HAND,
    statement_import: StatementImport | None = None,
    email_part_payment: bool = True,
    confirmed: list[Registration] | None = None,
) -> bool:
    """Record a payment of a pending or expired registration (`amount`: the balance due unless given) and, once it
    is paid in full (payments − refunds + credit used ≥ its amount), confirm it (who, when, method, note) and email the
    student once. A partial payment keeps it as it is (a pending one keeps its hold) and emails what is still due;
    what goes past the amount becomes account credit (registrations/ledger.py). `email_part_payment` off: the caller
    emails what is still due itself (a statement import, once per registration). `confirmed`: a list the caller
    collects the registrations confirmed into, and then bumps their courses' catalog versions itself, once each and
    after its last lock (seats_changed holds the course's version row until the commit: bumped between two slot
    locks, it deadlocks with a request that holds the second slot and bumps the same course).

    Returns False and records nothing when it is already paid, unless a transaction id comes with the payment (a
    statement line: recorded once by its id, all of it as credit). Raises RegistrationCanceled for a canceled one,
    SlotFull when a registration whose hold ran out finds its slot full (unless `over_capacity`), InvalidChoice for
    an unknown method, RegistrationError for a bad amount, ledger.DuplicatePayment for a transaction id recorded
    already, and AlreadyRegistered when the student holds another active registration for the seat.
    """
    if method and method not in Registration.PaymentMethod.values:
        raise InvalidChoice(_("Choose Venmo or Zelle."), field="method")
    if amount is not None:
        ledger.check_amount(amount)
    note = str(note).strip()[: Registration._meta.get_field("transaction_note").max_length]
    with transaction.atomic():
        slot, registration = _lock_registration(registration)
        status = registration.payment_status
        if status == PaymentStatus.CANCELED:
            raise RegistrationCanceled()
        if status == PaymentStatus.COMPLETED and not (transaction_id and amount is not None):
            return False
        method = method or registration.payment_method
        if not method:
            raise InvalidChoice(_("Choose Venmo or Zelle."), field="method")
        now = timezone.now()
        before = ledger.balance(registration)
        if amount is None:
            amount = before.due
        completes = status != PaymentStatus.COMPLETED and before.after_payment(amount).is_paid_in_full
        past_capacity = False
        if completes:
            if status == PaymentStatus.EXPIRED:
                _check_no_other_active(registration)
            # A registration whose hold ran out holds no seat: it may take a free one (any free seat: the studio
            # decides, so waiting entries without an offer do not block it) or, when told so, go past capacity.
            past_capacity = not seats.is_holding_seat(registration, now=now) and (
                seats.seats_left(slot, class_date=registration.class_date, now=now) <= 0
            )
            if past_capacity and not over_capacity:
                raise SlotFull(_("The time slot is full: use “confirm over capacity” to confirm it anyway."))
        payment, after = None, before
        if amount > 0:
            payment, after = ledger.record_payment(
                registration=registration,
                amount=amount,
                method=method,
                recorded_by=actor,
                received_at=received_at,
                transaction_id=transaction_id,
                note=note,
                source=source,
                statement_import=statement_import,
            )
        if not completes:
            if payment is not None and status != PaymentStatus.COMPLETED:
                _record_part_payment(registration, payment=payment, after=after, actor=actor)
                if email_part_payment and status == PaymentStatus.PENDING:
                    send_part_payment_email(registration, balance=after)
            return payment is not None
        registration.payment_status = PaymentStatus.COMPLETED
        registration.confirmed_at = now
        registration.confirmed_by = actor
        registration.payment_method = method
        registration.transaction_note = note
        fields_ = ["payment_status", "confirmed_at", "confirmed_by", "payment_method", "transaction_note"]
        if past_capacity:
            registration.admin_override = True
            fields_.append("admin_override")
        registration.save(update_fields=[*fields_, "updated_at"])
        reason = _("Payment confirmed (%(method)s).") % {"method": registration.get_payment_method_display()}
        if payment is not None:
            reason = _("Payment of %(amount)s confirmed (%(method)s).") % {
                "amount": money(payment.amount),
                "method": payment.get_method_display(),
            }
        if past_capacity:
            reason = f"{reason} {_('Confirmed over capacity.')}"
        if note:
            reason = f"{reason} {note}"
        record_event(registration, from_status=status, actor=actor, actor_label=actor_label_for(actor), reason=reason)
        send_email(
            kind="payment_confirmed",
            to=registration.student.email,
            about=registration,
            context=registration_email_context(
                registration, balance=after, overpaid=after.credited_back - before.credited_back
            ),
            dedupe_key=f"payment_confirmed:{registration.pk}",
        )
        if confirmed is None:
            seats_changed(slot.course_id)
        else:
            confirmed.append(registration)
    return True


def _record_part_payment(registration: Registration, *, payment: Payment, after: ledger.Balance, actor) -> None:
    """A payment that leaves something due: a history row (the status stays as it is)."""
    record_event(
        registration,
        from_status=registration.payment_status,
        actor=actor,
        actor_label=actor_label_for(actor),
        reason=_("Received %(amount)s (%(method)s); %(due)s still due.")
        % {"amount": money(payment.amount), "method": payment.get_method_display(), "due": money(after.due)},
    )


def send_part_payment_email(registration: Registration, *, balance: ledger.Balance) -> None:
    """Email a part-paid pending registration's student what was received and how to pay the rest; once per amount
    received."""
    send_email(
        kind="payment_partial",
        to=registration.student.email,
        about=registration,
        context=registration_email_context(
            registration, balance=balance, instructions=payment_instructions(registration, due=balance.due)
        ),
        dedupe_key=f"payment_partial:{registration.pk}:{balance.received}",
    )


def cancel_registration(
    *,
    registration: Registration,
    actor: AbstractBaseUser | None = None,
    reason: str = "",
    by_student: bool = False,
    settle: str = "",
) -> bool:
    """Cancel a pending or paid registration (a student only a pending one), or an expired one with money on it (the
    studio), email the student and free the seat.

    What covers it (payments, credit used) is settled as `settle` says (ledger.Settle: refund, credit or keep); a
    student's own cancellation keeps it as account credit. Returns False and changes nothing when it is already
    canceled; raises RegistrationError when the student may not cancel it (paid), when it has expired with no
    money on it, or (field="settle") when something covers it and the studio did not say what to do with it.
    """
    reason = str(reason).strip()[: Registration._meta.get_field("cancel_reason").max_length]
    with transaction.atomic():
        slot, registration = _lock_registration(registration)
        status = registration.payment_status
        if status == PaymentStatus.CANCELED:
            return False
        if by_student and status != PaymentStatus.PENDING:
            raise RegistrationError(_("A paid registration can only be canceled by the studio. Please contact us."))
        # An expired registration holds no seat, but money recorded on it since its hold ran out is still settled here.
        if status not in Registration.ACTIVE_STATUSES and ledger.balance(registration).returnable <= 0:
            raise RegistrationError(_("This registration has expired; there is nothing to cancel."))
        settlement = ledger.settle_cancellation(
            registration=registration,
            settle=ledger.Settle.CREDIT if by_student else settle,
            recorded_by=None if by_student else actor,
            reason=reason,
        )
        registration.payment_status = PaymentStatus.CANCELED
        registration.canceled_at = timezone.now()
        registration.canceled_by = None if by_student else actor
        registration.cancel_reason = reason
        registration.save(update_fields=["payment_status", "canceled_at", "canceled_by", "cancel_reason", "updated_at"])
        registration_ended.send(sender=Registration, registration=registration)
        event = record_event(
            registration,
            from_status=status,
            actor=None if by_student else actor,
            actor_label="student" if by_student else actor_label_for(actor),
            reason=reason or (_("Canceled by the student.") if by_student else ""),
        )
        send_email(
            kind="registration_canceled",
            to=registration.student.email,
            about=registration,
            context=registration_email_context(
                registration, reason=reason, by_student=by_student, settlement=settlement
            ),
            dedupe_key=f"registration_canceled:{registration.pk}:{event.pk}",
        )
        seats_changed(slot.course_id)
        seats.announce_freed_seats(slot)
    return True


def reopen_registration(*, registration: Registration, actor: AbstractBaseUser | None, reason: str = "") -> bool:
    """Re-open a canceled or expired registration, if its seat is free, and email the student again: pending with a
    new hold and the payment instructions, or, with nothing left to pay by its balance (a free class, or the money
    still on it), confirmed at once with the "you're in" or "payment received" email.

    Returns False and changes nothing when it is already pending or paid. Raises SlotFull when no seat is free and
    AlreadyRegistered when the student holds another active registration for the seat.
    """
    reason = str(reason).strip()
    with transaction.atomic():
        slot, registration = _lock_registration(registration)
        status = registration.payment_status
        if status in Registration.ACTIVE_STATUSES:
            return False
        now = timezone.now()
        _check_no_other_active(registration)
        if seats.seats_left(slot, class_date=registration.class_date, now=now) <= 0:
            raise SlotFull(_("The time slot is full; the registration cannot be re-opened."))
        # Nothing left to pay (a free class, or money still on it: canceled and kept, paid since it expired): the
        # balance says, not the price.
        balance = ledger.balance(registration)
        free = balance.is_paid_in_full
        registration.payment_status = PaymentStatus.COMPLETED if free else PaymentStatus.PENDING
        registration.payment_due_at = None if free else seats.hold_deadline(now=now)
        if free:
            registration.confirmed_at = now
        registration.canceled_at = None
        registration.canceled_by = None
        registration.cancel_reason = ""
        registration.save(
            update_fields=[
                "payment_status",
                "payment_due_at",
                "confirmed_at",
                "canceled_at",
                "canceled_by",
                "cancel_reason",
                "updated_at",
            ]
        )
        event = record_event(
            registration,
            from_status=status,
            actor=actor,
            actor_label=actor_label_for(actor),
            reason=reason or _("Re-opened by the studio."),
        )
        if free and balance.received > 0:
            send_email(
                kind="payment_confirmed",
                to=registration.student.email,
                about=registration,
                context=registration_email_context(registration, balance=balance),
                dedupe_key=f"payment_confirmed:{registration.pk}:reopened-{event.pk}",
            )
        elif free:
            send_registration_confirmed(registration, again=f"reopened-{event.pk}")
        else:
            send_registration_received(registration, again=f"reopened-{event.pk}")
        seats_changed(slot.course_id)
    return True


# --- many at once (admin actions) ----------------------------------------------------------------------------------------


@dataclass
class BulkOutcome:
    """What a bulk admin action did: the registrations changed, those already in the target state, the refusals."""

    done: list[Registration]
    unchanged: list[Registration]
    refused: list[tuple[Registration, RegistrationError]]


def _each(registrations, change) -> BulkOutcome:
    """`change(registration)` for each one, each in its own transaction: one refusal does not undo the others.

    `change` returns whether it changed anything and raises RegistrationError to refuse."""
    outcome = BulkOutcome(done=[], unchanged=[], refused=[])
    for registration in registrations:
        try:
            changed = change(registration)
        except RegistrationError as error:
            outcome.refused.append((registration, error))
        else:
            (outcome.done if changed else outcome.unchanged).append(registration)
    return outcome


def confirm_payments(
    *,
    registrations,
    actor: AbstractBaseUser,
    method: str = "",
    note: str = "",
    over_capacity: bool = False,
    amount: Decimal | None = None,
    transaction_id: str = "",
) -> BulkOutcome:
    """confirm_payment for each registration, each in its own transaction: one refusal does not undo the others."""
    return _each(
        registrations,
        lambda registration: confirm_payment(
            registration=registration,
            actor=actor,
            method=method,
            note=note,
            over_capacity=over_capacity,
            amount=amount,
            transaction_id=transaction_id,
        ),
    )


def cancel_registrations(*, registrations, actor: AbstractBaseUser, reason: str, settle: str = "") -> BulkOutcome:
    """cancel_registration (by the studio) for each registration, each in its own transaction."""
    return _each(
        registrations,
        lambda registration: cancel_registration(registration=registration, actor=actor, reason=reason, settle=settle),
    )


def reopen_registrations(*, registrations, actor: AbstractBaseUser, reason: str = "") -> BulkOutcome:
    """reopen_registration for each registration, each in its own transaction."""
    return _each(
        registrations, lambda registration: reopen_registration(registration=registration, actor=actor, reason=reason)
    )


# --- holds running out (cron) ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldSweep:
    reminded: int
    expired: int


def _hold_email_context(registration: Registration, **extra) -> dict:
    return registration_email_context(
        registration, instructions=payment_instructions(registration), hold_until=registration.payment_due_at, **extra
    )


def send_hold_reminders(*, now: datetime.datetime | None = None) -> int:
    """Email "your hold runs out soon" once per hold when half of payment_hold_hours is left; returns how many."""
    now = now or timezone.now()
    hours = studio_settings().payment_hold_hours
    if not hours:
        return 0
    due = (
        Registration.objects.filter(
            seats.hold_running(now),
            payment_due_at__lte=now + datetime.timedelta(hours=hours / 2),
            # A student who says they paid is waiting for the studio, not the other way round.
            payment_reported_at__isnull=True,
        )
        .select_related("student", "course", "slot__course")
        .order_by("payment_due_at", "pk")
    )
    sent = 0
    for registration in due:
        # One reminder per hold: a re-opened registration has a new hold and gets a new reminder.
        key = f"hold_expiring:{registration.pk}:{registration.payment_due_at:%Y%m%d%H%M%S}"
        with transaction.atomic():
            log = send_email(
                kind="hold_expiring",
                to=registration.student.email,
                about=registration,
                context=_hold_email_context(registration),
                dedupe_key=key,
            )
        sent += log is not None
    return sent


def expire_run_out_holds(*, now: datetime.datetime | None = None) -> int:
    """Mark pending registrations whose hold ran out as expired (history, "hold expired" email), slot by slot, and
    offer the freed seats to the waitlist after each commit; returns how many expired.

    Seat counts never wait for this: a run-out hold already holds nothing. Pending registrations made with a
    zero-hour hold (payment_hold_hours = 0) never held a seat and stay pending.
    """
    now = now or timezone.now()
    run_out = Registration.objects.filter(seats.hold_ran_out(now)).exclude(
        payment_due_at__lte=F("created_at") + datetime.timedelta(minutes=1)
    )
    expired = 0
    for slot_id in sorted(set(run_out.values_list("slot_id", flat=True))):
        with transaction.atomic():
            slot = seats.lock_slot(CourseSlot(pk=slot_id))
            locked = run_out.filter(slot=slot).select_for_update(of=("self",)).select_related("student", "course")
            for registration in locked:
                credited = expire_hold(registration)
                send_email(
                    kind="hold_expired",
                    to=registration.student.email,
                    about=registration,
                    context=_hold_email_context(registration, credited=credited.amount if credited else None),
                    dedupe_key=f"hold_expired:{registration.pk}:{registration.payment_due_at:%Y%m%d%H%M%S}",
                )
                expired += 1
            seats_changed(slot.course_id)
            seats.announce_freed_seats(slot)
    return expired


def expire_holds(*, now: datetime.datetime | None = None) -> HoldSweep:
    """The hold sweep run from cron: halfway reminders, then run-out holds expired and their seats offered."""
    now = now or timezone.now()
    return HoldSweep(reminded=send_hold_reminders(now=now), expired=expire_run_out_holds(now=now))
