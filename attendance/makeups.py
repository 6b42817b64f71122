"""Make-up classes (README "Can't make it: reminders, excused absences and make-up classes").

An excused absence told before the cut-off comes with one make-up: the student picks another class session in the
portal, of a course open to make-ups (`Course.makeup_policy`: by default the same course and courses whose class is of
the same or a lower difficulty), within `makeup_window_days` of the missed class, on a date with a seat free. Booking
takes that seat with the same lock and count as a walk-up registration (a drop-in on that date); cancelling before the
class's cut-off returns the make-up, to be booked again.

Every write locks the make-up class's slot (registrations.seats.lock_slot), then the rows it changes, checks, then
writes, in one transaction; the confirmation email goes out after the commit. A registration that is canceled or
expires cancels its make-ups within its own transaction (`cancel_makeups_of_registration`): a make-up counts only while
its registration holds its seat, so re-opening the registration must not bring it back.
"""

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from attendance.absences import makeup_cutoff
from attendance.models import Absence, ClassSession, MakeUp
from attendance.selectors import covers_session, session_starts_at
from courses.formatting import moment, plain_date
from courses.models import Course
from courses.services import seats_changed
from registrations import seats
from registrations.models import Registration
from studio.config import StudioSettings, studio_settings
from studio.emails import send_email

MakeupPolicy = Course.MakeupPolicy


class MakeupError(Exception):
    """A refusal; str(error) is a message for the student."""

    default_message = _("This make-up could not be booked.")

    def __init__(self, message=None):
        super().__init__(message or self.default_message)


class NoMakeup(MakeupError):
    default_message = _("This missed class has no make-up to book.")


class MakeupAlreadyBooked(MakeupError):
    default_message = _("You already booked the make-up for this class.")


class OutsideWindow(MakeupError):
    pass


class NotOpenForMakeup(MakeupError):
    default_message = _("This class is not open to make-ups for the class you missed.")


class ClassFull(MakeupError):
    default_message = _("This class is full on that date: choose another one.")


class AlreadyInClass(MakeupError):
    default_message = _("You already have a seat in this class.")


class TooLateToCancel(MakeupError):
    pass


# --- the rules -----------------------------------------------------------------------------------------------------


def open_for_makeup(*, missed: ClassSession, target: ClassSession) -> bool:
    """May a class missed at `missed` be made up at `target`? By the target course's `makeup_policy`: its own
    classes, and (the default) classes of other courses whose slot is of the same or a lower difficulty."""
    policy = target.course.makeup_policy
    if policy == MakeupPolicy.CLOSED:
        return False
    if target.course_id == missed.course_id:
        return True
    return policy == MakeupPolicy.LEVEL and target.slot.difficulty_rank <= missed.slot.difficulty_rank


def window(absence: Absence, *, studio: StudioSettings | None = None) -> tuple[datetime.date, datetime.date]:
    """The first and last date a make-up for this missed class may be on: makeup_window_days either side of it."""
    days = datetime.timedelta(days=(studio or studio_settings()).makeup_window_days)
    return absence.session.session_date - days, absence.session.session_date + days


def usable_until(absence: Absence, *, studio: StudioSettings | None = None) -> datetime.date:
    """The last day a make-up for this missed class can be on."""
    return window(absence, studio=studio)[1]


def makeup_problem(absence: Absence, *, now: datetime.datetime | None = None) -> MakeupError | None:
    """Why this missed class has no make-up to book now (none earned, booked already, too late), or None."""
    try:
        _check_usable(absence, now=now or timezone.now(), studio=studio_settings())
    except MakeupError as error:
        return error
    return None


def _check_usable(absence: Absence, *, now: datetime.datetime, studio: StudioSettings) -> None:
    """Raises unless this absence has a make-up to book now."""
    if absence.undone_at is not None or not absence.makeup_granted:
        raise NoMakeup()
    status = Registration.objects.filter(pk=absence.registration_id).values_list("payment_status", flat=True).first()
    # Paid only: a make-up booked on a pending registration would stop counting when its hold ran out, and come back
    # over its class's capacity if the studio confirmed the payment then.
    if status == Registration.PaymentStatus.PENDING:
        raise NoMakeup(
            _("Your registration for the class you missed is waiting for payment: book the make-up once it is paid.")
        )
    if status != Registration.PaymentStatus.COMPLETED:
        raise NoMakeup(_("The registration of the class you missed is no longer active."))
    if absence.makeups.filter(status=MakeUp.Status.BOOKED).exists():
        raise MakeupAlreadyBooked()
    if usable_until(absence, studio=studio) < timezone.localdate(now):
        raise OutsideWindow(
            _("The make-up for this class had to be by %(date)s.") % {"date": plain_date(usable_until(absence))}
        )


def _in_class(absence: Absence, *, now: datetime.datetime):
    """A test of whether the student has a seat in a class already (their registration covers it, or a make-up), from
    two queries for any number of classes."""
    registrations = list(Registration.objects.filter(seats.holds_seat(now), student=absence.student))
    makeups = set(
        MakeUp.objects.filter(student=absence.student, status=MakeUp.Status.BOOKED).values_list("session_id", flat=True)
    )

    def has_seat(session: ClassSession) -> bool:
        return session.pk in makeups or any(covers_session(registration, session) for registration in registrations)

    return has_seat


def _check_target(
    absence: Absence, session: ClassSession, *, now: datetime.datetime, studio: StudioSettings, in_class=None
) -> None:
    """Raises unless `session` is a class this absence may be made up at (seats apart). `in_class`: `_in_class`
    read once for many classes."""
    first, last = window(absence, studio=studio)
    if not first <= session.session_date <= last:
        raise OutsideWindow(
            _("A make-up must be between %(first)s and %(last)s.")
            % {"first": plain_date(first), "last": plain_date(last)}
        )
    if session.is_canceled:
        raise NotOpenForMakeup(_("This class is canceled."))
    if session_starts_at(session) <= now:
        raise NotOpenForMakeup(_("This class has already started."))
    if (
        session.pk == absence.session_id
        or not session.course.is_active
        or not seats.is_eligible(absence.student, session.course)
        or not open_for_makeup(missed=absence.session, target=session)
    ):
        raise NotOpenForMakeup()
    if (in_class or _in_class(absence, now=now))(session):
        raise AlreadyInClass()


# --- reads ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MakeupChoice:
    session: ClassSession
    seats_left: int  # seats a walk-up may take in it (0: full)


def makeup_choices(absence: Absence, *, now: datetime.datetime | None = None) -> list[MakeupChoice]:
    """The classes this missed class may be made up at, in time order, each with its free seats (full ones too, so
    the student sees why), in a fixed number of queries. Empty when the absence has no make-up to book."""
    now = now or timezone.now()
    studio = studio_settings()
    try:
        _check_usable(absence, now=now, studio=studio)
    except MakeupError:
        return []
    first, last = window(absence, studio=studio)
    in_class = _in_class(absence, now=now)
    sessions = []
    candidates = (
        ClassSession.objects.filter(
            is_canceled=False, course__is_active=True, session_date__range=(max(first, timezone.localdate(now)), last)
        )
        .exclude(pk=absence.session_id)
        .select_related("course", "slot")
        .order_by("session_date", "start_time", "pk")
    )
    for session in candidates:
        try:
            _check_target(absence, session, now=now, studio=studio, in_class=in_class)
        except MakeupError:
            continue
        sessions.append(session)
    counts = seats.seat_counts([session.slot for session in sessions], now=now, with_waiting=True)
    return [
        MakeupChoice(session=session, seats_left=counts[session.slot_id].walk_up_left(session.session_date))
        for session in sessions
    ]


def open_makeups(student, *, now: datetime.datetime | None = None) -> list[Absence]:
    """The student's missed classes with a make-up still to book (not booked, window not over), oldest first."""
    now = now or timezone.now()
    studio = studio_settings()
    absences = (
        Absence.objects.filter(student=student, undone_at__isnull=True, makeup_granted=True)
        .select_related("session__course", "session__slot", "student", "registration")
        .order_by("session__session_date", "pk")
    )
    usable = []
    for absence in absences:
        try:
            _check_usable(absence, now=now, studio=studio)
        except MakeupError:
            continue
        absence.usable_until = usable_until(absence, studio=studio)
        usable.append(absence)
    return usable


# --- writes --------------------------------------------------------------------------------------------------------


def book_makeup(*, absence: Absence, session: ClassSession) -> MakeUp:
    """Book `session` as the make-up for the missed class of `absence`: lock its slot, check, count the seats on its
    date as for a walk-up (the students waiting come first for seats free on every date), write; then email the
    confirmation. Raises NoMakeup, MakeupAlreadyBooked, OutsideWindow, NotOpenForMakeup, AlreadyInClass or
    ClassFull; nothing is written then."""
    studio = studio_settings()
    with transaction.atomic():
        slot = seats.lock_slot(session.slot)
        absence = (
            Absence.objects.select_for_update(of=("self",))
            .select_related("session__course", "session__slot", "student")
            .get(pk=absence.pk)
        )
        session = ClassSession.objects.select_related("course", "slot").get(pk=session.pk)
        now = timezone.now()
        _check_usable(absence, now=now, studio=studio)
        _check_target(absence, session, now=now, studio=studio)
        if seats.walk_up_seats_left(slot, class_date=session.session_date, now=now) <= 0:
            raise ClassFull()
        try:
            with transaction.atomic():  # a savepoint: the same make-up booked from two tabs at once
                makeup = MakeUp.objects.create(absence=absence, session=session, student=absence.student, booked_at=now)
        except IntegrityError:
            raise MakeupAlreadyBooked() from None
        send_email(
            kind="makeup_booked",
            to=absence.student.email,
            about=makeup,
            context=_email_context(makeup, studio=studio),
            dedupe_key=f"makeup_booked:{makeup.pk}",
        )
        seats_changed(session.course_id)
    return makeup


def cancel_makeup(*, makeup: MakeUp, by_studio: bool = False) -> bool:
    """Cancel a booked make-up: its seat is given back (announced: the waitlist hears of it first, unless the class
    itself is canceled) and the make-up is returned, to be booked again. A student may cancel until the make-up
    class's cut-off; the studio at any time (canceling the class cancels its make-ups).

    Returns False when it was already canceled; raises TooLateToCancel after the cut-off."""
    with transaction.atomic():
        seats.lock_slot(makeup.session.slot)
        makeup = MakeUp.objects.select_for_update(of=("self",)).select_related("session__course").get(pk=makeup.pk)
        if makeup.status == MakeUp.Status.CANCELED:
            return False
        now = timezone.now()
        cutoff = makeup_cutoff(makeup.session)
        if not by_studio and now >= cutoff:
            raise TooLateToCancel(
                _("A make-up can be cancelled until %(when)s; it is too late now. Please ask the studio.")
                % {"when": moment(cutoff)}
            )
        _cancel(makeup, by_studio=by_studio, now=now)
    return True


def cancel_makeups_of_registration(sender=None, *, registration: Registration, **kwargs) -> int:
    """registrations.signals.registration_ended: a registration that no longer holds its seat takes its make-up
    classes with it. Each one booked for its missed classes into a class still to come is canceled by the studio and
    its seat announced, so that re-opening the registration later cannot bring it back over that class's capacity; a
    make-up class that has started stays, as the studio's record. Connected in AttendanceConfig.ready(); returns how
    many were canceled.

    It runs in the transaction that ended the registration, under that registration's slot lock: it locks the make-up
    rows, not their classes' slots (one slot lock per transaction; a seat given back needs no count)."""
    now = timezone.now()
    booked = (
        MakeUp.objects.select_for_update(of=("self",))
        .filter(
            status=MakeUp.Status.BOOKED,
            absence__registration=registration,
            session__session_date__gte=timezone.localdate(now),
        )
        .select_related("session__course", "session__slot")
        .order_by("pk")
    )
    canceled = 0
    for makeup in booked:
        if session_starts_at(makeup.session) > now:
            _cancel(makeup, by_studio=True, now=now)
            canceled += 1
    return canceled


def _cancel(makeup: MakeUp, *, by_studio: bool, now: datetime.datetime) -> None:
    """Write a booked make-up (locked by the caller) as canceled and announce its seat, unless its class is canceled."""
    makeup.status = MakeUp.Status.CANCELED
    makeup.canceled_at = now
    makeup.canceled_by_studio = by_studio
    makeup.save(update_fields=["status", "canceled_at", "canceled_by_studio"])
    seats_changed(makeup.session.course_id)
    if not makeup.session.is_canceled:
        seats.announce_freed_seats(makeup.session.slot_id)


def _email_context(makeup: MakeUp, *, studio: StudioSettings) -> dict:
    return {
        "student": makeup.student,
        "makeup": makeup,
        "session": makeup.session,
        "course": makeup.session.course,
        "missed": makeup.absence.session,
        "starts_at": session_starts_at(makeup.session),
        "cutoff": makeup_cutoff(makeup.session, studio=studio),
    }
