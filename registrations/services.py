"""Writes of the registration journey (SPEC §3 "Registrations and seats", "Payments", "Students").

Every refusal is a RegistrationError whose str() is a translated message for the student. Seat-limited writes
lock the slot row, count, then write, in one transaction; emails go out after the commit.
"""

import datetime
import unicodedata
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Course, CoursePricing, CourseSlot
from courses.page_cache import bump_catalog_version
from studio.emails import send_email
from studio.config import studio_settings
from registrations import selectors
from registrations.models import Registration, RegistrationEvent
from students.models import Student, normalize_email

PaymentStatus = Registration.PaymentStatus
REASON_MAX_LENGTH = RegistrationEvent._meta.get_field("reason").max_length


class RegistrationError(Exception):
    """Base of every refusal; str(error) is a translated message for the student; `field`: a form field or None."""

    default_message = _("This registration could not be made.")

    def __init__(self, message=None, *, field: str | None = None):
        self.message = message if message is not None else self.default_message
        self.field = field
        super().__init__(self.message)

    def __str__(self):
        return str(self.message)


class RegistrationClosed(RegistrationError):
    default_message = _("Registration is closed at the moment.")


class NotEligible(RegistrationError):
    default_message = _("This class is for crew members only.")


class InvalidChoice(RegistrationError):
    default_message = _("Choose one of the options offered.")


class SlotFull(RegistrationError):
    default_message = _("This class is full. Join the waitlist and we will email you if a seat frees up.")


class AlreadyRegistered(RegistrationError):
    default_message = _("You are already registered for this class; we emailed you the link to it.")


class RegistrationLimitReached(RegistrationError):
    default_message = _("You already hold as many registrations as one student may. Pay or cancel one first.")


@dataclass(frozen=True)
class StudentDetails:
    email: str
    first_name: str
    last_name: str
    phone: str = ""
    instagram_handle: str = ""


PROFILE_FIELDS = ("first_name", "last_name", "phone", "instagram_handle")
# Zero-width characters pasted around an address (str.strip() already removes spaces and NBSP).
_INVISIBLE_EDGES = "\u200b\u200c\u200d\u2060\ufeff"


class _Duplicate(Exception):
    """Raised inside the transaction so that it rolls back before the "already registered" email is queued."""


def _clean_details(details: StudentDetails) -> StudentDetails:
    """Trimmed, validated details; raises RegistrationError(field=...) for a bad value (too long, control chars)."""
    values = {f.name: str(getattr(details, f.name) or "").strip() for f in fields(StudentDetails)}
    values["email"] = normalize_email(values["email"].strip(_INVISIBLE_EDGES))
    for name, value in values.items():
        # NUL breaks PostgreSQL; CR/LF and other controls have no place in a name or a phone number.
        if any(unicodedata.category(char) == "Cc" for char in value):
            raise RegistrationError(_("Remove the control characters from this field."), field=name)
    try:
        Student(**values).full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise _field_error(error) from None
    return StudentDetails(**values)


def _field_error(error: ValidationError) -> RegistrationError:
    for name, messages in error.message_dict.items():
        return RegistrationError(messages[0], field=None if name == NON_FIELD_ERRORS else name)
    return RegistrationError()


def _validate_fields(instance) -> None:
    """`full_clean()` without its database round trips (about 25 for a new registration, a savepoint and a query per
    constraint): the related rows were read in this transaction, and the database enforces every constraint and
    unique key itself, so a violation still cannot be written (the callers handle IntegrityError)."""
    relations = [field.name for field in instance._meta.concrete_fields if field.is_relation]
    instance.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)


def _with_profile_complete(student: Student) -> Student:
    student.profile_complete = student.has_complete_profile
    return student


def _save_student(
    *, details: StudentDetails, verified_student: Student | None, known: Student | None, savepoint: bool = True
) -> Student:
    """Update or create (general) the student; unverified details only fill blanks, verified ones overwrite.

    `known`: the student with this email as the caller read it a moment ago, None if there was none (a student
    created since then is found through the unique email below). `savepoint=False`: the caller starts its whole
    transaction again on IntegrityError (the same new address registering twice at once) instead."""
    if verified_student is not None:
        student = Student.objects.get(pk=verified_student.pk)
        overwrite = True
    else:
        student = known
        overwrite = False
    if student is None:
        new = _with_profile_complete(Student(**{f.name: getattr(details, f.name) for f in fields(details)}))
        try:
            _validate_fields(new)
        except ValidationError as error:
            raise _field_error(error) from None
        if not savepoint:
            new.save()
            return new
        try:
            # A savepoint: the same new address registering twice at once must not poison the transaction.
            with transaction.atomic():
                new.save()
            return new
        except IntegrityError:
            # Another request created this student a moment ago: use that row (and only fill its blanks).
            student = Student.objects.filter(email=details.email).first()
            if student is None:
                raise
    changed = []
    for name in PROFILE_FIELDS:
        value = getattr(details, name)
        if value and value != getattr(student, name) and (overwrite or not getattr(student, name)):
            setattr(student, name, value)
            changed.append(name)
    complete = student.profile_complete
    if _with_profile_complete(student).profile_complete != complete:
        changed.append("profile_complete")
    if changed:
        student.save(update_fields=[*changed, "updated_at"])
    return student


def _record_event(
    registration: Registration,
    *,
    from_status: str,
    to_status: str,
    actor_label: str,
    reason: str = "",
    actor: User | None = None,
) -> RegistrationEvent:
    event = RegistrationEvent(
        registration=registration,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_label=actor_label,
        reason=str(reason)[:REASON_MAX_LENGTH],
    )
    _validate_fields(event)
    event.save()
    return event


def _lock_slot(slot: CourseSlot) -> CourseSlot:
    """Lock and re-read the slot row: two requests racing for its last seat queue up here."""
    # With its course (names and dates for the history and the emails), locking the slot row only.
    return CourseSlot.objects.select_related("course").select_for_update(of=("self",)).get(pk=slot.pk)


def _walk_up_seats_left(slot: CourseSlot, *, class_date: datetime.date | None, now: datetime.datetime) -> int:
    """Seats a public registration may take (a module-level seam: the race tests wrap it)."""
    return selectors.walk_up_seats_left(slot, class_date=class_date, now=now)


def _expire(registration: Registration) -> None:
    registration.payment_status = PaymentStatus.EXPIRED
    registration.save(update_fields=["payment_status", "updated_at"])
    _record_event(
        registration,
        from_status=PaymentStatus.PENDING,
        to_status=PaymentStatus.EXPIRED,
        actor_label="system",
        reason=_("The payment hold ran out."),
    )


def _conflicting_registration(
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
        due = registration.payment_due_at
        if registration.payment_status == PaymentStatus.PENDING and due is not None and due <= now:
            _expire(registration)
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


def _registration_email_context(registration: Registration) -> dict:
    return {
        "registration": registration,
        "student": registration.student,
        "course": registration.course,
        "slot": registration.slot,
        "schedule": selectors.schedule_text(registration),
        "instructions": selectors.payment_instructions(registration),
        "registration_url": settings.SITE_URL + registration.get_absolute_url(),
        # With payment_hold_hours = 0 a pending registration holds nothing, so the email promises nothing.
        "hold_until": (
            registration.payment_due_at
            if registration.payment_status == PaymentStatus.PENDING
            and registration.payment_due_at is not None
            and registration.payment_due_at > timezone.now()
            else None
        ),
    }


def send_registration_received(registration: Registration) -> None:
    """Queue the "registration received" email (amount, reference, how to pay, link); at most once per registration."""
    send_email(
        kind="registration_received",
        to=registration.student.email,
        about=registration,
        context=_registration_email_context(registration),
        dedupe_key=f"registration_received:{registration.pk}",
    )


def send_already_registered(registration: Registration) -> None:
    """Queue the "already registered" email with the link to the existing registration; at most one an hour."""
    # The hourly key keeps a bot that resubmits someone's address from flooding their inbox.
    send_email(
        kind="already_registered",
        to=registration.student.email,
        about=registration,
        context=_registration_email_context(registration),
        dedupe_key=f"already_registered:{registration.pk}:{timezone.now():%Y-%m-%dT%H}",
    )


def register_student(
    *,
    course: Course,
    slot: CourseSlot,
    pricing_type: str,
    payment_method: str,
    details: StudentDetails,
    class_date: datetime.date | None = None,
    verified_student: Student | None = None,
) -> Registration:
    """Register a student for a seat in `slot` (pending, holding the seat for payment_hold_hours).

    Raises RegistrationClosed, NotEligible, InvalidChoice, SlotFull, AlreadyRegistered (and emails the link to the
    existing registration), RegistrationLimitReached, or RegistrationError(field=...) for bad details.
    """
    studio = studio_settings()
    if not studio.registration_open:
        raise RegistrationClosed()
    details = _clean_details(details)
    if verified_student is not None and verified_student.email != details.email:
        raise RegistrationError(_("Use the email address you signed in with."), field="email")
    known = verified_student or Student.objects.filter(email=details.email).first()
    # Checked before anything is written; self-registration never creates a crew member.
    if course.is_crew_only and not (known is not None and known.is_crew_member):
        raise NotEligible()
    today = selectors.studio_today()
    if not course.is_active or course.end_date < today:
        raise InvalidChoice(_("This course is no longer open for registration."))
    if slot is None or slot.course_id != course.pk:
        raise InvalidChoice(_("Choose one of this course's time slots."), field="slot")
    if not selectors.upcoming_class_dates(slot, today=today):
        raise InvalidChoice(_("This time slot has no classes left."), field="slot")
    if payment_method not in Registration.PaymentMethod.values:
        raise InvalidChoice(_("Choose Venmo or Zelle."), field="payment_method")
    # From the slot's prices as the caller read them (prefetched by the course page), else one query.
    price = next((price for price in slot.prices.all() if price.pricing_type == pricing_type), None)
    if price is None:
        raise InvalidChoice(_("This option is not offered for this time slot."), field="pricing_type")
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
        amount=price.price,
        limit=studio.max_registrations_per_student,
    )
    try:
        try:
            return attempt(known=known)
        except IntegrityError:
            # A request racing this one (a double submit) committed the same new student, or the same seat: this
            # transaction rolled back whole. Once more: it then finds that student and any registration they made.
            known = verified_student or Student.objects.filter(email=details.email).first()
            if known is not None and _conflicting_registration(student=known, slot=slot, class_date=class_date):
                raise _Duplicate() from None
            return attempt(known=known)
    except _Duplicate:
        # Rolled back: nothing was written. The facts go only to the mailbox owner.
        student = Student.objects.filter(email=details.email).first()
        if student is not None:
            existing = _conflicting_registration(student=student, slot=slot, class_date=class_date)
            if existing is not None:
                send_already_registered(existing)
        raise AlreadyRegistered() from None


def _register_in_transaction(
    *,
    slot: CourseSlot,
    pricing_type: str,
    payment_method: str,
    details: StudentDetails,
    class_date: datetime.date | None,
    verified_student: Student | None,
    known: Student | None,
    amount: Decimal,
    limit: int,
) -> Registration:
    """register_student's writes: lock, count, write, in one transaction without savepoints (each costs two round
    trips); raises _Duplicate, and IntegrityError when a request racing this one committed the same new student."""
    # Without a savepoint a student is either created here or the transaction fails (IntegrityError).
    new_student = verified_student is None and known is None
    with transaction.atomic():
        student = _save_student(details=details, verified_student=verified_student, known=known, savepoint=False)
        # Lock before counting: two requests race for the last seat; the loser waits here and then sees it taken.
        slot = _lock_slot(slot)
        now = timezone.now()
        if not new_student:  # a student created a moment ago has no registrations to repeat or count
            try:
                _refuse_duplicate(student=student, slot=slot, class_date=class_date, now=now)
            except AlreadyRegistered:
                raise _Duplicate() from None
            if limit and Registration.objects.filter(selectors.holds_seat(now), student=student).count() >= limit:
                raise RegistrationLimitReached()
        if _walk_up_seats_left(slot, class_date=class_date, now=now) <= 0:
            raise SlotFull()
        return create_registration(
            student=student,
            slot=slot,
            pricing_type=pricing_type,
            payment_method=payment_method,
            class_date=class_date,
            amount=amount,
            reason=_("Registered online."),
            duplicates_checked=True,
        )


def report_payment(*, registration: Registration, method: str) -> Registration:
    """Record the student's "I've sent the payment", changing no status; RegistrationError unless pending."""
    if method not in Registration.PaymentMethod.values:
        raise InvalidChoice(_("Choose Venmo or Zelle."), field="payment_method")
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if registration.payment_status != PaymentStatus.PENDING:
            raise RegistrationError(_("Only a registration waiting for payment can be reported as paid."))
        registration.payment_reported_at = timezone.now()
        registration.payment_reported_method = method
        registration.save(update_fields=["payment_reported_at", "payment_reported_method", "updated_at"])
    return registration


# --- shared by the public form, the waitlist, the portal and the admin ---------------------------------------------


def actor_label_for(user: User | None) -> str:
    """The name a history row shows for a staff user ("system" without one)."""
    if user is None:
        return "system"
    return (user.get_full_name() or user.get_username())[:60]


def _offer_freed_seats(slot_id: int) -> None:
    # Imported here: the waitlist services import this module.
    from waitlist.services import offer_freed_seats

    slot = CourseSlot.objects.filter(pk=slot_id).first()
    if slot is not None:
        offer_freed_seats(slot=slot)


def offer_freed_seats_on_commit(slot: CourseSlot) -> None:
    """After the commit, offer the seats freed in `slot` to its waitlist (a failure is logged, never shown)."""
    transaction.on_commit(partial(_offer_freed_seats, slot.pk), robust=True)


def create_registration(
    *,
    student: Student,
    slot: CourseSlot,
    pricing_type: str,
    payment_method: str,
    class_date: datetime.date | None = None,
    amount: Decimal | None = None,
    actor: User | None = None,
    actor_label: str = "student",
    reason: str = "",
    admin_override: bool = False,
    duplicates_checked: bool = False,
) -> Registration:
    """Write a pending registration in a slot the caller has locked (_lock_slot) and seat-checked in its transaction.

    The amount comes from the slot's price row unless `amount` is given; the seat is held for payment_hold_hours;
    the history row and the "registration received" email (sent after the commit) are written here.
    Raises AlreadyRegistered when the student already holds this seat (`duplicates_checked`: the caller ran
    `_refuse_duplicate` under the same lock already), InvalidChoice for a missing price.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("create_registration() must run inside the caller's transaction (lock, count, write).")
    now = timezone.now()
    if not duplicates_checked:
        _refuse_duplicate(student=student, slot=slot, class_date=class_date, now=now)
    if amount is None:
        price = CoursePricing.objects.filter(course_slot=slot, pricing_type=pricing_type).first()
        if price is None:
            raise InvalidChoice(_("This option is not offered for this time slot."), field="pricing_type")
        amount = price.price
    registration = Registration(
        student=student,
        course=slot.course,
        slot=slot,
        pricing_type=pricing_type,
        class_date=class_date,
        payment_status=PaymentStatus.PENDING,
        payment_amount=amount,
        payment_method=payment_method,
        payment_due_at=now + datetime.timedelta(hours=studio_settings().payment_hold_hours),
        admin_override=admin_override,
    )
    try:
        _validate_fields(registration)
    except ValidationError as error:
        raise _field_error(error) from None
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
            if _conflicting_registration(student=student, slot=slot, class_date=class_date) is not None:
                raise AlreadyRegistered() from None
            raise
    _record_event(
        registration,
        from_status="",
        to_status=PaymentStatus.PENDING,
        actor=actor,
        actor_label=actor_label,
        reason=reason,
    )
    send_registration_received(registration)
    # Last: it locks the counter row until the commit. Seats changed: cached catalog pages are out of date then.
    bump_catalog_version()
    return registration


def _lock_registration(registration: Registration) -> tuple[CourseSlot, Registration]:
    """Lock the slot, then the registration (the fixed lock order), and return both re-read."""
    slot = _lock_slot(registration.slot)
    # of=("self",): lock the registration row only, not the joined student and course rows (the waitlist locks a
    # course before its slot; locking it here, after the slot, would deadlock with it).
    registration = (
        Registration.objects.select_for_update(of=("self",)).select_related("student", "course").get(pk=registration.pk)
    )
    return slot, registration


def _status_email_context(registration: Registration, **extra) -> dict:
    return {
        "registration": registration,
        "student": registration.student,
        "course": registration.course,
        "slot": registration.slot,
        "schedule": selectors.schedule_text(registration),
        "registration_url": settings.SITE_URL + registration.get_absolute_url(),
        **extra,
    }


def cancel_registration(
    *, registration: Registration, actor: User | None = None, reason: str = "", by_student: bool = False
) -> bool:
    """Cancel a pending or paid registration (a student only a pending one), email the student and free the seat.

    Returns False and changes nothing when it is already canceled; raises RegistrationError when the student may
    not cancel it (paid) or when it has expired.
    """
    reason = str(reason).strip()[: Registration._meta.get_field("cancel_reason").max_length]
    with transaction.atomic():
        slot, registration = _lock_registration(registration)
        status = registration.payment_status
        if status == PaymentStatus.CANCELED:
            return False
        if by_student and status != PaymentStatus.PENDING:
            raise RegistrationError(_("A paid registration can only be canceled by the studio. Please contact us."))
        if status not in Registration.ACTIVE_STATUSES:
            raise RegistrationError(_("This registration has expired; there is nothing to cancel."))
        registration.payment_status = PaymentStatus.CANCELED
        registration.canceled_at = timezone.now()
        registration.canceled_by = None if by_student else actor
        registration.cancel_reason = reason
        registration.save(
            update_fields=["payment_status", "canceled_at", "canceled_by", "cancel_reason", "updated_at"]
        )
        event = _record_event(
            registration,
            from_status=status,
            to_status=PaymentStatus.CANCELED,
            actor=None if by_student else actor,
            actor_label="student" if by_student else actor_label_for(actor),
            reason=reason or (_("Canceled by the student.") if by_student else ""),
        )
        send_email(
            kind="registration_canceled",
            to=registration.student.email,
        about=registration,
            context=_status_email_context(registration, reason=reason, by_student=by_student),
            dedupe_key=f"registration_canceled:{registration.pk}:{event.pk}",
        )
        bump_catalog_version()
        offer_freed_seats_on_commit(slot)
    return True


# --- the studio's own transitions (admin actions, the hold sweep) -------------------------------------------------


class RegistrationCanceled(RegistrationError):
    default_message = _("This registration is canceled; re-open it first.")


def _holds_its_seat(registration: Registration, now: datetime.datetime) -> bool:
    """Paid, or pending with a hold that has not run out: it already counts in its slot's seats."""
    if registration.payment_status == PaymentStatus.COMPLETED:
        return True
    return (
        registration.payment_status == PaymentStatus.PENDING
        and registration.payment_due_at is not None
        and registration.payment_due_at > now
    )


def _check_no_other_active(registration: Registration) -> None:
    """Re-activating must not give the student a second active registration for the same seat."""
    other = _conflicting_registration(
        student=registration.student, slot=registration.slot, class_date=registration.class_date
    )
    if other is not None and other.pk != registration.pk:
        raise AlreadyRegistered(
            _("The student already has another active registration for this class (%(reference)s).")
            % {"reference": other.reference}
        )


def confirm_payment(
    *,
    registration: Registration,
    actor: User,
    method: str = "",
    note: str = "",
    over_capacity: bool = False,
) -> bool:
    """Confirm a pending or expired registration as paid (who, when, method, note) and email the student once.

    Returns False and changes nothing when it is already paid. Raises RegistrationCanceled for a canceled one,
    SlotFull when a registration whose hold ran out finds its slot full (unless `over_capacity`), InvalidChoice for
    an unknown method and AlreadyRegistered when the student holds another active registration for the seat.
    """
    if method and method not in Registration.PaymentMethod.values:
        raise InvalidChoice(_("Choose Venmo or Zelle."), field="method")
    note = str(note).strip()[: Registration._meta.get_field("transaction_note").max_length]
    with transaction.atomic():
        slot, registration = _lock_registration(registration)
        status = registration.payment_status
        if status == PaymentStatus.COMPLETED:
            return False
        if status == PaymentStatus.CANCELED:
            raise RegistrationCanceled()
        now = timezone.now()
        if status == PaymentStatus.EXPIRED:
            _check_no_other_active(registration)
        # A registration whose hold ran out holds no seat: it may take a free one (any free seat: the studio
        # decides, so waiting entries without an offer do not block it) or, when told so, go past capacity.
        past_capacity = not _holds_its_seat(registration, now) and (
            selectors.seats_left(slot, class_date=registration.class_date, now=now) <= 0
        )
        if past_capacity and not over_capacity:
            raise SlotFull(_("The time slot is full: use “confirm over capacity” to confirm it anyway."))
        registration.payment_status = PaymentStatus.COMPLETED
        registration.confirmed_at = now
        registration.confirmed_by = actor
        registration.payment_method = method or registration.payment_method
        registration.transaction_note = note
        fields_ = ["payment_status", "confirmed_at", "confirmed_by", "payment_method", "transaction_note"]
        if past_capacity:
            registration.admin_override = True
            fields_.append("admin_override")
        registration.save(update_fields=[*fields_, "updated_at"])
        reason = _("Payment confirmed (%(method)s).") % {"method": registration.get_payment_method_display()}
        if past_capacity:
            reason = f"{reason} {_('Confirmed over capacity.')}"
        if note:
            reason = f"{reason} {note}"
        _record_event(
            registration,
            from_status=status,
            to_status=PaymentStatus.COMPLETED,
            actor=actor,
            actor_label=actor_label_for(actor),
            reason=reason,
        )
        send_email(
            kind="payment_confirmed",
            to=registration.student.email,
        about=registration,
            context=_status_email_context(registration),
            dedupe_key=f"payment_confirmed:{registration.pk}",
        )
        bump_catalog_version()
    return True


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
    *, registrations, actor: User, method: str = "", note: str = "", over_capacity: bool = False
) -> BulkOutcome:
    """confirm_payment for each registration, each in its own transaction: one refusal does not undo the others."""
    return _each(
        registrations,
        lambda registration: confirm_payment(
            registration=registration, actor=actor, method=method, note=note, over_capacity=over_capacity
        ),
    )


def cancel_registrations(*, registrations, actor: User, reason: str) -> BulkOutcome:
    """cancel_registration (by the studio) for each registration, each in its own transaction."""
    return _each(
        registrations, lambda registration: cancel_registration(registration=registration, actor=actor, reason=reason)
    )


def reopen_registration(*, registration: Registration, actor: User, reason: str = "") -> bool:
    """Re-open a canceled or expired registration as pending with a new hold, if its seat is free.

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
        if selectors.seats_left(slot, class_date=registration.class_date, now=now) <= 0:
            raise SlotFull(_("The time slot is full; the registration cannot be re-opened."))
        registration.payment_status = PaymentStatus.PENDING
        registration.payment_due_at = now + datetime.timedelta(hours=studio_settings().payment_hold_hours)
        registration.canceled_at = None
        registration.canceled_by = None
        registration.cancel_reason = ""
        registration.save(
            update_fields=[
                "payment_status",
                "payment_due_at",
                "canceled_at",
                "canceled_by",
                "cancel_reason",
                "updated_at",
            ]
        )
        bump_catalog_version()
        _record_event(
            registration,
            from_status=status,
            to_status=PaymentStatus.PENDING,
            actor=actor,
            actor_label=actor_label_for(actor),
            reason=reason or _("Re-opened by the studio."),
        )
    return True


def reopen_registrations(*, registrations, actor: User, reason: str = "") -> BulkOutcome:
    """reopen_registration for each registration, each in its own transaction."""
    return _each(
        registrations, lambda registration: reopen_registration(registration=registration, actor=actor, reason=reason)
    )


def admin_register_student(
    *,
    student: Student,
    slot: CourseSlot,
    pricing_type: str,
    payment_method: str,
    actor: User,
    class_date: datetime.date | None = None,
    over_capacity: bool = False,
    amount: Decimal | None = None,
    reason: str = "",
) -> Registration:
    """An owner registers any student for any slot, past the crew-only rule and, with `over_capacity`, past the seats.

    The amount is the slot's price unless `amount` is given, which needs a reason. The override is recorded
    (admin_override and the history reason). Raises InvalidChoice (field=...) for a bad choice, RegistrationError
    (field="reason") for a custom amount without a reason, SlotFull when the slot is full and `over_capacity` is off,
    and AlreadyRegistered when the student already holds this seat.
    """
    reason = str(reason).strip()
    if payment_method not in Registration.PaymentMethod.values:
        raise InvalidChoice(_("Choose Venmo or Zelle."), field="payment_method")
    if pricing_type not in CoursePricing.PricingType.values:
        raise InvalidChoice(field="pricing_type")
    course = slot.course
    price = CoursePricing.objects.filter(course_slot=slot, pricing_type=pricing_type).first()
    if amount is None and price is None:
        raise InvalidChoice(
            _("This time slot has no price of this type: enter an amount and a reason."), field="amount"
        )
    if amount is not None:
        if not amount.is_finite() or amount < 0:
            raise RegistrationError(_("Enter an amount of 0 or more."), field="amount")
        if (price is None or amount != price.price) and not reason:
            raise RegistrationError(_("Say why this registration costs a different amount."), field="reason")
    # Past dates are allowed: the owner may record a class that already happened.
    class_date = _check_class_date(
        course=course, slot=slot, pricing_type=pricing_type, class_date=class_date, today=datetime.date.min
    )
    overrides = []
    if course.is_crew_only and not student.is_crew_member:
        overrides.append(str(_("Crew-only rule waived.")))
    if amount is not None and (price is None or amount != price.price):
        usual = price.price if price is not None else "–"
        overrides.append(str(_("Amount %(amount)s instead of %(price)s.") % {"amount": amount, "price": usual}))
    with transaction.atomic():
        slot = _lock_slot(slot)
        if selectors.seats_left(slot, class_date=class_date, now=timezone.now()) <= 0:
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
            amount=amount if amount is not None else price.price,
            actor=actor,
            actor_label=actor_label_for(actor),
            reason=history.strip(),
            admin_override=bool(overrides),
        )


@dataclass(frozen=True)
class HoldSweep:
    reminded: int
    expired: int


def _hold_email_context(registration: Registration) -> dict:
    return {**_registration_email_context(registration), "hold_until": registration.payment_due_at}


def send_hold_reminders(*, now: datetime.datetime | None = None) -> int:
    """Email "your hold runs out soon" once per hold when half of payment_hold_hours is left; returns how many."""
    now = now or timezone.now()
    hours = studio_settings().payment_hold_hours
    if not hours:
        return 0
    due = (
        Registration.objects.filter(
            payment_status=PaymentStatus.PENDING,
            payment_due_at__gt=now,
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
    run_out = Registration.objects.filter(payment_status=PaymentStatus.PENDING, payment_due_at__lte=now).exclude(
        payment_due_at__lte=F("created_at") + datetime.timedelta(minutes=1)
    )
    expired = 0
    for slot_id in sorted(set(run_out.values_list("slot_id", flat=True))):
        with transaction.atomic():
            slot = CourseSlot.objects.select_for_update().get(pk=slot_id)
            locked = run_out.filter(slot=slot).select_for_update(of=("self",)).select_related("student", "course")
            for registration in locked:
                registration.payment_status = PaymentStatus.EXPIRED
                registration.save(update_fields=["payment_status", "updated_at"])
                _record_event(
                    registration,
                    from_status=PaymentStatus.PENDING,
                    to_status=PaymentStatus.EXPIRED,
                    actor_label="system",
                    reason=_("The payment hold ran out."),
                )
                send_email(
                    kind="hold_expired",
                    to=registration.student.email,
        about=registration,
                    context=_hold_email_context(registration),
                    dedupe_key=f"hold_expired:{registration.pk}:{registration.payment_due_at:%Y%m%d%H%M%S}",
                )
                expired += 1
            bump_catalog_version()
            offer_freed_seats_on_commit(slot)
    return expired


def expire_holds(*, now: datetime.datetime | None = None) -> HoldSweep:
    """The hold sweep run from cron: halfway reminders, then run-out holds expired and their seats offered."""
    now = now or timezone.now()
    return HoldSweep(reminded=send_hold_reminders(now=now), expired=expire_run_out_holds(now=now))
