"""Writes of the waitlist (README "Waitlist"): join, leave, be removed, be moved; offers are in waitlist/offers.py.

Positions are 1..n per course over the active entries (waiting and offered), in order, with no gaps or repeats.
Every write that changes who is active locks the course row first (then, where a seat is involved, the slot row:
the fixed lock order) and renumbers in the same transaction. An offer holds one seat of a slot until it is answered
or expires; its token is emailed once and stored only as a SHA-256 hash. Every refusal is a WaitlistError (a
RegistrationError) whose str() is a translated message for the student.
"""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.formatting import slot_schedule
from courses.models import Course, CourseSlot
from courses.selectors import studio_today, upcoming_class_dates
from courses.services import seats_changed
from registrations import seats
from registrations.errors import InvalidChoice, RegistrationError
from students import services as student_services
from students.models import Student
from students.services import StudentDetails
from studio.emails import send_email
from waitlist.models import WaitlistEntry

logger = logging.getLogger(__name__)

Status = WaitlistEntry.Status


class WaitlistError(RegistrationError):
    default_message = _("This waitlist request could not be completed.")


class AlreadyOnWaitlist(WaitlistError):
    default_message = _("You are already on the waitlist for this course; we emailed you the link to your place.")


class SeatsAvailable(WaitlistError):
    default_message = _("This class still has free seats: register for it instead.")


class OfferUnavailable(WaitlistError):
    """The offer cannot be answered any more; `reason` is one of the values below."""

    EXPIRED = "expired"
    USED = "used"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    STARTED = "started"
    LEFT = "left"

    def __init__(self, message=None, *, reason: str):
        self.reason = reason
        super().__init__(message)


class _AlreadyJoined(Exception):
    """Raised inside the join transaction so that it rolls back before the reminder email is queued."""


# --- small reads used by the services --------------------------------------------------------------------------------


def lock_course(course_id: int) -> Course:
    """Lock the course row: every change to who is on its waitlist, and to the positions, queues up here."""
    return Course.objects.select_for_update().get(pk=course_id)


def renumber(course_id: int) -> None:
    """Give the course's active entries positions 1..n in their current order, others none (caller holds the lock)."""
    entries = WaitlistEntry.objects.filter(course_id=course_id)
    entries.filter(waitlist_position__isnull=False).exclude(status__in=WaitlistEntry.ACTIVE_STATUSES).update(
        waitlist_position=None
    )
    active = list(
        entries.filter(status__in=WaitlistEntry.ACTIVE_STATUSES)
        .order_by(F("waitlist_position").asc(nulls_last=True), "created_at", "pk")
        .only("pk", "waitlist_position")
    )
    _set_positions({entry.pk: position for position, entry in enumerate(active, start=1)}, active)


def _set_positions(wanted: dict[int, int], entries: list[WaitlistEntry]) -> None:
    """Write new positions in two steps (clear, then set) so that the unique (course, position) never clashes."""
    changed = [entry for entry in entries if entry.waitlist_position != wanted[entry.pk]]
    if not changed:
        return
    WaitlistEntry.objects.filter(pk__in=[entry.pk for entry in changed]).update(waitlist_position=None)
    for entry in changed:
        entry.waitlist_position = wanted[entry.pk]
    WaitlistEntry.objects.bulk_update(changed, ["waitlist_position"])


def finish_entry(entry: WaitlistEntry, status: str, *, fields: tuple[str, ...] = ()) -> None:
    """Move an active entry to a final status, leaving the positions (renumbered by the caller)."""
    entry.status = status
    entry.waitlist_position = None
    entry.save(update_fields=["status", "waitlist_position", *fields, "updated_at"])
    seats_changed(entry.course_id)  # waiting or offered seats changed: cached pages are out of date


def entry_url(entry: WaitlistEntry) -> str:
    return settings.SITE_URL + entry.get_absolute_url()


def entry_email_context(entry: WaitlistEntry, **extra) -> dict:
    course = entry.course
    return {
        "entry": entry,
        "student": entry.student,
        "course": course,
        "preferred_slot": entry.preferred_slot,
        "preferred_schedule": slot_schedule(entry.preferred_slot, course) if entry.preferred_slot_id else "",
        "entry_url": entry_url(entry),
        "course_url": settings.SITE_URL + course.get_absolute_url(),
        **extra,
    }


# --- joining and leaving ---------------------------------------------------------------------------------------------


def _check_course_open_for_waitlist(course: Course, *, today: datetime.date) -> None:
    if not course.is_active or course.end_date < today:
        raise InvalidChoice(_("This course is no longer open."))


def _waitlist_slots(course: Course, preferred_slot: CourseSlot | None, *, today: datetime.date) -> list[CourseSlot]:
    """The slots the student would wait for (their preferred one, or every slot with a class to come)."""
    if preferred_slot is not None:
        if preferred_slot.course_id != course.pk:
            raise InvalidChoice(_("Choose one of this course's time slots."), field="preferred_slot")
        if not upcoming_class_dates(preferred_slot, today=today):
            raise InvalidChoice(_("This time slot has no classes left."), field="preferred_slot")
        return [preferred_slot]
    slots = [
        slot
        for slot in CourseSlot.objects.filter(course=course).select_related("course")
        if upcoming_class_dates(slot, today=today)
    ]
    if not slots:
        raise InvalidChoice(_("This course has no classes left."))
    return slots


def join_waitlist(
    *,
    course: Course,
    details: StudentDetails,
    preferred_slot: CourseSlot | None = None,
    verified_student: Student | None = None,
) -> WaitlistEntry:
    """Put a student at the end of the course's waitlist (optionally for one slot) and email them their position.

    Same eligibility as registering. Raises RegistrationClosed, NotEligible, InvalidChoice, SeatsAvailable (a walk-up
    seat is free: register instead), AlreadyOnWaitlist (and emails the link to the existing entry), or
    RegistrationError(field=...) for bad details.
    """
    try:
        details = student_services.clean_details(details)
    except ValidationError as error:
        raise RegistrationError.from_validation_error(error) from None
    if verified_student is not None and verified_student.email != details.email:
        raise RegistrationError(_("Use the email address you signed in with."), field="email")
    known = verified_student or student_services.find_student(details.email)
    seats.check_may_register(student=known, course=course)
    today = studio_today()
    _check_course_open_for_waitlist(course, today=today)
    slots = _waitlist_slots(course, preferred_slot, today=today)
    now = timezone.now()
    # Advisory (no slot lock): the waitlist is for full classes; a free walk-up seat means "register instead".
    if any(seats.walk_up_seats_left(slot, now=now) > 0 for slot in slots):
        raise SeatsAvailable()
    try:
        with transaction.atomic():
            student = student_services.save_student(details=details, verified_student=verified_student, known=known)
            lock_course(course.pk)
            if WaitlistEntry.objects.filter(
                student=student, course=course, status__in=WaitlistEntry.ACTIVE_STATUSES
            ).exists():
                raise _AlreadyJoined()
            last = (
                WaitlistEntry.objects.filter(course=course, status__in=WaitlistEntry.ACTIVE_STATUSES)
                .order_by("-waitlist_position")
                .values_list("waitlist_position", flat=True)
                .first()
            )
            entry = WaitlistEntry(
                student=student,
                course=course,
                preferred_slot=preferred_slot,
                waitlist_position=(last or 0) + 1,
                status=Status.WAITING,
            )
            try:
                # A savepoint: a double submit that committed first must not poison this transaction.
                with transaction.atomic():
                    entry.save()
            except IntegrityError:
                raise _AlreadyJoined() from None
            send_email(
                kind="waitlist_joined",
                to=student.email,
                about=entry,
                context=entry_email_context(entry, again=False),
                dedupe_key=f"waitlist_joined:{entry.pk}",
            )
            seats_changed(course.pk)  # last: it holds the course's version row until the commit
    except _AlreadyJoined:
        # Rolled back: nothing was written. The facts go only to the mailbox owner.
        existing = (
            WaitlistEntry.objects.select_related("course", "student", "preferred_slot")
            .filter(student__email=details.email, course=course, status__in=WaitlistEntry.ACTIVE_STATUSES)
            .first()
        )
        if existing is not None:
            send_email(
                kind="waitlist_joined",
                to=existing.student.email,
                about=existing,
                context=entry_email_context(existing, again=True),
                # Hourly: a bot resubmitting someone's address cannot flood their inbox.
                dedupe_key=f"waitlist_joined_again:{existing.pk}:{timezone.now():%Y-%m-%dT%H}",
            )
        raise AlreadyOnWaitlist() from None
    return entry


def leave_waitlist(*, entry: WaitlistEntry, by_student: bool = True) -> None:
    """Take an active entry off the waitlist (left by the student, removed by the studio) and renumber the rest.

    An outstanding offer is given up with it, and its seat is offered to the next student after the commit.
    Leaving twice changes nothing.
    """
    with transaction.atomic():
        lock_course(entry.course_id)
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status not in WaitlistEntry.ACTIVE_STATUSES:
            return
        freed_slot = entry.offer_slot if entry.status == Status.OFFERED else None
        now = timezone.now()
        entry.responded_at = now if freed_slot is not None else entry.responded_at
        finish_entry(entry, Status.LEFT if by_student else Status.REMOVED, fields=("responded_at",))
        renumber(entry.course_id)
        if freed_slot is not None:
            seats.announce_freed_seats(freed_slot)


def remove_entries(*, entries) -> int:
    """The studio takes entries off the waitlist (status removed, positions renumbered); returns how many."""
    removed = 0
    for entry in entries:
        before = entry.status
        leave_waitlist(entry=entry, by_student=False)
        removed += before in WaitlistEntry.ACTIVE_STATUSES
    return removed


def move_entry(*, entry: WaitlistEntry, up: bool) -> bool:
    """Swap an active entry with its neighbour above (up) or below; False when it is already first/last or inactive."""
    with transaction.atomic():
        lock_course(entry.course_id)
        renumber(entry.course_id)
        entry = WaitlistEntry.objects.get(pk=entry.pk)
        if entry.status not in WaitlistEntry.ACTIVE_STATUSES:
            return False
        target = entry.waitlist_position + (-1 if up else 1)
        neighbour = WaitlistEntry.objects.filter(
            course_id=entry.course_id, status__in=WaitlistEntry.ACTIVE_STATUSES, waitlist_position=target
        ).first()
        if neighbour is None:
            return False
        _set_positions({neighbour.pk: entry.waitlist_position, entry.pk: target}, [neighbour, entry])
        return True
