"""Read side of attendance: who is on a session's roster, the door's list of sessions, course completion.

One rule decides whether a registration covers a session (`covers_session`); the roster, the door list and the
completion matrix all use it, so they cannot disagree.
"""

import datetime
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession
from courses.models import Course, CoursePricing
from registrations import seats
from registrations.models import Registration
from registrations.pricing import covers_class
from students.models import Student

PaymentStatus = Registration.PaymentStatus
Status = AttendanceRecord.Status

# How far the door page looks back and ahead.
DOOR_WINDOW_DAYS = 7
# A session counts as "now" from this long before it starts until it ends.
NOW_LEAD_TIME = datetime.timedelta(minutes=30)


def session_starts_at(session: ClassSession) -> datetime.datetime:
    """The aware start of a session: its date and local wall time in the studio's time zone (DST-safe)."""
    return timezone.make_aware(datetime.datetime.combine(session.session_date, session.start_time))


def session_ends_at(session: ClassSession) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(session.session_date, session.end_time))


def covers_session(
    *,
    slot_id: int,
    class_date: datetime.date | None,
    first_class_date: datetime.date | None,
    pricing_type: str,
    session: ClassSession,
    is_dated: bool,
) -> bool:
    """Whether a registration (slot, class date, first class, pricing type) is for this session: of its slot, and a
    class it covers (registrations.pricing.covers_class: a late joiner's registration starts at its first class)."""
    return slot_id == session.slot_id and covers_class(
        pricing_type=pricing_type,
        class_date=class_date,
        first_class_date=first_class_date,
        day=session.session_date,
        is_dated=is_dated,
    )


def _folded(text: str) -> str:
    """ "Émile" sorts with "emile": accents dropped, case folded."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def _name_key(student: Student) -> tuple:
    # Sorted in Python: SQLite and PostgreSQL collate accents and case differently. First name first: that is
    # the name the instructor knows at the door.
    return (_folded(student.first_name), _folded(student.last_name), student.first_name, student.last_name, student.pk)


@dataclass
class RosterEntry:
    student: Student
    is_paid: bool
    is_drop_in: bool
    record: AttendanceRecord | None = None
    # What a refused form had posted for this student: shown instead of the stored mark so nothing is lost.
    posted: str = ""

    @property
    def selected(self) -> str:
        """The mark shown on the page."""
        if self.posted:
            return self.posted
        return self.record.status if self.record is not None else ""


@dataclass
class Roster:
    """A session's roster: paid students and, apart, unpaid ones whose seat hold has not run out."""

    session: ClassSession
    paid: list[RosterEntry]
    unpaid: list[RosterEntry]

    @property
    def entries(self) -> list[RosterEntry]:
        return [*self.paid, *self.unpaid]

    @property
    def student_ids(self) -> set[int]:
        return {entry.student.pk for entry in self.entries}

    @property
    def size(self) -> int:
        return len(self.paid) + len(self.unpaid)

    @property
    def marked_count(self) -> int:
        return sum(1 for entry in self.entries if entry.record is not None)

    def entry_for(self, student_id: int) -> RosterEntry | None:
        return next((entry for entry in self.entries if entry.student.pk == student_id), None)


def session_roster(session: ClassSession, *, now: datetime.datetime | None = None) -> Roster:
    """The roster of a session in two queries: completed registrations of its slot (full package, or a drop-in on
    its date) sorted by name, plus pending ones still holding a seat, listed apart as unpaid; each with its record."""
    now = now or timezone.now()
    is_dated = session.course.is_dated
    registrations = (
        Registration.objects.filter(seats.holds_seat(now), slot_id=session.slot_id)
        .filter(Q(class_date__isnull=True) | Q(class_date=session.session_date))
        # Only the registration columns the roster reads (but the whole student: callers show and email it).
        # Building model instances is most of this query's time on a 60-student class.
        .only("slot_id", "class_date", "first_class_date", "pricing_type", "payment_status", "student")
        .select_related("student")
        .order_by("pk")
    )
    by_student: dict[int, RosterEntry] = {}
    for registration in registrations:
        if not covers_session(
            slot_id=registration.slot_id,
            class_date=registration.class_date,
            first_class_date=registration.first_class_date,
            pricing_type=registration.pricing_type,
            session=session,
            is_dated=is_dated,
        ):
            continue
        is_paid = registration.payment_status == PaymentStatus.COMPLETED
        known = by_student.get(registration.student_id)
        if known is not None and (known.is_paid or not is_paid):
            continue  # a student with two registrations for this class appears once, paid if either is
        by_student[registration.student_id] = RosterEntry(
            student=registration.student,
            is_paid=is_paid,
            is_drop_in=registration.pricing_type == CoursePricing.PricingType.DROP_IN,
        )
    if by_student:
        # All of the session's records, unordered: the default ordering would join two tables only to sort what
        # the dict then holds, and a list of 60 ids costs more to build than the rare record of someone off the
        # roster (a canceled registration) costs to skip.
        for record in AttendanceRecord.objects.filter(session=session).order_by():
            if record.student_id in by_student:
                by_student[record.student_id].record = record
    entries = sorted(by_student.values(), key=lambda entry: _name_key(entry.student))
    return Roster(
        session=session,
        paid=[entry for entry in entries if entry.is_paid],
        unpaid=[entry for entry in entries if not entry.is_paid],
    )


@dataclass
class DoorSessions:
    today: list[ClassSession]
    upcoming: list[ClassSession]
    recent: list[ClassSession]


def door_sessions(*, now: datetime.datetime | None = None, days: int = DOOR_WINDOW_DAYS) -> DoorSessions:
    """Sessions for the door page in three queries: today's, the next `days` days', the last `days` days' (most
    recent first); `days=0` for today's alone (the admin dashboard).

    Each session carries `.roster_size`, `.marked_count` and `.is_now` (starting within 30 minutes or running).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    window = datetime.timedelta(days=days)
    sessions = list(
        ClassSession.objects.filter(session_date__range=(today - window, today + window)).select_related(
            "course", "slot"
        )
    )
    # Grouped by slot: each session looks only at its own slot's registrations, not at every one in the window.
    registrations_by_slot = defaultdict(list)
    for slot_id, class_date, first_class_date, pricing_type, student_id in Registration.objects.filter(
        seats.holds_seat(now), slot_id__in={s.slot_id for s in sessions}
    ).values_list("slot_id", "class_date", "first_class_date", "pricing_type", "student_id"):
        registrations_by_slot[slot_id].append((class_date, first_class_date, pricing_type, student_id))
    marked = set(AttendanceRecord.objects.filter(session__in=sessions).values_list("session_id", "student_id"))
    for session in sessions:
        roster = {
            student_id
            for class_date, first_class_date, pricing_type, student_id in registrations_by_slot[session.slot_id]
            if covers_session(
                slot_id=session.slot_id,
                class_date=class_date,
                first_class_date=first_class_date,
                pricing_type=pricing_type,
                session=session,
                is_dated=session.course.is_dated,
            )
        }
        session.roster_size = len(roster)
        session.marked_count = sum(1 for student_id in roster if (session.pk, student_id) in marked)
        session.is_now = session.session_date == today and session_starts_at(
            session
        ) - NOW_LEAD_TIME <= now <= session_ends_at(session)
    return DoorSessions(
        today=[s for s in sessions if s.session_date == today],
        upcoming=[s for s in sessions if s.session_date > today],
        recent=sorted(
            (s for s in sessions if s.session_date < today),
            key=lambda s: (s.session_date, s.start_time),
            reverse=True,
        ),
    )


@dataclass(frozen=True)
class CompletionCell:
    expected: bool  # the student was registered for this session (or was marked at it)
    status: str | None  # present / late / absent, or None when not marked

    @property
    def attended(self) -> bool:
        return self.status in (Status.PRESENT, Status.LATE)


@dataclass
class CompletionRow:
    student: Student
    cells: list[CompletionCell]
    is_registered: bool  # has a paid registration; False for someone only marked (e.g. unpaid at the door)

    @property
    def attended(self) -> int:
        return sum(1 for cell in self.cells if cell.expected and cell.attended)

    @property
    def expected(self) -> int:
        return sum(1 for cell in self.cells if cell.expected)

    @property
    def percent(self) -> int | None:
        """(present + late) / sessions held so far that this student was registered for, rounded; None if none."""
        if not self.expected:
            return None
        return round(100 * self.attended / self.expected)


@dataclass
class CompletionMatrix:
    course: Course
    sessions: list[ClassSession]  # held so far: not canceled, session_date <= today
    rows: list[CompletionRow]


def completion_for_course(
    course: Course, *, today: datetime.date | None = None, since: datetime.date | None = None
) -> CompletionMatrix:
    """Students × held sessions of a course with each student's completion, in three queries.

    Held = not canceled and on or before today (studio time), and on or after `since` when given (a period). A
    student is expected at the held sessions their paid registrations cover (their own slot; a drop-in's one date)
    and at any session they were marked at; completion = (present + late) / expected.
    """
    today = today or timezone.localdate()
    held = ClassSession.objects.filter(course=course, is_canceled=False, session_date__lte=today)
    if since is not None:
        held = held.filter(session_date__gte=since)
    sessions = list(held.order_by("session_date", "start_time", "pk"))
    registrations = list(
        Registration.objects.filter(course=course, payment_status=PaymentStatus.COMPLETED)
        .select_related("student")
        .order_by("pk")
    )
    records = list(AttendanceRecord.objects.filter(session__in=sessions).select_related("student").order_by("pk"))
    students: dict[int, Student] = {}
    expected: set[tuple[int, int]] = set()  # (student id, session id)
    for registration in registrations:
        students[registration.student_id] = registration.student
        for session in sessions:
            if covers_session(
                slot_id=registration.slot_id,
                class_date=registration.class_date,
                first_class_date=registration.first_class_date,
                pricing_type=registration.pricing_type,
                session=session,
                is_dated=course.is_dated,
            ):
                expected.add((registration.student_id, session.pk))
    registered = set(students)
    statuses: dict[tuple[int, int], str] = {}
    for record in records:
        students.setdefault(record.student_id, record.student)
        statuses[(record.student_id, record.session_id)] = record.status
        expected.add((record.student_id, record.session_id))
    rows = [
        CompletionRow(
            student=student,
            is_registered=student.pk in registered,
            cells=[
                CompletionCell(
                    expected=(student.pk, session.pk) in expected, status=statuses.get((student.pk, session.pk))
                )
                for session in sessions
            ],
        )
        for student in sorted(students.values(), key=_name_key)
    ]
    return CompletionMatrix(course=course, sessions=sessions, rows=rows)
