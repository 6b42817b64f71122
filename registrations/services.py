"""Writes of the registration journey (SPEC §3 "Registrations and seats", "Payments", "Students").

Every refusal is a RegistrationError whose str() is a translated message for the student. Seat-limited writes
lock the slot row, count, then write, in one transaction; emails go out after the commit.
"""

import datetime
import unicodedata
from dataclasses import dataclass, fields

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Course, CoursePricing, CourseSlot
from dance_portal.emails import send_email
from dance_portal.studio_settings import get_settings
from registrations import selectors
from registrations.models import Registration, RegistrationEvent
from students.models import Student, normalize_email

PaymentStatus = Registration.PaymentStatus


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


def _with_profile_complete(student: Student) -> Student:
    student.profile_complete = bool(student.first_name and student.last_name and student.phone)
    return student


def _save_student(*, details: StudentDetails, verified_student: Student | None) -> Student:
    """Find or create (general) the student by email; unverified details only fill blanks, verified ones overwrite."""
    if verified_student is not None:
        student = Student.objects.get(pk=verified_student.pk)
        overwrite = True
    else:
        student = Student.objects.filter(email=details.email).first()
        overwrite = False
    if student is None:
        new = _with_profile_complete(Student(**{f.name: getattr(details, f.name) for f in fields(details)}))
        try:
            new.full_clean()
            # A savepoint: the same new address registering twice at once must not poison the transaction.
            with transaction.atomic():
                new.save()
            return new
        except (ValidationError, IntegrityError) as error:
            # Another request created this student a moment ago: use that row (and only fill its blanks).
            student = Student.objects.filter(email=details.email).first()
            if student is None:
                if isinstance(error, ValidationError):
                    raise _field_error(error) from None
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
    registration: Registration, *, from_status: str, to_status: str, actor_label: str, reason: str = ""
) -> RegistrationEvent:
    event = RegistrationEvent(
        registration=registration,
        from_status=from_status,
        to_status=to_status,
        actor_label=actor_label,
        reason=reason,
    )
    event.full_clean()
    event.save()
    return event


def _lock_slot(slot: CourseSlot) -> CourseSlot:
    """Lock and re-read the slot row: two requests racing for its last seat queue up here."""
    return CourseSlot.objects.select_for_update().get(pk=slot.pk)


def _walk_up_seats_left(slot: CourseSlot, *, class_date: datetime.date | None, now: datetime.datetime) -> int:
    """Seats a public registration may take (a module-level seam: the race tests wrap it)."""
    return selectors.walk_up_seats_left(slot, class_date=class_date, now=now)


def _expire_run_out_holds(*, student: Student, slot: CourseSlot, now: datetime.datetime) -> None:
    """Mark this student's pending registrations on `slot` whose hold ran out as expired, so they can register again."""
    run_out = Registration.objects.filter(
        student=student, slot=slot, payment_status=PaymentStatus.PENDING, payment_due_at__lte=now
    )
    for registration in run_out:
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
        context=_registration_email_context(registration),
        dedupe_key=f"registration_received:{registration.pk}",
    )


def send_already_registered(registration: Registration) -> None:
    """Queue the "already registered" email with the link to the existing registration; at most one an hour."""
    # The hourly key keeps a bot that resubmits someone's address from flooding their inbox.
    send_email(
        kind="already_registered",
        to=registration.student.email,
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
    studio = get_settings()
    if not studio["registration_open"]:
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
    price = CoursePricing.objects.filter(course_slot=slot, pricing_type=pricing_type).first()
    if price is None:
        raise InvalidChoice(_("This option is not offered for this time slot."), field="pricing_type")
    class_date = _check_class_date(
        course=course, slot=slot, pricing_type=pricing_type, class_date=class_date, today=today
    )

    try:
        with transaction.atomic():
            student = _save_student(details=details, verified_student=verified_student)
            # Lock before counting: two requests race for the last seat; the loser waits here and then sees it taken.
            slot = _lock_slot(slot)
            now = timezone.now()
            _expire_run_out_holds(student=student, slot=slot, now=now)
            existing = _conflicting_registration(student=student, slot=slot, class_date=class_date)
            if existing is not None:
                raise _Duplicate()
            limit = studio["max_registrations_per_student"]
            if limit and Registration.objects.filter(selectors.holds_seat(now), student=student).count() >= limit:
                raise RegistrationLimitReached()
            if _walk_up_seats_left(slot, class_date=class_date, now=now) <= 0:
                raise SlotFull()
            registration = Registration(
                student=student,
                course=slot.course,
                slot=slot,
                pricing_type=pricing_type,
                class_date=class_date,
                payment_status=PaymentStatus.PENDING,
                payment_amount=price.price,
                payment_method=payment_method,
                payment_due_at=now + datetime.timedelta(hours=studio["payment_hold_hours"]),
            )
            try:
                registration.full_clean()
                with transaction.atomic():
                    registration.save()
            except (ValidationError, IntegrityError):
                # Double submit: the other request committed the same registration after our check.
                if _conflicting_registration(student=student, slot=slot, class_date=class_date) is None:
                    raise
                raise _Duplicate() from None
            _record_event(
                registration,
                from_status="",
                to_status=PaymentStatus.PENDING,
                actor_label="student",
                reason=_("Registered online."),
            )
            send_registration_received(registration)
    except _Duplicate:
        # Rolled back: nothing was written. The facts go only to the mailbox owner.
        student = Student.objects.filter(email=details.email).first()
        if student is not None:
            existing = _conflicting_registration(student=student, slot=slot, class_date=class_date)
            if existing is not None:
                send_already_registered(existing)
        raise AlreadyRegistered() from None
    return registration


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
