"""Can't make it (README "Can't make it: reminders, excused absences and make-up classes").

A student who cannot come to a class says so through the signed link of the reminder email (or the portal's button):
an excused absence. It gives the seat of their registration back on that date at once: the seat rule counts it
(attendance/selectors.py `AttendanceClaims`), and the freed seat is announced so that the waitlist can take it first
(a dated class; on a weekly series a seat free on one date is a walk-up's: a drop-in or a make-up). Told before the
studio's cut-off (`makeup_cutoff_hours` before the class), a paid registration with make-ups left
(`makeups_per_registration`) earns a make-up class, booked in the portal (attendance/makeups.py). Until the cut-off,
and while the seat is still free, the student may undo it.

Every write locks the class's slot (registrations.seats.lock_slot), checks, then writes, in one transaction.
"""

import datetime
from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from attendance.models import Absence, ClassSession, MakeUp
from attendance.selectors import covers_session, session_starts_at
from courses.services import seats_changed
from registrations import seats
from registrations.models import Registration
from students.models import Student
from studio.config import StudioSettings, studio_settings
from studio.emails import ResendRefused

PaymentStatus = Registration.PaymentStatus

TOKEN_SALT = "attendance.cant_make_it"
# A real token is about 30 characters; anything far longer is refused before any signature work.
TOKEN_MAX_LENGTH = 120


class AbsenceError(Exception):
    """A refusal; str(error) is a message for the student, `reason` a code the page shows it by."""

    reason = "refused"
    default_message = _("This could not be done.")

    def __init__(self, message=None):
        super().__init__(message or self.default_message)


class ClassStarted(AbsenceError):
    reason = "started"
    default_message = _("This class has already started, so it is too late to give your seat back.")


class ClassCanceled(AbsenceError):
    reason = "canceled"
    default_message = _("This class is canceled: there is nothing to give back.")


class NotRegistered(AbsenceError):
    reason = "not_registered"
    default_message = _("You no longer have a seat in this class.")


class AlreadyExcused(AbsenceError):
    reason = "already"
    default_message = _("You already told us you can't make it. Nothing has changed.")


class UndoRefused(AbsenceError):
    reason = "undo"


# --- the signed link ---------------------------------------------------------------------------------------------------


def make_token(*, session: ClassSession, student: Student) -> str:
    """The signed "can't make it" token of one student and one class. It needs no sign-in and never expires by
    itself: it is good until the class starts, which the pages check."""
    return signing.dumps([session.pk, student.pk], salt=TOKEN_SALT)


def read_token(token: str) -> tuple[ClassSession, Student] | None:
    """The class and student of a token; None for anything tampered, garbled or naming rows that are gone, or a
    student whose personal data is erased."""
    if not isinstance(token, str) or not 0 < len(token) <= TOKEN_MAX_LENGTH:
        return None
    try:
        value = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(type(n) is int for n in value)):
        return None
    session = ClassSession.objects.select_related("course", "slot").filter(pk=value[0]).first()
    # An erased student is never emailed, and their old links stop working.
    student = Student.objects.filter(pk=value[1], erased_at__isnull=True).first()
    if session is None or student is None:
        return None
    return session, student


def _reminded_student(session: ClassSession, to: str, *, now: datetime.datetime) -> Student | None:
    """The student a class reminder to `to` is for: the one with that address, if they have a seat in the class (a
    registration that covers it, or a make-up booked into it). An address may change hands: the link names whoever
    has it now, and must never name them for a class that is not theirs. None for an erased student."""
    student = Student.objects.filter(email=to, erased_at__isnull=True).first()
    if student is None:
        return None
    if (
        seat_for(session, student, now=now) is None
        and not session.makeups.filter(student=student, status=MakeUp.Status.BOOKED).exists()
    ):
        return None
    return student


def reminder_link_secret(session, to: str) -> str | None:
    """The "can't make it" token put into a class reminder as it is sent (studio.emails.register_secret_link): the
    email log keeps the reminder without it. None when the class is gone, or no student with the address it goes to
    has a seat in it (`_reminded_student`)."""
    if not isinstance(session, ClassSession):
        return None
    student = _reminded_student(session, to, now=timezone.now())
    return make_token(session=session, student=student) if student is not None else None


def check_reminder_resend(session, to: str) -> None:
    """A reminder may be sent again only while its class is to come and to an address still that of a student with a
    seat in it; raises ResendRefused otherwise. The link is the same: it names the student and the class, and expires
    with the class."""
    if not isinstance(session, ClassSession) or session.is_canceled:
        raise ResendRefused(_("This class was canceled or no longer exists: nothing was resent."))
    now = timezone.now()
    if now >= session_starts_at(session):
        raise ResendRefused(_("This class has started: nothing was resent."))
    if not Student.objects.filter(email=to, erased_at__isnull=True).exists():
        raise ResendRefused(_("No student has this address any more (it was changed or erased): nothing was resent."))
    if _reminded_student(session, to, now=now) is None:
        raise ResendRefused(
            _(
                "The student with this address has no seat in this class (the address may have changed hands): nothing was resent."
            )
        )


# --- reads ---------------------------------------------------------------------------------------------------------


def makeup_cutoff(session: ClassSession, *, studio: StudioSettings | None = None) -> datetime.datetime:
    """Until when "can't make it" earns a make-up and can be undone, and a make-up in this class can be cancelled."""
    hours = (studio or studio_settings()).makeup_cutoff_hours
    return session_starts_at(session) - datetime.timedelta(hours=hours)


def seat_for(session: ClassSession, student: Student, *, now: datetime.datetime) -> Registration | None:
    """The student's registration that holds a seat in this class at `now` (a paid one first), or None."""
    candidates = Registration.objects.filter(seats.holds_seat(now), slot_id=session.slot_id, student=student).order_by(
        "payment_status", "pk"
    )  # "completed" sorts before "pending": paid first
    for registration in candidates:
        if covers_session(registration, session):
            return registration
    return None


def makeups_left(registration: Registration, *, studio: StudioSettings | None = None) -> int:
    """Make-ups this registration may still earn: the allowance less the standing absences that earned one."""
    allowance = (studio or studio_settings()).makeups_per_registration
    earned = Absence.objects.filter(registration=registration, makeup_granted=True, undone_at__isnull=True).count()
    return max(0, allowance - earned)


def earns_makeup(
    registration: Registration | None, session: ClassSession, *, now: datetime.datetime, studio: StudioSettings
) -> bool:
    """Told at `now`, would "can't make it" for this class come with a make-up? Before the cut-off, for a paid
    registration with make-ups left (README "Can't make it": the make-up)."""
    return (
        registration is not None
        and now < makeup_cutoff(session, studio=studio)
        and registration.payment_status == PaymentStatus.COMPLETED
        and makeups_left(registration, studio=studio) > 0
    )


def standing_absence(session: ClassSession, student: Student) -> Absence | None:
    return Absence.objects.filter(session=session, student=student, undone_at__isnull=True).first()


@dataclass(frozen=True)
class AbsenceState:
    """What the "can't make it" page shows of one student and one class, read without changing anything."""

    session: ClassSession
    student: Student
    now: datetime.datetime
    starts_at: datetime.datetime
    cutoff: datetime.datetime
    registration: Registration | None  # the student's seat in this class (None: not theirs any more)
    absence: Absence | None  # their standing "can't make it", if they told us already
    earns_makeup: bool  # told now, it would come with a make-up (`earns_makeup`)
    booked_makeup: MakeUp | None  # a make-up booked for this class already

    @property
    def problem(self) -> AbsenceError | None:
        """Why nothing can be told for this class now, or None."""
        if self.session.is_canceled:
            return ClassCanceled()
        if self.now >= self.starts_at:
            return ClassStarted()
        if self.absence is None and self.registration is None:
            return NotRegistered()
        return None

    @property
    def before_cutoff(self) -> bool:
        return self.now < self.cutoff

    @property
    def may_undo(self) -> bool:
        """Undo is offered until the cut-off unless a make-up is booked for it (the seat is checked on the POST)."""
        return self.absence is not None and self.before_cutoff and self.booked_makeup is None and self.problem is None


def absence_state(session: ClassSession, student: Student, *, now: datetime.datetime | None = None) -> AbsenceState:
    """The state of one student's class for the "can't make it" page."""
    now = now or timezone.now()
    studio = studio_settings()
    absence = standing_absence(session, student)
    registration = absence.registration if absence is not None else seat_for(session, student, now=now)
    return AbsenceState(
        session=session,
        student=student,
        now=now,
        starts_at=session_starts_at(session),
        cutoff=makeup_cutoff(session, studio=studio),
        registration=registration,
        absence=absence,
        earns_makeup=earns_makeup(registration, session, now=now, studio=studio),
        booked_makeup=absence.makeups.filter(status=MakeUp.Status.BOOKED).first() if absence is not None else None,
    )


# --- writes --------------------------------------------------------------------------------------------------------


def report_absence(*, session: ClassSession, student: Student, channel: str) -> Absence:
    """The student can't make it to this class: record the excused absence, which gives their seat back on that
    date (the waitlist hears of it first), with a make-up when told before the cut-off and one is left.

    Raises ClassCanceled, ClassStarted, NotRegistered or AlreadyExcused; nothing is written then.
    """
    studio = studio_settings()
    with transaction.atomic():
        slot = seats.lock_slot(session.slot)
        session = ClassSession.objects.select_related("course", "slot").get(pk=session.pk)
        now = timezone.now()
        if session.is_canceled:
            raise ClassCanceled()
        if now >= session_starts_at(session):
            raise ClassStarted()
        if standing_absence(session, student) is not None:
            raise AlreadyExcused()
        registration = seat_for(session, student, now=now)
        if registration is None:
            raise NotRegistered()
        absence = Absence.objects.create(
            session=session,
            student=student,
            registration=registration,
            reported_at=now,
            channel=channel,
            makeup_granted=earns_makeup(registration, session, now=now, studio=studio),
        )
        seats_changed(session.course_id)
        seats.announce_freed_seats(slot)
    return absence


def undo_absence(*, absence: Absence) -> Absence:
    """The student can come after all: take the seat back, until the cut-off, if it is still free and no make-up is
    booked for the class. Raises UndoRefused (or ClassCanceled) with the reason; nothing is written then."""
    with transaction.atomic():
        slot = seats.lock_slot(absence.session.slot)
        absence = (
            Absence.objects.select_for_update(of=("self",))
            .select_related("session__course", "session__slot", "student")
            .get(pk=absence.pk)
        )
        session = absence.session
        now = timezone.now()
        if absence.undone_at is not None:
            raise UndoRefused(_("This was undone already: you are expected in class."))
        if session.is_canceled:
            raise ClassCanceled()
        if now >= makeup_cutoff(session):
            raise UndoRefused(_("It is too late to undo this: the class is too close. Please ask the studio."))
        if absence.makeups.filter(status=MakeUp.Status.BOOKED).exists():
            raise UndoRefused(_("You booked a make-up class for this one: cancel the make-up first."))
        if seats.seats_left(slot, class_date=session.session_date, now=now) <= 0:
            raise UndoRefused(_("Your seat has gone to someone else, so this cannot be undone."))
        absence.undone_at = now
        absence.save(update_fields=["undone_at"])
        seats_changed(session.course_id)
    return absence
