"""Write side of attendance: generate and cancel class sessions, mark who came.

Admin actions and the door views call these functions and nothing else writes sessions or records.
"""

import uuid
from dataclasses import dataclass
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from attendance.makeups import cancel_makeup
from attendance.models import AttendanceRecord, ClassSession, MakeUp
from attendance.selectors import has_studio_records, session_roster
from courses.formatting import day, time_of_day
from courses.models import Course
from registrations import ledger
from students.models import Student
from studio.emails import send_email


class AttendanceError(Exception):
    """Base of every refusal; str(error) is a translated message for the staff user."""


class SessionCanceled(AttendanceError):
    pass


class SessionInFuture(AttendanceError):
    pass


class InvalidMark(AttendanceError):
    pass


class MarkChanged(AttendanceError):
    """A tap made on a mark that someone else has changed since."""


@dataclass(frozen=True)
class MarksSaved:
    """What a roster save did: the records written, and the stored marks it left alone because someone else (another
    tablet, the admin) changed them after the page showed them."""

    written: list[AttendanceRecord]
    changed_meanwhile: list[AttendanceRecord]


class NotOnRoster(AttendanceError):
    def __init__(self, message, *, student_ids: set[int]):
        super().__init__(message)
        self.student_ids = student_ids


def delete_sessions(*, sessions) -> tuple[int, list[ClassSession]]:
    """Delete class sessions made by mistake; a session with attendance, an excused absence or a make-up class is the
    studio's record and is kept (cancel it instead). Returns (how many were deleted, the sessions kept)."""
    deleted, kept = 0, []
    for session in sessions:
        with transaction.atomic():
            if has_studio_records(session):
                kept.append(session)
                continue
            session.delete()
            deleted += 1
    return deleted, kept


def generate_class_sessions(*, course: Course) -> list[ClassSession]:
    """Creates the missing sessions of a course: one per slot and class date (weekly on the slot's weekday between
    the course dates, or the dated slot's one date) with the slot's local times and location. Idempotent: a slot
    and date that already has a session (edited or canceled) is left alone. Returns the new sessions."""
    with transaction.atomic():
        # Lock the course: two clicks on the admin action must not both insert the same slot and date.
        course = Course.objects.select_for_update().get(pk=course.pk)
        slots = list(course.slots.order_by("pk"))
        for slot in slots:
            slot.course = course  # class_dates() reads the course dates; spare one query per slot
        existing = set(ClassSession.objects.filter(slot__in=slots).values_list("slot_id", "session_date"))
        # Dates and wall-clock times in the studio's zone, never "start + 7 days" on an aware datetime: a class at
        # 18:30 stays at 18:30 across a DST change (docs/bad-inputs.md #51).
        sessions = [
            ClassSession(
                course=course,
                slot=slot,
                session_date=class_date,
                start_time=slot.start_time,
                end_time=slot.end_time,
                location=slot.location,
            )
            for slot in slots
            for class_date in slot.class_dates()
            if (slot.pk, class_date) not in existing
        ]
        for session in sessions:
            # Own fields only: the slot and course are the rows just read, and (slot, date) was checked above under
            # the course lock.
            session.full_clean(exclude=["course", "slot"], validate_unique=False, validate_constraints=False)
        ClassSession.objects.bulk_create(sessions)
    return sessions


CANCEL_REASON_MAX_LENGTH = ClassSession._meta.get_field("cancel_reason").max_length


class SessionHasAttendance(AttendanceError):
    pass


def cancel_session(*, session: ClassSession, reason: str = "") -> bool:
    """Cancels a class session (is_canceled, canceled_at, the reason) and, if it has not taken place yet, grants every
    student who paid for it their share of the price as account credit (registrations.ledger.credit_canceled_class)
    and, after the commit, emails everyone on its roster the reason; the make-ups booked into it are canceled and
    returned to their students. Idempotent: returns False and changes nothing when it was already canceled."""
    reason = str(reason).strip()[:CANCEL_REASON_MAX_LENGTH]
    with transaction.atomic():
        # of=self: lock the session only, not the joined slot that registrations lock to count seats.
        session = (
            ClassSession.objects.select_for_update(of=("self",)).select_related("course", "slot").get(pk=session.pk)
        )
        if session.is_canceled:
            return False
        session.is_canceled = True
        session.canceled_at = timezone.now()
        session.cancel_reason = reason
        session.save(update_fields=["is_canceled", "canceled_at", "cancel_reason", "updated_at"])
        # A past session canceled after the fact (it did not happen) only leaves the completion figures.
        if session.session_date >= timezone.localdate():
            # A student who had excused themselves from it gave that class up already (with a make-up, if in time).
            excused = frozenset(
                session.absences.filter(undone_at__isnull=True).values_list("registration_id", flat=True)
            )
            credits = ledger.credit_canceled_class(slot=session.slot, class_date=session.session_date, excused=excused)
            for entry in session_roster(session).entries:
                transaction.on_commit(
                    partial(
                        _email_session_canceled,
                        session=session,
                        student=entry.student,
                        makeup=entry.makeup,
                        credit=credits.get(entry.student.pk),
                    ),
                    robust=True,  # one bad address must not stop the other emails
                )
        for makeup in MakeUp.objects.filter(session=session, status=MakeUp.Status.BOOKED):
            cancel_makeup(makeup=makeup, by_studio=True)
    return True


def cancel_sessions_on_closure(sender, *, date, reason: str, **kwargs) -> int:
    """courses.signals.closure_added: the studio closed `date`, so its sessions are canceled with the closure's reason
    (their rosters are emailed). Connected in AttendanceConfig.ready(); returns how many were canceled."""
    return sum(
        cancel_session(session=session, reason=reason)
        for session in ClassSession.objects.filter(session_date=date, is_canceled=False)
    )


def _email_session_canceled(
    *, session: ClassSession, student: Student, makeup: MakeUp | None = None, credit=None
) -> None:
    send_email(
        kind="session_canceled",
        to=student.email,
        about=session,
        context={
            "student": student,
            "session": session,
            "course": session.course,
            "makeup": makeup,
            "credit": credit,
        },
        dedupe_key=f"session_canceled:{session.pk}:{student.pk}",
    )


def _lock_for_marking(session: ClassSession, marks: dict[int, str]):
    """Lock the session row and check that `marks` may be saved now; returns the session re-read and its roster.

    Taps and a bulk save on one session run one after the other, and a cancel cannot slip in between the check and
    the write. Raises SessionCanceled, SessionInFuture, InvalidMark or NotOnRoster."""
    session = ClassSession.objects.select_for_update(of=("self",)).select_related("course", "slot").get(pk=session.pk)
    if session.is_canceled:
        raise SessionCanceled(_("This class was canceled; attendance cannot be marked."))
    if session.session_date > timezone.localdate():
        raise SessionInFuture(
            _("This class is on %(date)s; attendance can be marked from that day on.")
            % {"date": day(session.session_date)}
        )
    if any(status not in AttendanceRecord.Status.values for status in marks.values()):
        raise InvalidMark(_("Choose present, late or absent."))
    roster = session_roster(session)
    outsiders = set(marks) - roster.student_ids
    if outsiders:
        names = sorted(student.full_name for student in Student.objects.filter(pk__in=outsiders))
        raise NotOnRoster(
            ngettext(
                "%(names)s is not on this class's roster (no paid or held registration for it). Nothing was saved.",
                "%(names)s are not on this class's roster (no paid or held registration for it). Nothing was saved.",
                len(outsiders),
            )
            % {"names": ", ".join(names) or _("An unknown student")},
            student_ids=outsiders,
        )
    return session, roster


def _write_marks(
    session: ClassSession, roster, marks: dict[int, str], *, marked_by, tap_id: uuid.UUID | None = None
) -> list[AttendanceRecord]:
    now = timezone.now()
    stored = {entry.student.pk: entry.record.status for entry in roster.entries if entry.record is not None}
    records = [
        AttendanceRecord(
            session=session, student_id=student_id, status=status, marked_by=marked_by, marked_at=now, tap_id=tap_id
        )
        for student_id, status in sorted(marks.items())
        if stored.get(student_id) != status
    ]
    # Statuses were checked by the caller. An upsert rather than insert-or-update: one row per (session, student) even
    # if a record appeared that the roster read did not see (e.g. written by the admin outside the session lock).
    AttendanceRecord.objects.bulk_create(
        records,
        update_conflicts=True,
        unique_fields=["session", "student"],
        update_fields=["status", "marked_by", "marked_at", "tap_id"],
    )
    return records


def _changed_meanwhile(record: AttendanceRecord | None, *, was: str | None, status: str) -> bool:
    """Whether saving `status` would overwrite a mark someone else stored after the page showed `was` ("" for none;
    None: unknown, no check). A mark already equal to `status`, or a first mark, overwrites nothing."""
    return record is not None and was is not None and record.status not in (was, status)


def changed_by(record: AttendanceRecord) -> str:
    """Who changed a mark meanwhile, in words: "Marked “Late” by door at 7:05 pm meanwhile."."""
    return _("Marked “%(status)s” by %(who)s at %(time)s meanwhile.") % {
        "status": record.get_status_display(),
        "who": record.marked_by.get_username() if record.marked_by else _("the studio"),
        "time": time_of_day(timezone.localtime(record.marked_at).time()),
    }


def mark_attendance(
    *,
    session: ClassSession,
    marks: dict[int, str],
    marked_by: AbstractBaseUser | None,
    was: dict[int, str] | None = None,
) -> MarksSaved:
    """Upserts one AttendanceRecord per marked student (status, marked_by, marked_at), all or nothing. Only students
    on the session's roster (the allow-list) of a session that is not canceled and not in the future; raises
    SessionCanceled, SessionInFuture, InvalidMark or NotOnRoster. Unchanged marks are not rewritten, so a bulk
    save keeps who marked whom.

    `was`: the mark the page showed for each student ("" for none). A student whose stored mark has changed since
    (another tablet, the admin) keeps it: it is reported in `changed_meanwhile`, never overwritten."""
    was = was or {}
    with transaction.atomic():
        session, roster = _lock_for_marking(session, marks)
        changed = [
            entry.record
            for entry in roster.entries
            if entry.student.pk in marks
            and _changed_meanwhile(entry.record, was=was.get(entry.student.pk), status=marks[entry.student.pk])
        ]
        kept = {record.student_id for record in changed}
        marks = {student_id: status for student_id, status in marks.items() if student_id not in kept}
        return MarksSaved(written=_write_marks(session, roster, marks, marked_by=marked_by), changed_meanwhile=changed)


def mark_tap(
    *,
    session: ClassSession,
    student_id: int,
    status: str,
    marked_by: AbstractBaseUser | None,
    tap_id: uuid.UUID | None = None,
    was: str | None = None,
) -> list[AttendanceRecord]:
    """One tap of the door tablet, which may arrive late (kept while offline, sent when the connection is back) or
    twice (an answer lost on the way, a page reloaded): the tap is idempotent.

    `tap_id` names the tap: sent again, it changes nothing. `was` is the mark the tablet showed when the tap was made
    ("" for none): if the stored mark has changed meanwhile (another tablet, the admin), the tap is refused with
    MarkChanged rather than overwrite it. Otherwise as mark_attendance for one student; returns the records written
    (none when nothing changed)."""
    with transaction.atomic():
        session, roster = _lock_for_marking(session, {student_id: status})
        record = roster.entry_for(student_id).record
        if record is not None and tap_id is not None and record.tap_id == tap_id:
            return []  # this very tap was saved before
        if _changed_meanwhile(record, was=was, status=status):
            raise MarkChanged(f"{changed_by(record)} {_('Tap again to change it.')}")
        return _write_marks(session, roster, {student_id: status}, marked_by=marked_by, tap_id=tap_id)
