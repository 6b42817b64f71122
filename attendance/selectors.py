"""Read side of attendance: who is on a session's roster, the door's list of sessions, course completion, and the
seats that excused absences give back and make-up classes take (`AttendanceClaims`, counted by the seat rule).

One rule decides whether a registration covers a session (`covers_session`); the roster, the door list and the
completion matrix all use it, so they cannot disagree. Excused absences and make-up classes count while the
registration they come from holds its seat (`standing_absences`, `booked_makeups`).
"""

import datetime
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Value
from django.utils import timezone

from attendance.models import Absence, AttendanceRecord, ClassSession, MakeUp
from courses.models import Course, CoursePricing
from registrations import seats
from registrations.models import Registration
from registrations.pricing import covers_class
from students.models import Student

PaymentStatus = Registration.PaymentStatus
Status = AttendanceRecord.Status
ATTENDED = (Status.PRESENT, Status.LATE)

# How far the door page looks back and ahead.
DOOR_WINDOW_DAYS = 7
# A session counts as "now" from this long before it starts until it ends.
NOW_LEAD_TIME = datetime.timedelta(minutes=30)


def session_starts_at(session: ClassSession) -> datetime.datetime:
    """The aware start of a session: its date and local wall time in the studio's time zone (DST-safe)."""
    return timezone.make_aware(datetime.datetime.combine(session.session_date, session.start_time))


def session_ends_at(session: ClassSession) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(session.session_date, session.end_time))


def has_studio_records(session: ClassSession) -> bool:
    """Whether a session holds the studio's records (attendance, an excused absence, a make-up class): such a session
    is never deleted (cancel it instead), and its course, time slot and date no longer change."""
    return (
        AttendanceRecord.objects.filter(session=session).exists()
        or Absence.objects.filter(session=session).exists()
        or MakeUp.objects.filter(session=session).exists()
    )


def covers_session(registration, session: ClassSession, *, is_dated: bool | None = None) -> bool:
    """Whether a registration (or a row with its slot_id, class_date, first_class_date and pricing_type) is for this
    session: of its slot, and a class it covers (registrations.pricing.covers_class: a late joiner's registration
    starts at its first class). `is_dated`: the session's course's, when the caller has it at hand."""
    return registration.slot_id == session.slot_id and covers_class(
        pricing_type=registration.pricing_type,
        class_date=registration.class_date,
        first_class_date=registration.first_class_date,
        day=session.session_date,
        is_dated=session.course.is_dated if is_dated is None else is_dated,
    )


# --- excused absences and make-up classes ------------------------------------------------------------------------------


def _holding_seats(now: datetime.datetime) -> QuerySet[Registration]:
    # Unordered: a subquery has no use for the model's ordering (and a UNION refuses it).
    return Registration.objects.filter(seats.holds_seat(now)).order_by().values("pk")


def standing_absences(now: datetime.datetime) -> QuerySet[Absence]:
    """Excused absences that give a seat back at `now`: not undone, of a registration that holds its seat."""
    return Absence.objects.filter(undone_at__isnull=True, registration__in=_holding_seats(now))


def booked_makeups(now: datetime.datetime) -> QuerySet[MakeUp]:
    """Make-up classes that take a seat at `now`: booked, for a missed class of a registration that holds its seat."""
    return MakeUp.objects.filter(status=MakeUp.Status.BOOKED, absence__registration__in=_holding_seats(now))


class AttendanceClaims(seats.SeatClaims):
    """A make-up class takes a seat on its date; an excused absence gives one back on its date (connected in
    AttendanceConfig.ready()). Dates before today are left out: nobody takes a seat in a class that is over."""

    def held_by_date(self, slot_ids, *, now):
        today = timezone.localdate(now)
        where = {"session__slot_id__in": slot_ids, "session__session_date__gte": today}
        columns = ("session__slot_id", "session__session_date")
        given_back = (
            standing_absences(now).filter(**where).values_list(*columns).annotate(n=Count("pk") * Value(-1)).order_by()
        )
        taken = booked_makeups(now).filter(**where).values_list(*columns).annotate(n=Count("pk")).order_by()
        held: dict[int, dict[datetime.date, int]] = defaultdict(lambda: defaultdict(int))
        for slot_id, day, n in given_back.union(taken, all=True).order_by():
            held[slot_id][day] += n
        return held


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
    registration: Registration | None = None  # None for a make-up student (their registration is another class's)
    absence: Absence | None = None  # the student told us they can't make it (excused)
    makeup: MakeUp | None = None  # the student comes as a make-up for a class they missed
    # What a refused form had posted for this student: shown instead of the stored mark so nothing is lost.
    posted: str = ""
    # The mark a refused form said its page had shown (None: not posted).
    posted_was: str | None = None

    @property
    def selected(self) -> str:
        """The mark shown on the page."""
        if self.posted:
            return self.posted
        return self.record.status if self.record is not None else ""

    @property
    def was(self) -> str:
        """The stored mark the page shows ("" for none), which a save may overwrite; after a refused form, the one
        its page had shown."""
        if self.posted_was is not None:
            return self.posted_was
        return self.record.status if self.record is not None else ""

    @property
    def is_excused(self) -> bool:
        return self.absence is not None

    @property
    def is_accounted_for(self) -> bool:
        """Marked, or excused: nothing left to do for this student at the door."""
        return self.record is not None or self.absence is not None


@dataclass
class Roster:
    """A session's roster: paid students (make-up students among them) and, apart, unpaid ones whose seat hold has
    not run out. Excused students stay on it, marked as excused."""

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
        """Students marked or excused."""
        return sum(1 for entry in self.entries if entry.is_accounted_for)

    def entry_for(self, student_id: int) -> RosterEntry | None:
        return next((entry for entry in self.entries if entry.student.pk == student_id), None)


def session_roster(session: ClassSession, *, now: datetime.datetime | None = None) -> Roster:
    """The roster of a session in four queries, sorted by name: completed registrations of its slot (full package,
    or a drop-in on its date) and the make-up students booked into it, plus pending registrations still holding a
    seat, listed apart as unpaid; each with its record, and with the student's excused absence if they told us."""
    now = now or timezone.now()
    is_dated = session.course.is_dated
    registrations = (
        Registration.objects.filter(seats.holds_seat(now), slot_id=session.slot_id)
        .filter(Q(class_date__isnull=True) | Q(class_date=session.session_date))
        # Only the registration columns the roster reads (but the whole student: callers show and email it).
        # Building model instances is most of this query's time on a 60-student class.
        .only(
            "slot_id",
            "class_date",
            "first_class_date",
            "pricing_type",
            "payment_status",
            "payment_due_at",
            "public_id",
            "student",
        )
        .select_related("student")
        .order_by("pk")
    )
    by_student: dict[int, RosterEntry] = {}
    for registration in registrations:
        if not covers_session(registration, session, is_dated=is_dated):
            continue
        is_paid = registration.payment_status == PaymentStatus.COMPLETED
        known = by_student.get(registration.student_id)
        if known is not None and (known.is_paid or not is_paid):
            continue  # a student with two registrations for this class appears once, paid if either is
        by_student[registration.student_id] = RosterEntry(
            student=registration.student,
            is_paid=is_paid,
            is_drop_in=registration.pricing_type == CoursePricing.PricingType.DROP_IN,
            registration=registration,
        )
    for makeup in booked_makeups(now).filter(session=session).select_related("student", "absence__session__course"):
        if makeup.student_id not in by_student:
            by_student[makeup.student_id] = RosterEntry(
                student=makeup.student, is_paid=True, is_drop_in=False, makeup=makeup
            )
    if by_student:
        # All of the session's records, unordered: the default ordering would join two tables only to sort what
        # the dict then holds, and a list of 60 ids costs more to build than the rare record of someone off the
        # roster (a canceled registration) costs to skip.
        for record in AttendanceRecord.objects.filter(session=session).order_by():
            if record.student_id in by_student:
                by_student[record.student_id].record = record
        for absence in standing_absences(now).filter(session=session).order_by():
            if absence.student_id in by_student:
                by_student[absence.student_id].absence = absence
    entries = sorted(by_student.values(), key=lambda entry: _name_key(entry.student))
    return Roster(
        session=session,
        paid=[entry for entry in entries if entry.is_paid],
        unpaid=[entry for entry in entries if not entry.is_paid],
    )


def was_on_roster(session: ClassSession, student_id: int) -> bool:
    """Whether the student had a place on this roster at some time (a registration that covered the class, in any
    status, or a make-up): a tap for them that is refused now comes from a roster that changed meanwhile."""
    registrations = Registration.objects.filter(slot_id=session.slot_id, student_id=student_id).only(
        "slot_id", "class_date", "first_class_date", "pricing_type"
    )
    return MakeUp.objects.filter(session=session, student_id=student_id).exists() or any(
        covers_session(registration, session) for registration in registrations
    )


@dataclass
class DoorSessions:
    today: list[ClassSession]
    upcoming: list[ClassSession]
    recent: list[ClassSession]


def door_sessions(*, now: datetime.datetime | None = None, days: int = DOOR_WINDOW_DAYS) -> DoorSessions:
    """Sessions for the door page in five queries: today's, the next `days` days', the last `days` days' (most
    recent first); `days=0` for today's alone (the admin dashboard).

    Each session carries `.roster_size` (make-up students included), `.marked_count` (marked or excused) and
    `.is_now` (starting within 30 minutes or running).
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
    for row in Registration.objects.filter(
        seats.holds_seat(now), slot_id__in={s.slot_id for s in sessions}
    ).values_list("slot_id", "class_date", "first_class_date", "pricing_type", "student_id", named=True):
        registrations_by_slot[row.slot_id].append(row)
    marked = set(AttendanceRecord.objects.filter(session__in=sessions).values_list("session_id", "student_id"))
    marked |= set(standing_absences(now).filter(session__in=sessions).values_list("session_id", "student_id"))
    makeups_by_session = defaultdict(set)
    for session_id, student_id in booked_makeups(now).filter(session__in=sessions).values_list("session_id", "student"):
        makeups_by_session[session_id].add(student_id)
    for session in sessions:
        roster = makeups_by_session[session.pk] | {
            row.student_id for row in registrations_by_slot[session.slot_id] if covers_session(row, session)
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
    expected: bool  # the student was registered for this session (or was marked at it, not as a make-up)
    status: str | None  # present / late / absent, or None when not marked
    excused: bool = False  # the student told us they could not make it
    made_up_at: ClassSession | None = None  # the make-up class the student attended for this one
    makeup_for: ClassSession | None = None  # this session was the student's make-up for that missed one

    @property
    def attended(self) -> bool:
        """Present or late; for a missed class, its make-up attended. A make-up counts for the missed class."""
        if self.made_up_at is not None:
            return True
        return self.makeup_for is None and self.status in ATTENDED

    @property
    def status_label(self) -> str:
        return str(Status(self.status).label) if self.status else ""

    @property
    def is_absent(self) -> bool:
        return self.status == Status.ABSENT and not self.attended

    @property
    def is_excused_only(self) -> bool:
        """Excused and not made up (yet): counted apart from an absence."""
        return self.excused and not self.attended


@dataclass
class CompletionRow:
    student: Student
    cells: list[CompletionCell]
    is_registered: bool  # has a paid registration; False for someone only marked (e.g. unpaid at the door)

    @property
    def attended(self) -> int:
        return sum(1 for cell in self.cells if cell.expected and cell.attended)

    @property
    def excused(self) -> int:
        """Excused absences not made up."""
        return sum(1 for cell in self.cells if cell.expected and cell.is_excused_only)

    @property
    def absent(self) -> int:
        return sum(1 for cell in self.cells if cell.expected and cell.is_absent)

    @property
    def expected(self) -> int:
        return sum(1 for cell in self.cells if cell.expected)

    @property
    def is_makeup_only(self) -> bool:
        """On this course's matrix only for the make-up classes they came to."""
        return not self.is_registered and not self.expected and any(cell.makeup_for for cell in self.cells)

    @property
    def percent(self) -> int | None:
        """(present + late + make-ups attended) / sessions held so far that this student was registered for,
        rounded; None if none."""
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
    """Students × held sessions of a course with each student's completion, in six queries.

    Held = not canceled and on or before today (studio time), and on or after `since` when given (a period). A
    student is expected at the held sessions their paid registrations cover (their own slot; a drop-in's one date)
    and at any session they were marked at, except as a make-up; completion = (present + late + make-ups attended) /
    expected. An excused absence is shown and counted apart from an absence; its make-up class, once attended (marked
    present or late), counts for it. Students who came to a session of this course as a make-up for another class
    are shown, not counted.
    """
    today = today or timezone.localdate()
    now = timezone.now()
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
    excused = set(standing_absences(now).filter(session__in=sessions).values_list("student_id", "session_id"))
    # Make-ups for this course's missed classes (attended or not), and make-ups other students came to here.
    makeups = list(
        booked_makeups(now)
        .filter(Q(absence__session__in=sessions) | Q(session__in=sessions))
        .select_related("session", "absence__session__course", "student")
    )
    attended_makeups = set(
        AttendanceRecord.objects.filter(
            session__in={makeup.session_id for makeup in makeups}, status__in=ATTENDED
        ).values_list("student_id", "session_id")
    )
    made_up_at: dict[tuple[int, int], ClassSession] = {}  # (student, missed session) -> make-up class attended
    makeup_for: dict[tuple[int, int], ClassSession] = {}  # (student, make-up session here) -> missed session
    for makeup in makeups:
        if (makeup.student_id, makeup.session_id) in attended_makeups:
            made_up_at[(makeup.student_id, makeup.absence.session_id)] = makeup.session
        if makeup.session.course_id == course.pk:
            makeup_for[(makeup.student_id, makeup.session_id)] = makeup.absence.session
    students: dict[int, Student] = {}
    expected: set[tuple[int, int]] = set()  # (student id, session id)
    for registration in registrations:
        students[registration.student_id] = registration.student
        for session in sessions:
            if covers_session(registration, session, is_dated=course.is_dated):
                expected.add((registration.student_id, session.pk))
    registered = set(students)
    statuses: dict[tuple[int, int], str] = {}
    for record in records:
        students.setdefault(record.student_id, record.student)
        statuses[(record.student_id, record.session_id)] = record.status
        if (record.student_id, record.session_id) not in makeup_for:
            expected.add((record.student_id, record.session_id))
    for student_id, _session_id in makeup_for:
        students.setdefault(student_id, next(m.student for m in makeups if m.student_id == student_id))
    rows = [
        CompletionRow(
            student=student,
            is_registered=student.pk in registered,
            cells=[
                CompletionCell(
                    expected=(student.pk, session.pk) in expected,
                    status=statuses.get((student.pk, session.pk)),
                    excused=(student.pk, session.pk) in excused,
                    made_up_at=made_up_at.get((student.pk, session.pk)),
                    makeup_for=makeup_for.get((student.pk, session.pk)),
                )
                for session in sessions
            ],
        )
        for student in sorted(students.values(), key=_name_key)
    ]
    return CompletionMatrix(course=course, sessions=sessions, rows=rows)
