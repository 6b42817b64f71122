"""Registering (README "Registrations and seats", "Payments"): a student online, the studio for a student, a waitlist
offer taken up; and the student's "I've sent the payment".

Every refusal is a RegistrationError (registrations/errors.py). Seat-limited writes lock the slot row, count, then
write, in one transaction (registrations/seats.py); emails go out after the commit. What happens to a registration
afterwards (confirm, cancel, re-open, expire) is in registrations/transitions.py.
"""

import datetime
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.formatting import money, schedule_text
from courses.models import Course, CoursePricing, CourseSlot
from courses.selectors import studio_today, upcoming_class_dates
from courses.services import seats_changed
from registrations import ledger, pricing, seats
from registrations.errors import AlreadyRegistered, InvalidChoice, RegistrationError, SlotFull
from registrations.models import CreditEntry, Registration, RegistrationEvent
from registrations.payments import payment_instructions
from registrations.signals import registration_ended
from students import services as student_services
from students.models import Student
from students.services import StudentDetails
from studio.config import StudioSettings, studio_settings
from studio.emails import queue_email, send_email

PaymentStatus = Registration.PaymentStatus
REASON_MAX_LENGTH = RegistrationEvent._meta.get_field("reason").max_length


class _Duplicate(Exception):
    """Raised inside the transaction so that it rolls back before the "already registered" email is queued."""


# --- shared by registering and the transitions --------------------------------------------------------------------------


def actor_label_for(user: AbstractBaseUser | None) -> str:
    """The name a history row shows for a staff user ("system" without one)."""
    if user is None:
        return "system"
    return (user.get_full_name() or user.get_username())[:60]


def validate_fields(instance) -> None:
    """`full_clean()` without its database round trips (about 25 for a new registration, a savepoint and a query per
    constraint): the related rows were read in this transaction, and the database enforces every constraint and
    unique key itself, so a violation still cannot be written (the callers handle IntegrityError)."""
    relations = [field.name for field in instance._meta.concrete_fields if field.is_relation]
    instance.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)


def record_event(
    registration: Registration,
    *,
    from_status: str,
    actor_label: str,
    reason: str = "",
    actor: AbstractBaseUser | None = None,
) -> RegistrationEvent:
    """Write one row of the registration's history: its status before and now, who, why."""
    event = RegistrationEvent(
        registration=registration,
        from_status=from_status,
        to_status=registration.payment_status,
        actor=actor,
        actor_label=actor_label,
        reason=str(reason)[:REASON_MAX_LENGTH],
    )
    validate_fields(event)
    event.save()
    return event


def expire_hold(registration: Registration) -> CreditEntry | None:
    """A pending registration whose hold ran out becomes expired, with its history row, and what it had received
    becomes account credit (ledger.credit_run_out_hold; returned, None without any). The caller holds its slot's
    lock; it held no seat already, so the seats do not change."""
    registration.payment_status = PaymentStatus.EXPIRED
    registration.save(update_fields=["payment_status", "updated_at"])
    credited = ledger.credit_run_out_hold(registration=registration)
    reason = _("The payment hold ran out.")
    if credited is not None:
        reason = _("The payment hold ran out; %(amount)s it had received is now account credit.") % {
            "amount": money(credited.amount)
        }
    record_event(registration, from_status=PaymentStatus.PENDING, actor_label="system", reason=reason)
    registration_ended.send(sender=Registration, registration=registration)
    return credited


def conflicting_registration(
    *, student: Student, slot: CourseSlot, class_date: datetime.date | None
) -> Registration | None:
    """The student's active registration this one would duplicate: a full package blocks every date of the slot."""
    active = Registration.objects.filter(student=student, slot=slot, payment_status__in=Registration.ACTIVE_STATUSES)
    if class_date is not None:
        active = active.filter(Q(class_date__isnull=True) | Q(class_date=class_date))
    return active.order_by("created_at", "pk").first()


def _refuse_duplicate(
    *, student: Student, slot: CourseSlot, class_date: datetime.date | None, now: datetime.datetime
) -> None:
    """Raise AlreadyRegistered when the student holds this seat already; a hold that ran out is expired first."""
    active = Registration.objects.filter(
        student=student, slot=slot, payment_status__in=Registration.ACTIVE_STATUSES
    ).order_by("created_at", "pk")
    for registration in active:  # one query: a student has a handful of registrations in a slot at most
        if seats.has_hold_run_out(registration, now=now):
            expire_hold(registration)
        elif class_date is None or registration.class_date in (None, class_date):
            raise AlreadyRegistered()


def _check_class_date(
    *, course: Course, slot: CourseSlot, pricing_type: str, class_date: datetime.date | None, today: datetime.date
) -> datetime.date | None:
    """The class date to store: a drop-in on a series names one future class date; everything else stores None."""
    if pricing_type == CoursePricing.PricingType.FULL_PACKAGE:
        if class_date is not None:
            raise InvalidChoice(_("A full package covers every class; do not choose a date."), field="class_date")
        return None
    if class_date is None:
        if course.is_dated:
            return None
        raise InvalidChoice(_("Choose the class you want to drop in on."), field="class_date")
    if class_date not in slot.class_dates() or class_date < today:
        raise InvalidChoice(_("Choose one of the upcoming class dates."), field="class_date")
    # A dated class has one date: its drop-ins take that seat without naming it.
    return None if course.is_dated else class_date


def _check_payment_method(payment_method: str) -> None:
    if payment_method not in Registration.PaymentMethod.values:
        raise InvalidChoice(_("Choose Venmo or Zelle."), field="payment_method")


# --- emails ---------------------------------------------------------------------------------------------------------------


def registration_email_context(registration: Registration, **extra) -> dict:
    """What every email about a registration shows: the class, when it meets, the link to its page."""
    return {
        "registration": registration,
        "student": registration.student,
        "course": registration.course,
        "slot": registration.slot,
        "schedule": schedule_text(registration.slot, registration.class_date, registration.first_class_date),
        "registration_url": settings.SITE_URL + registration.get_absolute_url(),
        **extra,
    }


def _payment_email_context(registration: Registration, *, due: Decimal | None = None) -> dict:
    now = timezone.now()
    return registration_email_context(
        registration,
        instructions=payment_instructions(registration, due=due),
        # With payment_hold_hours = 0 a pending registration holds nothing, so the email promises nothing.
        hold_until=registration.payment_due_at if seats.is_holding_seat(registration, now=now) else None,
    )


def _for_email(registration: Registration) -> Registration:
    """The registration as an email rendered after the commit shows it: read again, with what it names."""
    return Registration.objects.select_related("student", "course", "slot").get(pk=registration.pk)


def registration_received_context(registration: Registration) -> dict:
    """The "registration received" email's context, made when it is rendered (registrations/apps.py registers it):
    what is due is the ledger's balance then (the amount less the credit it used and anything received since)."""
    return _payment_email_context(_for_email(registration))


def registration_confirmed_context(registration: Registration) -> dict:
    """The "you're in" email's context, made when it is rendered (registrations/apps.py registers it)."""
    return registration_email_context(_for_email(registration))


def send_registration_received(registration: Registration, *, again: str = "", key_is_new: bool = False) -> None:
    """Queue the "registration received" email (amount, reference, how to pay, link); at most once per registration,
    and once more each time it is re-opened (`again`: what tells that time apart, e.g. its history row).

    Recorded now, rendered after the commit (studio.emails.queue_email); `key_is_new`: the registration was created
    in this transaction, so its key cannot have been used."""
    queue_email(
        kind="registration_received",
        to=registration.student.email,
        about=registration,
        dedupe_key=f"registration_received:{registration.pk}" + (f":{again}" if again else ""),
        key_is_new=key_is_new,
    )


def send_registration_confirmed(registration: Registration, *, again: str = "", key_is_new: bool = False) -> None:
    """Queue the "you're in" email of a registration with nothing to pay; at most once per registration, and once
    more each time it is re-opened. Rendered after the commit, like send_registration_received."""
    queue_email(
        kind="registration_confirmed",
        to=registration.student.email,
        about=registration,
        dedupe_key=f"registration_confirmed:{registration.pk}" + (f":{again}" if again else ""),
        key_is_new=key_is_new,
    )


def send_already_registered(registration: Registration) -> None:
    """Queue the "already registered" email with the link to the existing registration; at most one an hour."""
    # The hourly key keeps a bot that resubmits someone's address from flooding their inbox.
    send_email(
        kind="already_registered",
        to=registration.student.email,
        about=registration,
        context=_payment_email_context(registration),
        dedupe_key=f"already_registered:{registration.pk}:{timezone.now():%Y-%m-%dT%H}",
    )


# --- registering -------------------------------------------------------------------------------------------------------


def quote_for(*, slot: CourseSlot, pricing_type: str, now: datetime.datetime) -> pricing.Quote:
    """What a registration of `pricing_type` in `slot` costs and covers now (from the slot's price rows, prefetched by
    the course page, else one query). Raises InvalidChoice when the slot has no such price, or sells no full package
    any more (its last class has started)."""
    price = next((price for price in slot.prices.all() if price.pricing_type == pricing_type), None)
    if price is None:
        raise InvalidChoice(_("This option is not offered for this time slot."), field="pricing_type")
    quote = pricing.quote(slot=slot, pricing_type=pricing_type, price=price.price, now=now)
    if quote is None:
        raise InvalidChoice(
            _("The last class of this series has started: the full package is no longer sold."), field="pricing_type"
        )
    return quote


def create_registration(
    *,
    student: Student,
    slot: CourseSlot,
    pricing_type: str,
    payment_method: str,
    class_date: datetime.date | None = None,
    amount: Decimal | None = None,
    first_class_date: datetime.date | None = None,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "student",
    reason: str = "",
    admin_override: bool = False,
    duplicates_checked: bool = False,
    use_credit: bool = False,
    client_key: str = "",
) -> Registration:
    """Write a registration in a slot the caller has locked (seats.lock_slot) and seat-checked in its transaction.
    `client_key`: the client that registered online (studio.clients.client_key), for the cap per client.

    The amount and the first class come from `quote_for` unless `amount` is given. With `use_credit`, the student's
    account credit is locked and taken off the amount (registrations/ledger.py). Something left to pay: pending, the
    seat held until seats.hold_deadline, the "registration received" email with the payment instructions. Nothing to
    pay (a free class, or credit covers it): confirmed at once, no payment method and no hold, the "you're in" email.
    Emails go after the commit; the history row is written here. Raises AlreadyRegistered when the student already
    holds this seat (`duplicates_checked`: the caller checked under the same lock already), InvalidChoice for a
    missing price or method.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("create_registration() must run inside the caller's transaction (lock, count, write).")
    now = timezone.now()
    if not duplicates_checked:
        _refuse_duplicate(student=student, slot=slot, class_date=class_date, now=now)
    if amount is None:
        quote = quote_for(slot=slot, pricing_type=pricing_type, now=now)
        amount, first_class_date = quote.amount, quote.first_class_date
    # Under the slot lock, the student's credit is locked too: two registrations at once never spend it twice.
    credit = ledger.lock_credit(student=student, now=now) if use_credit and amount > 0 and student.pk else []
    credit_used = min(amount, sum((item.left for item in credit), Decimal("0")))
    free = amount == 0
    nothing_to_pay = amount - credit_used == 0
    if not nothing_to_pay:
        _check_payment_method(payment_method)
    registration = Registration(
        student=student,
        course=slot.course,
        slot=slot,
        pricing_type=pricing_type,
        class_date=class_date,
        first_class_date=first_class_date,
        payment_status=PaymentStatus.COMPLETED if nothing_to_pay else PaymentStatus.PENDING,
        payment_amount=amount,
        credit_applied=credit_used,
        payment_method="" if nothing_to_pay else payment_method,
        payment_due_at=None if nothing_to_pay else seats.hold_deadline(now=now),
        confirmed_at=now if nothing_to_pay else None,
        admin_override=admin_override,
        client_key=client_key,
    )
    try:
        validate_fields(registration)
    except ValidationError as error:
        raise RegistrationError.from_validation_error(error) from None
    if duplicates_checked:
        # Checked under this slot lock a moment ago: no request can have written the same seat since.
        registration.save()
    else:
        try:
            # A savepoint: a double submit that committed first must not break the caller's transaction.
            with transaction.atomic():
                registration.save()
        except IntegrityError:
            # Double submit: the other request committed the same registration after our check.
            if conflicting_registration(student=student, slot=slot, class_date=class_date) is not None:
                raise AlreadyRegistered() from None
            raise
    if credit_used:
        ledger.spend_credit(registration=registration, available=credit, amount=credit_used)
    notes = [str(reason)]
    if free:
        notes.append(str(_("Free class: confirmed at once.")))
    elif nothing_to_pay:
        notes.append(
            str(_("Paid with %(credit)s of account credit: confirmed at once.") % {"credit": money(credit_used)})
        )
    elif credit_used:
        notes.append(str(_("%(credit)s of account credit used.") % {"credit": money(credit_used)}))
    reason = " ".join(part for part in notes if part)
    record_event(registration, from_status="", actor=actor, actor_label=actor_label, reason=reason)
    # The email's row is written here, with the registration; its text after the commit (studio.emails.queue_email).
    if nothing_to_pay:
        send_registration_confirmed(registration, key_is_new=True)
    else:
        send_registration_received(registration, key_is_new=True)
    seats_changed(slot.course_id)
    return registration


def register_student(
    *,
    course: Course,
    slot: CourseSlot,
    pricing_type: str,
    payment_method: str,
    details: StudentDetails,
    class_date: datetime.date | None = None,
    verified_student: Student | None = None,
    client_key: str = "",
) -> Registration:
    """Register a student for a seat in `slot` (pending, holding the seat for payment_hold_hours).

    A signed-in student's account credit is used (`verified_student`); a registration made by typing an email
    address uses none: whoever types it must not learn of someone's credit, nor spend it (README "Payments").
    `client_key`: the client registering (studio.clients.client_key), which may hold max_unpaid_holds_per_client
    unpaid seats at once. Raises RegistrationClosed, NotEligible, InvalidChoice, SlotFull, AlreadyRegistered (and emails
    the link to the existing registration), RegistrationLimitReached, ClientHoldLimitReached, or
    RegistrationError(field=...) for bad details.
    """
    studio = studio_settings()
    try:
        details = student_services.clean_details(details)
    except ValidationError as error:
        raise RegistrationError.from_validation_error(error) from None
    if verified_student is not None and verified_student.email != details.email:
        raise RegistrationError(_("Use the email address you signed in with."), field="email")
    known = verified_student or student_services.find_student(details.email)
    # Checked before anything is written; self-registration never creates a crew member.
    seats.check_may_register(student=known, course=course, studio=studio)
    today = studio_today()
    if not course.is_active or course.end_date < today:
        raise InvalidChoice(_("This course is no longer open for registration."))
    if slot is None or slot.course_id != course.pk:
        raise InvalidChoice(_("Choose one of this course's time slots."), field="slot")
    if not upcoming_class_dates(slot, today=today):
        raise InvalidChoice(_("This time slot has no classes left."), field="slot")
    quote = quote_for(slot=slot, pricing_type=pricing_type, now=timezone.now())
    if not quote.is_free and verified_student is None:
        # A signed-in student's credit may cover it all: create_registration checks the method after using it.
        _check_payment_method(payment_method)
    class_date = _check_class_date(
        course=course, slot=slot, pricing_type=pricing_type, class_date=class_date, today=today
    )

    attempt = partial(
        _register_in_transaction,
        slot=slot,
        pricing_type=pricing_type,
        payment_method=payment_method,
        details=details,
        class_date=class_date,
        verified_student=verified_student,
        quote=quote,
        client_key=client_key,
        studio=studio,
    )
    try:
        try:
            return attempt(known=known)
        except IntegrityError:
            # A request racing this one (a double submit) committed the same new student, or the same seat: this
            # transaction rolled back whole. Once more: it then finds that student and any registration they made.
            known = verified_student or student_services.find_student(details.email)
            if known is not None and conflicting_registration(student=known, slot=slot, class_date=class_date):
                raise _Duplicate() from None
            return attempt(known=known)
    except _Duplicate:
        # Rolled back: nothing was written. The facts go only to the mailbox owner.
        student = student_services.find_student(details.email)
        if student is not None:
            existing = conflicting_registration(student=student, slot=slot, class_date=class_date)
            if existing is not None:
                send_already_registered(existing)
        raise AlreadyRegistered() from None


def _walk_up_seats_left(slot: CourseSlot, *, class_date: datetime.date | None, now: datetime.datetime) -> int:
    """Seats a public registration may take (a module-level seam: the race tests wrap it)."""
    return seats.walk_up_seats_left(slot, class_date=class_date, now=now)


def _register_in_transaction(
    *,
    slot: CourseSlot,
    pricing_type: str,
    payment_method: str,
    details: StudentDetails,
    class_date: datetime.date | None,
    verified_student: Student | None,
    known: Student | None,
    quote: pricing.Quote,
    client_key: str,
    studio: StudioSettings,
) -> Registration:
    """register_student's writes: lock, count, write, in one transaction without savepoints (each costs two round
    trips); raises _Duplicate, and IntegrityError when a request racing this one committed the same new student."""
    # Without a savepoint a student is either created here or the transaction fails (IntegrityError).
    new_student = verified_student is None and known is None
    with transaction.atomic():
        # Lock before counting: two requests race for the last seat; the loser waits here and then sees it taken.
        # Before the student's row is written: a slot before its student (seats.lock_slot), in every path.
        slot = seats.lock_slot(slot)
        student = student_services.save_student(
            details=details, verified_student=verified_student, known=known, savepoint=False
        )
        now = timezone.now()
        if not new_student:  # a student created a moment ago has no registrations to repeat or count
            try:
                _refuse_duplicate(student=student, slot=slot, class_date=class_date, now=now)
            except AlreadyRegistered:
                raise _Duplicate() from None
            seats.check_registration_limit(student=student, now=now, studio=studio)
        # Under the slot lock too: a client filling a class with invented students is stopped at its cap.
        seats.check_client_holds(client_key=client_key, now=now, studio=studio)
        if _walk_up_seats_left(slot, class_date=class_date, now=now) <= 0:
            raise SlotFull()
        return create_registration(
            student=student,
            slot=slot,
            pricing_type=pricing_type,
            payment_method=payment_method,
            class_date=class_date,
            amount=quote.amount,
            first_class_date=quote.first_class_date,
            reason=_("Registered online."),
            duplicates_checked=True,
            use_credit=verified_student is not None,
            client_key=client_key,
        )


def admin_register_student(
    *,
    student: Student | None = None,
    new_student: StudentDetails | None = None,
    slot: CourseSlot,
    pricing_type: str,
    payment_method: str,
    actor: AbstractBaseUser | None,
    class_date: datetime.date | None = None,
    over_capacity: bool = False,
    amount: Decimal | None = None,
    reason: str = "",
    use_credit: bool = True,
) -> Registration:
    """An owner registers any student for any slot, past the crew-only rule and, with `over_capacity`, past the seats.

    The amount is the slot's price unless `amount` is given, which needs a reason; the student's account credit is
    taken off it unless `use_credit` is off. The override is recorded
    (admin_override and the history reason). Raises InvalidChoice (field=...) for a bad choice, RegistrationError
    (field="reason") for a custom amount without a reason, SlotFull when the slot is full and `over_capacity` is off,
    and AlreadyRegistered when the student already holds this seat.

    `new_student` instead of `student`: the student is added on the spot (students.services.create_student_by_admin,
    which raises ValidationError for bad details and EmailTaken for an address someone has), in the registration's
    transaction: if the registration is refused, the new student is not kept either.
    """
    if (student is None) == (new_student is None):
        raise ValueError("Give a student or a new student's details, not both.")
    if new_student is not None:
        with transaction.atomic():
            return admin_register_student(
                student=student_services.create_student_by_admin(details=new_student),
                slot=slot,
                pricing_type=pricing_type,
                payment_method=payment_method,
                actor=actor,
                class_date=class_date,
                over_capacity=over_capacity,
                amount=amount,
                reason=reason,
            )
    reason = str(reason).strip()
    if pricing_type not in CoursePricing.PricingType.values:
        raise InvalidChoice(field="pricing_type")
    course = slot.course
    price = CoursePricing.objects.filter(course_slot=slot, pricing_type=pricing_type).first()
    if amount is None and price is None:
        raise InvalidChoice(
            _("This time slot has no price of this type: enter an amount and a reason."), field="amount"
        )
    # The usual amount is what a student would pay now (a late joiner's price); once the last class has started the
    # owner may still record a full package, at its full price and for every class.
    quote = (
        pricing.quote(slot=slot, pricing_type=pricing_type, price=price.price, now=timezone.now()) if price else None
    )
    usual = quote.amount if quote else (price.price if price else None)
    first_class_date = quote.first_class_date if quote else None
    if amount is not None:
        if not amount.is_finite() or amount < 0:
            raise RegistrationError(_("Enter an amount of 0 or more."), field="amount")
        if amount != usual and not reason:
            raise RegistrationError(_("Say why this registration costs a different amount."), field="reason")
    if (usual if amount is None else amount) != 0 and not use_credit:
        _check_payment_method(payment_method)
    # Past dates are allowed: the owner may record a class that already happened.
    class_date = _check_class_date(
        course=course, slot=slot, pricing_type=pricing_type, class_date=class_date, today=datetime.date.min
    )
    overrides = []
    if not seats.is_eligible(student, course):
        overrides.append(str(_("Crew-only rule waived.")))
    if amount is not None and amount != usual:
        overrides.append(
            str(
                _("Amount %(amount)s instead of %(price)s.")
                % {"amount": amount, "price": "–" if usual is None else usual}
            )
        )
    with transaction.atomic():
        slot = seats.lock_slot(slot)
        if seats.seats_left(slot, class_date=class_date, now=timezone.now()) <= 0:
            if not over_capacity:
                raise SlotFull(
                    _("This time slot is full: tick “over capacity” to register the student anyway."),
                    field="over_capacity",
                )
            overrides.append(str(_("Registered over capacity.")))
        history = " ".join([str(_("Registered by the studio.")), *overrides, reason])
        return create_registration(
            student=student,
            slot=slot,
            pricing_type=pricing_type,
            payment_method=payment_method,
            class_date=class_date,
            amount=amount if amount is not None else usual,
            first_class_date=first_class_date,
            actor=actor,
            actor_label=actor_label_for(actor),
            reason=history.strip(),
            admin_override=bool(overrides),
            use_credit=use_credit,
        )


def report_payment(*, registration: Registration, method: str) -> Registration:
    """Record the student's "I've sent the payment", changing no status; RegistrationError unless pending."""
    _check_payment_method(method)
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if registration.payment_status != PaymentStatus.PENDING:
            raise RegistrationError(_("Only a registration waiting for payment can be reported as paid."))
        registration.payment_reported_at = timezone.now()
        registration.payment_reported_method = method
        registration.save(update_fields=["payment_reported_at", "payment_reported_method", "updated_at"])
    return registration
