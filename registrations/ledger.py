"""Money (README "Payments"): what a registration has received and still owes, refunds, and each student's account
credit. Rows are written here and never edited or deleted: a mistake is corrected by a new row.

A registration's balance: covered = payments − refunds + account credit used for it − credit granted out of its
money (an overpayment, a cancellation settled as credit, a hold that ran out). It is paid in full when covered ≥ its amount; the
balance due is the rest. Status changes (pending → paid) stay in registrations/transitions.py, which calls these.

Account credit is a ledger per student: grants (an overpayment, a class the studio canceled, a canceled registration
settled as credit, what a registration whose hold ran out had received), each with its expiry (`credit_expiry_days`, 0 = never), and amounts used or expired, each drawn
from one grant. A grant's balance is its amount less what was drawn from it, and a grant past its expiry counts for
nothing, whether or not the nightly sweep (`expire_credit`) has written its expiry yet: counts compare with now.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.formatting import money, plain_date
from courses.models import Closure, CourseSlot
from registrations.errors import RegistrationError
from registrations.models import CreditEntry, Payment, Refund, Registration, RegistrationEvent, StatementImport
from registrations.pricing import cents, covers_class
from students.models import Student
from studio.config import studio_settings
from studio.emails import REDACTED

ZERO = Decimal("0.00")
Kind = CreditEntry.Kind
Reason = CreditEntry.Reason
# Credit granted out of the registration's own money: it no longer covers the registration.
_CREDITED_BACK = [Reason.OVERPAYMENT, Reason.REGISTRATION_CANCELED, Reason.HOLD_EXPIRED]
_MONEY = DecimalField(max_digits=12, decimal_places=2)


class DuplicatePayment(RegistrationError):
    default_message = _("This transaction is recorded already.")


class RefundRefused(RegistrationError):
    pass


def check_amount(amount: Decimal, *, error=RegistrationError) -> None:
    """Raise `error` (field="amount") unless `amount` is a positive number of dollars and cents."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount != cents(amount):
        raise error(_("Enter an amount above 0, in dollars and cents."), field="amount")


# --- a registration's balance ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    amount: Decimal  # what the registration costs
    credit_used: Decimal  # account credit taken off it when it was made
    paid: Decimal  # payments received
    refunded: Decimal  # refunds given back
    credited_back: Decimal  # credit granted out of its money (an overpayment, a cancellation or run-out hold)
    class_credited: Decimal = ZERO  # credit granted for its classes the studio canceled (it stays paid in full)

    @property
    def received(self) -> Decimal:
        return self.paid - self.refunded

    @property
    def covered(self) -> Decimal:
        return self.received + self.credit_used - self.credited_back

    @property
    def due(self) -> Decimal:
        return max(ZERO, self.amount - self.covered)

    @property
    def over(self) -> Decimal:
        return max(ZERO, self.covered - self.amount)

    @property
    def is_paid_in_full(self) -> bool:
        return self.covered >= self.amount

    def after_payment(self, amount: Decimal) -> "Balance":
        """This balance once a payment of `amount` is received."""
        return replace(self, paid=self.paid + amount)

    @property
    def is_part_paid(self) -> bool:
        """Something received or credited, something still due: "received $100, $20 still due"."""
        return ZERO < self.covered < self.amount

    @property
    def returnable(self) -> Decimal:
        """What may still go back to the student (a refund, or credit when it is canceled): what covers it less the
        credit already granted for its canceled classes, so no class is paid back twice."""
        return max(ZERO, self.covered - self.class_credited)

    @property
    def refundable(self) -> Decimal:
        """What a refund may give back: what is returnable less the credit it used (that comes back as credit)."""
        return max(ZERO, self.returnable - self.credit_used)


def _total(queryset: QuerySet) -> Subquery:
    """The sum of `amount` of `queryset`'s rows for the outer registration, 0 without any."""
    summed = queryset.filter(registration=OuterRef("pk")).order_by().values("registration").annotate(s=Sum("amount"))
    return Coalesce(Subquery(summed.values("s"), output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def with_balances(registrations: QuerySet[Registration]) -> QuerySet[Registration]:
    """`registrations` with what `balance_from` reads, in the same query (four subqueries)."""
    return registrations.annotate(
        ledger_paid=_total(Payment.objects.all()),
        ledger_refunded=_total(Refund.objects.all()),
        ledger_credited_back=_total(CreditEntry.objects.filter(kind=Kind.GRANTED, reason__in=_CREDITED_BACK)),
        ledger_class_credited=_total(CreditEntry.objects.filter(kind=Kind.GRANTED, reason=Reason.CLASS_CANCELED)),
    )


def balance_from(registration: Registration) -> Balance:
    """The balance of a registration read through `with_balances`."""
    return Balance(
        amount=registration.payment_amount,
        credit_used=registration.credit_applied,
        paid=registration.ledger_paid,
        refunded=registration.ledger_refunded,
        credited_back=registration.ledger_credited_back,
        class_credited=registration.ledger_class_credited,
    )


_BALANCE_FIELDS = (
    "payment_amount",
    "credit_applied",
    "ledger_paid",
    "ledger_refunded",
    "ledger_credited_back",
    "ledger_class_credited",
)


def _balance_of_row(row: dict) -> Balance:
    return Balance(
        amount=row["payment_amount"],
        credit_used=row["credit_applied"],
        paid=row["ledger_paid"],
        refunded=row["ledger_refunded"],
        credited_back=row["ledger_credited_back"],
        class_credited=row["ledger_class_credited"],
    )


def balance(registration: Registration) -> Balance:
    """What `registration` has received and still owes, in one query (the rows as the database has them now)."""
    return _balance_of_row(
        with_balances(Registration.objects.filter(pk=registration.pk)).values(*_BALANCE_FIELDS).get()
    )


def _due_in_sql():
    """`Balance.due` of a row read through `with_balances`, as an SQL expression: the same formula, for sums over
    many registrations in the database (test_ledger checks that the two agree)."""
    covered = F("ledger_paid") - F("ledger_refunded") + F("credit_applied") - F("ledger_credited_back")
    return Greatest(F("payment_amount") - covered, Value(ZERO), output_field=_MONEY)


def total_due(registrations: QuerySet[Registration]) -> Decimal:
    """What `registrations` still owe together: the sum of each one's balance due, summed in the database (one query,
    one row back, however many registrations owe)."""
    return with_balances(registrations).aggregate(due=Coalesce(Sum(_due_in_sql()), Value(ZERO), output_field=_MONEY))[
        "due"
    ]


def amount_due(registration: Registration) -> Decimal:
    """What is left to pay: the registration's amount less what covers it (a pending registration's instructions)."""
    if registration.pk is None:
        return registration.payment_amount - registration.credit_applied
    return balance(registration).due


# --- payments and refunds -----------------------------------------------------------------------------------------------


def record_payment(
    *,
    registration: Registration,
    amount: Decimal,
    method: str,
    recorded_by: AbstractBaseUser | None,
    received_at: datetime.datetime | None = None,
    transaction_id: str = "",
    note: str = "",
    source: str = Payment.Source.HAND,
    statement_import: StatementImport | None = None,
) -> tuple[Payment, Balance]:
    """Write a Payment of `registration` (the caller holds its lock) and grant what goes past its amount as account
    credit (an overpayment). Returns the payment and the balance after it. Raises DuplicatePayment when the
    transaction id was recorded already for this method (checked by the unique key, so two imports at once record it
    once), RegistrationError for an amount that is not a positive number of cents."""
    check_amount(amount)
    transaction_id = str(transaction_id).strip()[: Payment._meta.get_field("transaction_id").max_length]
    payment = Payment(
        registration=registration,
        amount=amount,
        method=method,
        received_at=received_at or timezone.now(),
        transaction_id=transaction_id,
        note=str(note).strip()[: Payment._meta.get_field("note").max_length],
        source=source,
        statement_import=statement_import,
        recorded_by=recorded_by,
    )
    if transaction_id and Payment.objects.filter(method=method, transaction_id=transaction_id).exists():
        raise DuplicatePayment()
    try:
        # A savepoint: another admin's import may have committed the same transaction since the check.
        with transaction.atomic():
            payment.save()
    except IntegrityError:
        if transaction_id and Payment.objects.filter(method=method, transaction_id=transaction_id).exists():
            raise DuplicatePayment() from None
        raise
    after = balance(registration)
    if after.over > 0:
        grant_credit(
            student=registration.student,
            amount=after.over,
            reason=Reason.OVERPAYMENT,
            registration=registration,
            note=str(_("Paid %(over)s more than %(reference)s costs."))
            % {"over": money(after.over), "reference": registration.reference},
            recorded_by=recorded_by,
        )
        after = balance(registration)
    return payment, after


def _net_by_method(registration: Registration) -> dict[str, Decimal]:
    """What each method brought in for `registration`, less what was refunded by it."""
    net: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for method, total in registration.payments.values("method").annotate(s=Sum("amount")).values_list("method", "s"):
        net[method] += total
    for method, total in registration.refunds.values("method").annotate(s=Sum("amount")).values_list("method", "s"):
        net[method] -= total
    return net


def _write_refunds(
    registration: Registration, *, amount: Decimal, reason: str, recorded_by, method: str = "", transaction_id: str = ""
) -> list[Refund]:
    """Refund `amount` by `method`, or split over the methods it was paid with (the largest first)."""
    reason = str(reason).strip()[: Refund._meta.get_field("reason").max_length]
    if method:
        parts = [(method, amount)]
    else:
        parts, left = [], amount
        for paid_with, net in sorted(_net_by_method(registration).items(), key=lambda item: (-item[1], item[0])):
            take = min(net, left)
            if take > 0:
                parts.append((paid_with, take))
                left -= take
        if left > 0:  # nothing left by method (should not happen): the method the student chose
            parts.append((registration.payment_method or Registration.PaymentMethod.VENMO, left))
    refunds = [
        Refund(
            registration=registration,
            amount=part,
            method=paid_with,
            reason=reason,
            transaction_id=transaction_id,
            recorded_by=recorded_by,
        )
        for paid_with, part in parts
    ]
    Refund.objects.bulk_create(refunds)
    return refunds


def record_refund(
    *,
    registration: Registration,
    amount: Decimal,
    method: str,
    reason: str,
    recorded_by: AbstractBaseUser | None,
    transaction_id: str = "",
) -> Refund:
    """Record money given back for `registration` (or a payment recorded by mistake, corrected), at most what it
    received that still covers it. Its status does not change. Raises RefundRefused (field="amount" or "reason")."""
    if method not in Registration.PaymentMethod.values:
        raise RefundRefused(_("Choose Venmo or Zelle."), field="method")
    if not str(reason).strip():
        raise RefundRefused(_("Say why the money is given back."), field="reason")
    check_amount(amount, error=RefundRefused)
    with transaction.atomic():
        # The registration alone (no slot: nothing here takes or frees a seat); two refunds at once wait in turn.
        registration = Registration.objects.select_for_update(of=("self",)).get(pk=registration.pk)
        refundable = balance(registration).refundable
        if amount > refundable:
            raise RefundRefused(
                _(
                    "At most %(refundable)s of %(reference)s can be refunded (what it received and still covers it, "
                    "less credit granted for its canceled classes)."
                )
                % {"refundable": money(refundable), "reference": registration.reference},
                field="amount",
            )
        (refund,) = _write_refunds(
            registration,
            amount=amount,
            method=method,
            reason=reason,
            recorded_by=recorded_by,
            transaction_id=str(transaction_id).strip()[:100],
        )
    return refund


class Settle:
    """What happens to the money of a registration that is canceled."""

    REFUND = "refund"  # give back the money received (credit used comes back as credit)
    CREDIT = "credit"  # everything that covered it becomes account credit
    KEEP = "keep"  # the studio keeps it
    CHOICES = [
        (REFUND, _("Refund what was paid")),
        (CREDIT, _("Give it as account credit")),
        (KEEP, _("Keep it: no refund, no credit")),
    ]


@dataclass(frozen=True)
class Settlement:
    refunded: Decimal = ZERO
    credited: Decimal = ZERO


def settle_cancellation(
    *, registration: Registration, settle: str, recorded_by: AbstractBaseUser | None, reason: str = ""
) -> Settlement:
    """The money of a registration being canceled (the caller holds its lock): refunded (credit it used comes back
    as credit), granted as credit, or kept: what covers it less what its canceled classes were credited already
    (Balance.returnable). Nothing to settle when that is nothing. Raises RegistrationError (field="settle") when
    something is and `settle` is none of Settle's choices."""
    now_balance = balance(registration)
    returnable = now_balance.returnable  # less what its canceled classes were credited already
    if returnable <= 0:
        return Settlement()
    if settle not in (Settle.REFUND, Settle.CREDIT, Settle.KEEP):
        raise RegistrationError(
            _("%(reference)s has %(amount)s paid: choose to refund it, give it as credit or keep it.")
            % {"reference": registration.reference, "amount": money(returnable)},
            field="settle",
        )
    if settle == Settle.KEEP:
        return Settlement()
    refunded = ZERO
    if settle == Settle.REFUND:
        refunded = now_balance.refundable
        if refunded > 0:
            _write_refunds(
                registration,
                amount=refunded,
                reason=reason or str(_("Registration canceled.")),
                recorded_by=recorded_by,
            )
    credited = returnable - refunded
    if credited > 0:
        grant_credit(
            student=registration.student,
            amount=credited,
            reason=Reason.REGISTRATION_CANCELED,
            registration=registration,
            note=str(_("%(reference)s canceled.")) % {"reference": registration.reference},
            recorded_by=recorded_by,
        )
    return Settlement(refunded=refunded, credited=credited)


def credit_run_out_hold(*, registration: Registration) -> CreditEntry | None:
    """What covers a pending registration whose hold ran out (part payments, credit it used) becomes the student's
    account credit, so an expired registration keeps no money (the caller holds its slot's lock); None when nothing
    covers it."""
    return grant_credit(
        student=registration.student,
        amount=balance(registration).returnable,
        reason=Reason.HOLD_EXPIRED,
        registration=registration,
        note=str(_("The payment hold of %(reference)s ran out.")) % {"reference": registration.reference},
    )


def forget_payer_details(*, student: Student) -> int:
    """Forget what the studio wrote down of a student's payers when the student is erased on request: the notes of
    their payments and registrations (a statement's note holds the payer's name and message), those notes where their
    history rows repeat them, and the payer's name and message of the statement lines about them (matched to or
    offered for their registrations, or recorded as their payments). Amounts, methods, dates and transaction ids
    stay, so no total changes. Returns how many payments had a note."""
    registrations = Registration.objects.filter(student=student)
    payments = Payment.objects.filter(registration__student=student)
    notes = {*payments.exclude(note="").values_list("note", flat=True)}
    notes |= {*registrations.exclude(transaction_note="").values_list("transaction_note", flat=True)}
    for event in RegistrationEvent.objects.filter(registration__student=student).exclude(reason=""):
        reason = event.reason
        for note in sorted(notes, key=len, reverse=True):
            reason = reason.replace(note, REDACTED)
        if reason != event.reason:
            event.reason = reason
            event.save(update_fields=["reason"])
    registration_ids = set(registrations.values_list("pk", flat=True))
    transaction_ids = set(payments.exclude(transaction_id="").values_list("transaction_id", flat=True))
    for statement_import in StatementImport.objects.only("pk", "lines").order_by("pk"):
        lines, changed = statement_import.lines, False
        for line in lines:
            if (
                line.get("registration_id") in registration_ids
                or registration_ids.intersection(line.get("candidate_ids") or [])
                or (line.get("transaction_id") and line.get("transaction_id") in transaction_ids)
            ) and (line.get("name") != REDACTED or line.get("note")):
                line["name"], line["note"], changed = REDACTED, "", True
        if changed:
            statement_import.save(update_fields=["lines"])
    registrations.exclude(transaction_note="").update(transaction_note="")
    return payments.exclude(note="").update(note="")


# --- account credit -----------------------------------------------------------------------------------------------------


def live_grants(now: datetime.datetime) -> Q:
    """Grants still usable at `now`: without an expiry, or expiring later."""
    return Q(kind=Kind.GRANTED) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def _drawn() -> Coalesce:
    return Coalesce(Sum("draws__amount"), Value(ZERO), output_field=_MONEY)


def credit_balance(student: Student | None, *, now: datetime.datetime | None = None) -> Decimal:
    """The student's usable account credit at `now`: live grants less what was drawn from them (one query)."""
    if student is None or student.pk is None:
        return ZERO
    now = now or timezone.now()
    grants = CreditEntry.objects.filter(live_grants(now), student=student).annotate(drawn=_drawn())
    return sum((grant.amount - grant.drawn for grant in grants), ZERO)


def credit_history(student: Student) -> list[CreditEntry]:
    """Every credit entry of the student, newest first, with the registration it is about."""
    return list(
        CreditEntry.objects.filter(student=student)
        .select_related("registration__course", "grant")
        .order_by("-created_at", "-pk")
    )


def grant_credit(
    *,
    student: Student,
    amount: Decimal,
    reason: str,
    registration: Registration | None = None,
    class_date: datetime.date | None = None,
    note: str = "",
    recorded_by: AbstractBaseUser | None = None,
    now: datetime.datetime | None = None,
) -> CreditEntry | None:
    """Grant `amount` (rounded to the cent) of account credit, expiring after credit_expiry_days (0: never);
    None when it rounds to nothing."""
    amount = cents(amount)
    if amount <= 0:
        return None
    now = now or timezone.now()
    days = studio_settings().credit_expiry_days
    entry = CreditEntry(
        student=student,
        kind=Kind.GRANTED,
        reason=reason,
        amount=amount,
        registration=registration,
        class_date=class_date,
        expires_at=now + datetime.timedelta(days=days) if days else None,
        note=str(note)[: CreditEntry._meta.get_field("note").max_length],
        recorded_by=recorded_by,
    )
    entry.save()
    return entry


@dataclass(frozen=True)
class Available:
    """What is left of one grant."""

    grant: CreditEntry
    left: Decimal


def lock_credit(*, student: Student, now: datetime.datetime) -> list[Available]:
    """Lock the student's credit (their grants usable at `now`, live_grants, in pk order) and return what is left
    of them, the soonest to expire first. Two registrations of one student at once wait here in turn: credit is never spent twice."""
    live = list(CreditEntry.objects.select_for_update().filter(live_grants(now), student=student).order_by("pk"))
    if not live:
        return []
    drawn = dict(
        CreditEntry.objects.filter(grant__in=live)
        .order_by()
        .values("grant")
        .annotate(s=Sum("amount"))
        .values_list("grant", "s")
    )
    available = [Available(grant=grant, left=grant.amount - drawn.get(grant.pk, ZERO)) for grant in live]
    available = [item for item in available if item.left > 0]
    # The credit that runs out first is used first; credit that never expires last.
    return sorted(
        available, key=lambda item: (item.grant.expires_at is None, item.grant.expires_at or now, item.grant.pk)
    )


def spend_credit(*, registration: Registration, available: list[Available], amount: Decimal) -> list[CreditEntry]:
    """Write what `registration` uses of the credit `lock_credit` returned (the lock still held): `amount`, drawn
    from the grants in their order."""
    entries, left = [], amount
    for item in available:
        if left <= 0:
            break
        take = min(item.left, left)
        entries.append(
            CreditEntry(
                student_id=registration.student_id,
                kind=Kind.USED,
                reason=Reason.REGISTRATION,
                amount=take,
                registration=registration,
                grant=item.grant,
            )
        )
        left -= take
    if left > 0:
        raise RuntimeError("spend_credit() was asked for more credit than lock_credit() found.")
    CreditEntry.objects.bulk_create(entries)
    return entries


def expire_credit(*, now: datetime.datetime | None = None) -> int:
    """Write the expiry of what is left of each grant past its expiry (the nightly sweep; balances never wait for
    it); returns how many grants expired. Each grant in its own transaction, locked: a registration using it waits."""
    now = now or timezone.now()
    due = (
        CreditEntry.objects.filter(kind=Kind.GRANTED, expires_at__lte=now)
        .annotate(drawn=_drawn())
        .filter(drawn__lt=F("amount"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    expired = 0
    for pk in list(due):
        with transaction.atomic():
            grant = CreditEntry.objects.select_for_update().get(pk=pk)
            left = grant.amount - (grant.draws.aggregate(s=Sum("amount"))["s"] or ZERO)
            if left <= 0:
                continue
            CreditEntry.objects.create(
                student_id=grant.student_id, kind=Kind.EXPIRED, reason=Reason.EXPIRY, amount=left, grant=grant
            )
            expired += 1
    return expired


# --- the studio's figures -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRevenue:
    month: datetime.date  # its first day
    payments: Decimal
    refunds: Decimal

    @property
    def net(self) -> Decimal:
        return self.payments - self.refunds


def _first_of_month(day: datetime.date, months_back: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months_back
    return datetime.date(index // 12, index % 12 + 1, 1)


def revenue_by_month(*, months: int = 6, now: datetime.datetime | None = None) -> list[MonthRevenue]:
    """Payments less refunds per month of the studio's calendar, the last `months` months, newest first (2 queries)."""
    now = now or timezone.now()
    zone = timezone.get_default_timezone()
    first = _first_of_month(timezone.localtime(now, zone).date(), months - 1)
    since = datetime.datetime.combine(first, datetime.time.min, tzinfo=zone)

    def per_month(queryset, field: str) -> dict[datetime.date, Decimal]:
        rows = (
            queryset.filter(**{f"{field}__gte": since})
            .annotate(month=TruncMonth(field, tzinfo=zone))
            .order_by()
            .values("month")
            .annotate(s=Sum("amount"))
            .values_list("month", "s")
        )
        return {(month.date() if isinstance(month, datetime.datetime) else month): total for month, total in rows}

    paid = per_month(Payment.objects.all(), "received_at")
    refunded = per_month(Refund.objects.all(), "created_at")
    months_shown = [_first_of_month(first, -n) for n in range(months)]
    return [
        MonthRevenue(month=month, payments=paid.get(month, ZERO), refunds=refunded.get(month, ZERO))
        for month in reversed(months_shown)
    ]


@dataclass(frozen=True)
class LedgerRow:
    at: datetime.datetime
    kind: str
    registration: Registration
    method: str
    transaction_id: str
    amount: Decimal  # negative for a refund


def ledger_rows() -> list[LedgerRow]:
    """Every payment and refund, oldest first, for the accountant's CSV (2 queries)."""
    related = ("registration__student", "registration__course")
    rows = [
        LedgerRow(
            at=payment.received_at,
            kind=str(_("Payment")),
            registration=payment.registration,
            method=payment.get_method_display(),
            transaction_id=payment.transaction_id,
            amount=payment.amount,
        )
        for payment in Payment.objects.select_related(*related)
    ]
    rows += [
        LedgerRow(
            at=refund.created_at,
            kind=str(_("Refund")),
            registration=refund.registration,
            method=refund.get_method_display(),
            transaction_id=refund.transaction_id,
            amount=-refund.amount,
        )
        for refund in Refund.objects.select_related(*related)
    ]
    return sorted(rows, key=lambda row: row.at)


# --- a class the studio cancels -----------------------------------------------------------------------------------------


def class_share(registration: Registration, *, class_dates: list[datetime.date], is_dated: bool) -> Decimal:
    """What one class of `registration` cost: a drop-in (or a dated class) its price, a full package its price divided
    by the classes it covers of `class_dates` (the classes it was sold for; a late joiner's from their first class:
    registrations/pricing.py), to the cent."""
    if registration.class_date is not None or is_dated:
        return registration.payment_amount
    covered = [
        day
        for day in class_dates
        if covers_class(
            pricing_type=registration.pricing_type,
            class_date=None,
            first_class_date=registration.first_class_date,
            day=day,
            is_dated=is_dated,
        )
    ]
    return cents(registration.payment_amount / len(covered)) if covered else ZERO


def credit_canceled_class(
    *, slot: CourseSlot, class_date: datetime.date, excused: frozenset[int] = frozenset()
) -> dict[int, CreditEntry]:
    """Grant every paid registration for `slot`'s class on `class_date` (which the studio cancels) its share of the
    price as account credit, once per registration and class (a unique key), but those in `excused` (registration
    ids whose student had already given that class up: attendance's excused absences, with their make-up); returns
    the grants by student id."""
    is_dated = slot.course.is_dated
    paid = (
        Registration.objects.filter(
            slot=slot, payment_status=Registration.PaymentStatus.COMPLETED, payment_amount__gt=0
        )
        .filter(Q(class_date__isnull=True) | Q(class_date=class_date))
        .exclude(credit_entries__reason=Reason.CLASS_CANCELED, credit_entries__class_date=class_date)
        .select_related("student")
        .order_by("pk")
    )
    # Each registration was sold for the slot's classes as they stood when it was made: its scheduled dates but the
    # closures known then. A closure since cancels a class it paid for, so every share divides by the same number
    # and the shares add up to the price at most (dividing by the classes left would grow with each closure).
    scheduled = slot.scheduled_dates()
    closed_at = dict(Closure.objects.filter(date__in=scheduled).values_list("date", "created_at"))
    granted: dict[int, CreditEntry] = {}
    for registration in paid:
        if registration.pk in excused:
            continue
        if not covers_class(
            pricing_type=registration.pricing_type,
            class_date=registration.class_date,
            first_class_date=registration.first_class_date,
            day=class_date,
            is_dated=is_dated,
        ):
            continue
        sold_for = [day for day in scheduled if day not in closed_at or closed_at[day] > registration.created_at]
        share = class_share(registration, class_dates=sorted({*sold_for, class_date}), is_dated=is_dated)
        entry = grant_credit(
            student=registration.student,
            amount=share,
            reason=Reason.CLASS_CANCELED,
            registration=registration,
            class_date=class_date,
            note=str(_("%(course)s on %(day)s canceled by the studio."))
            % {"course": slot.course.name, "day": plain_date(class_date)},
        )
        if entry is not None:
            granted[registration.student_id] = entry
    return granted
