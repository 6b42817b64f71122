import datetime

import pytest
from django.utils import timezone

from attendance import selectors
from attendance.models import AttendanceRecord, ClassSession
from attendance.tests.factories import AttendanceRecordFactory, ClassSessionFactory
from courses.models import Course
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

Status = AttendanceRecord.Status
PaymentStatus = Registration.PaymentStatus
DAY = datetime.timedelta(days=1)


def session_on(date: datetime.date, **slot_kwargs) -> ClassSession:
    """A session of a weekly slot that meets on `date`."""
    course = CourseFactory(start_date=date - 14 * DAY, end_date=date + 14 * DAY)
    slot = CourseSlotFactory(course=course, day_of_week=date.weekday(), **slot_kwargs)
    return ClassSessionFactory(slot=slot, session_date=date)


def paid(session, **kwargs) -> Registration:
    return RegistrationFactory(slot=session.slot, payment_status=PaymentStatus.COMPLETED, payment_due_at=None, **kwargs)


def drop_in(session, *, class_date, status=PaymentStatus.COMPLETED, **kwargs) -> Registration:
    return RegistrationFactory(
        slot=session.slot, pricing_type="drop_in", class_date=class_date, payment_status=status, **kwargs
    )


def names(entries) -> list[str]:
    return [entry.student.full_name for entry in entries]


# --- session_roster ------------------------------------------------------------------------------------------------


def test_roster_lists_paid_full_package_students_of_the_slot_sorted_by_name():
    session = session_on(timezone.localdate())
    for first, last in [("Zoë", "Adams"), ("émile", "Zola"), ("Ana", "Young"), ("Émile", "Brun")]:
        paid(session, student=StudentFactory(first_name=first, last_name=last))

    roster = selectors.session_roster(session)

    assert names(roster.paid) == ["Ana Young", "Émile Brun", "émile Zola", "Zoë Adams"]
    assert roster.unpaid == []
    assert not any(entry.is_drop_in for entry in roster.paid)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda s: RegistrationFactory(slot=s.slot, payment_status=PaymentStatus.CANCELED), id="canceled"),
        pytest.param(lambda s: RegistrationFactory(slot=s.slot, payment_status=PaymentStatus.EXPIRED), id="expired"),
        pytest.param(
            lambda s: RegistrationFactory(slot=s.slot, payment_due_at=timezone.now() - datetime.timedelta(seconds=1)),
            id="pending-hold-ran-out",
        ),
        pytest.param(
            lambda s: RegistrationFactory(slot=s.slot, payment_due_at=timezone.now()), id="pending-zero-hour-hold"
        ),
        pytest.param(
            lambda s: RegistrationFactory(
                slot=CourseSlotFactory(course=s.course, day_of_week=s.slot.day_of_week),
                payment_status=PaymentStatus.COMPLETED,
            ),
            id="other-slot-same-course",
        ),
        pytest.param(lambda s: drop_in(s, class_date=s.session_date + 7 * DAY), id="drop-in-other-date"),
    ],
)
def test_roster_leaves_out_registrations_not_for_this_session(make):
    session = session_on(timezone.localdate())
    make(session)

    roster = selectors.session_roster(session)

    assert roster.entries == []


def test_roster_includes_a_drop_in_only_on_its_date():
    today = timezone.localdate()
    session = session_on(today)
    next_week = ClassSessionFactory(slot=session.slot, session_date=today + 7 * DAY)
    student = drop_in(session, class_date=today).student

    assert [(e.student, e.is_drop_in) for e in selectors.session_roster(session).paid] == [(student, True)]
    assert selectors.session_roster(next_week).entries == []


def test_roster_of_a_dated_course_includes_registrations_without_a_class_date():
    course = CourseFactory(course_type=Course.CourseType.DROP_IN, start_date=timezone.localdate())
    slot = CourseSlotFactory(course=course)
    session = ClassSessionFactory(slot=slot)
    full = RegistrationFactory(slot=slot, payment_status=PaymentStatus.COMPLETED).student
    single = RegistrationFactory(slot=slot, pricing_type="drop_in", payment_status=PaymentStatus.COMPLETED).student

    assert {e.student for e in selectors.session_roster(session).paid} == {full, single}


def test_roster_shows_pending_students_whose_hold_runs_apart_as_unpaid():
    session = session_on(timezone.localdate())
    paid(session, student=StudentFactory(first_name="Paid"))
    RegistrationFactory(slot=session.slot, student=StudentFactory(first_name="Pending"))

    roster = selectors.session_roster(session)

    assert [(e.student.first_name, e.is_paid) for e in roster.paid] == [("Paid", True)]
    assert [(e.student.first_name, e.is_paid) for e in roster.unpaid] == [("Pending", False)]
    assert roster.size == 2


def test_roster_lists_a_student_with_a_paid_and_a_pending_registration_once_as_paid():
    today = timezone.localdate()
    session = session_on(today)
    student = drop_in(session, class_date=today).student
    RegistrationFactory(slot=session.slot, student=student)  # pending full package on top

    roster = selectors.session_roster(session)

    assert [(e.student, e.is_paid) for e in roster.entries] == [(student, True)]


def test_roster_carries_each_students_record_and_the_marked_count():
    session = session_on(timezone.localdate())
    marked, unmarked = paid(session).student, paid(session).student
    AttendanceRecordFactory(session=session, student=marked, status=Status.LATE)
    AttendanceRecordFactory(session=ClassSessionFactory(), student=unmarked)  # another session's record

    roster = selectors.session_roster(session)

    assert roster.entry_for(marked.pk).record.status == Status.LATE
    assert roster.entry_for(marked.pk).selected == Status.LATE
    assert roster.entry_for(unmarked.pk).record is None
    assert (roster.marked_count, roster.size) == (1, 2)


def test_roster_ignores_the_record_of_a_student_no_longer_on_it():
    session = session_on(timezone.localdate())
    ana = paid(session).student
    gone = RegistrationFactory(slot=session.slot, payment_status=PaymentStatus.CANCELED)
    AttendanceRecordFactory(session=session, student=gone.student, status=Status.PRESENT)

    roster = selectors.session_roster(session)

    assert [entry.student for entry in roster.entries] == [ana]
    assert (roster.marked_count, roster.size) == (0, 1)


def test_roster_runs_four_queries_whatever_its_size(django_assert_num_queries):
    session = session_on(timezone.localdate())
    for _ in range(25):
        AttendanceRecordFactory(session=session, student=paid(session).student)
    session = ClassSession.objects.select_related("course", "slot").get(pk=session.pk)

    with django_assert_num_queries(4):  # registrations, make-ups, records, excused absences
        roster = selectors.session_roster(session)
        [entry.record.marked_at for entry in roster.entries]


# --- door_sessions -------------------------------------------------------------------------------------------------


def test_door_sessions_split_today_next_week_and_last_week_and_drop_the_rest():
    today = timezone.localdate()
    later_today = session_on(today, start_time=datetime.time(20, 0), end_time=datetime.time(21, 0))
    earlier_today = session_on(today, start_time=datetime.time(9, 0), end_time=datetime.time(10, 0))
    tomorrow, in_a_week = session_on(today + DAY), session_on(today + 7 * DAY)
    yesterday, a_week_ago = session_on(today - DAY), session_on(today - 7 * DAY)
    session_on(today + 8 * DAY)
    session_on(today - 8 * DAY)

    sessions = selectors.door_sessions()

    assert sessions.today == [earlier_today, later_today]
    assert sessions.upcoming == [tomorrow, in_a_week]
    assert sessions.recent == [yesterday, a_week_ago]


def test_door_sessions_count_the_roster_and_its_marks():
    today = timezone.localdate()
    session = session_on(today)
    ana, ben = paid(session).student, paid(session).student
    RegistrationFactory(slot=session.slot)  # unpaid, holding: on the roster
    RegistrationFactory(slot=session.slot, payment_status=PaymentStatus.CANCELED)
    drop_in(session, class_date=today + 7 * DAY)
    AttendanceRecordFactory(session=session, student=ana)
    AttendanceRecordFactory(session=session, student=StudentFactory())  # not on the roster any more

    [listed] = selectors.door_sessions().today

    assert (listed.marked_count, listed.roster_size) == (1, 3)
    assert ben.pk not in [r.student_id for r in AttendanceRecord.objects.all()]


def test_door_sessions_flag_the_session_happening_now():
    now = timezone.localtime()
    if now.hour in (0, 23):
        pytest.skip("needs an hour either side of now on the same day")
    start = (now - datetime.timedelta(minutes=10)).time().replace(second=0, microsecond=0)
    end = (now + datetime.timedelta(minutes=50)).time().replace(second=0, microsecond=0)
    running = session_on(now.date(), start_time=start, end_time=end)
    session_on(now.date() - 7 * DAY, start_time=start, end_time=end)

    sessions = selectors.door_sessions()

    assert [s.is_now for s in sessions.today] == [True]
    assert sessions.today == [running]
    assert [s.is_now for s in sessions.recent] == [False]


def test_door_sessions_run_five_queries(django_assert_num_queries):
    today = timezone.localdate()
    for offset in range(-3, 4):
        paid(session_on(today + offset * DAY))

    with django_assert_num_queries(5):  # sessions, registrations, records, excused absences, make-ups
        sessions = selectors.door_sessions()
        [s.course.name + s.slot.location for s in sessions.today + sessions.upcoming + sessions.recent]


def test_door_sessions_of_today_only_leave_the_other_days_out():
    today = timezone.localdate()
    for offset in (-1, 0, 1):
        paid(session_on(today + offset * DAY))

    sessions = selectors.door_sessions(days=0)

    assert [s.session_date for s in sessions.today] == [today]
    assert sessions.upcoming == [] and sessions.recent == []


# --- session_starts_at ---------------------------------------------------------------------------------------------


def test_session_starts_at_is_local_wall_time_on_both_sides_of_the_fall_back(settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    course = CourseFactory(start_date=datetime.date(2026, 10, 26), end_date=datetime.date(2026, 11, 2))
    slot = CourseSlotFactory(course=course, day_of_week=0, start_time=datetime.time(18, 30))
    before = ClassSessionFactory(slot=slot, session_date=datetime.date(2026, 10, 26))
    after = ClassSessionFactory(slot=slot, session_date=datetime.date(2026, 11, 2))

    assert selectors.session_starts_at(before).astimezone(datetime.UTC).hour == 1  # PDT
    assert selectors.session_starts_at(after).astimezone(datetime.UTC).hour == 2  # PST


# --- completion_for_course -----------------------------------------------------------------------------------------


def weekly_course_with_sessions(weeks_ago: int, weeks_ahead: int):
    today = timezone.localdate()
    course = CourseFactory(start_date=today - weeks_ago * 7 * DAY, end_date=today + weeks_ahead * 7 * DAY)
    slot = CourseSlotFactory(course=course, day_of_week=today.weekday())
    sessions = [ClassSessionFactory(slot=slot, session_date=date) for date in slot.class_dates()]
    return course, slot, sessions


def test_completion_is_present_plus_late_over_sessions_held_so_far():
    # Sessions: 3 weeks ago, 2 weeks ago, last week (canceled), today, next week (not held yet).
    course, slot, sessions = weekly_course_with_sessions(weeks_ago=3, weeks_ahead=1)
    three_ago, two_ago, last_week, today, next_week = sessions
    ClassSession.objects.filter(pk=last_week.pk).update(is_canceled=True, canceled_at=timezone.now())
    student = RegistrationFactory(slot=slot, payment_status=PaymentStatus.COMPLETED).student
    AttendanceRecordFactory(session=three_ago, student=student, status=Status.PRESENT)
    AttendanceRecordFactory(session=two_ago, student=student, status=Status.LATE)
    AttendanceRecordFactory(session=last_week, student=student, status=Status.ABSENT)  # canceled: not counted
    # today: not marked, counts as not attended

    matrix = selectors.completion_for_course(course)

    assert matrix.sessions == [three_ago, two_ago, today]
    [row] = matrix.rows
    assert [cell.status for cell in row.cells] == [Status.PRESENT, Status.LATE, None]
    assert (row.attended, row.expected, row.percent) == (2, 3, 67)


def test_completion_counts_absent_as_not_attended():
    course, slot, sessions = weekly_course_with_sessions(weeks_ago=3, weeks_ahead=0)
    student = RegistrationFactory(slot=slot, payment_status=PaymentStatus.COMPLETED).student
    for session, status in zip(sessions, [Status.PRESENT, Status.ABSENT, Status.ABSENT, Status.LATE], strict=True):
        AttendanceRecordFactory(session=session, student=student, status=status)

    [row] = selectors.completion_for_course(course).rows

    assert (row.attended, row.expected, row.percent) == (2, 4, 50)


def test_completion_expects_a_drop_in_only_at_its_date_and_a_student_only_at_their_slot():
    course, monday, sessions = weekly_course_with_sessions(weeks_ago=1, weeks_ahead=0)
    other_slot = CourseSlotFactory(course=course, day_of_week=(monday.day_of_week + 1) % 7)
    other_session = ClassSessionFactory(slot=other_slot, session_date=sessions[0].session_date + DAY)
    dropper = RegistrationFactory(
        slot=monday, pricing_type="drop_in", class_date=sessions[1].session_date, payment_status=PaymentStatus.COMPLETED
    ).student
    regular = RegistrationFactory(slot=monday, payment_status=PaymentStatus.COMPLETED).student
    AttendanceRecordFactory(session=sessions[1], student=dropper, status=Status.PRESENT)

    matrix = selectors.completion_for_course(course)

    assert matrix.sessions == [sessions[0], other_session, sessions[1]]
    rows = {row.student: row for row in matrix.rows}
    assert [cell.expected for cell in rows[dropper].cells] == [False, False, True]
    assert (rows[dropper].expected, rows[dropper].percent) == (1, 100)
    assert [cell.expected for cell in rows[regular].cells] == [True, False, True]
    assert (rows[regular].expected, rows[regular].percent) == (2, 0)


def test_completion_lists_someone_marked_without_a_paid_registration():
    course, slot, sessions = weekly_course_with_sessions(weeks_ago=1, weeks_ahead=0)
    walk_in = RegistrationFactory(slot=slot).student  # pending
    AttendanceRecordFactory(session=sessions[0], student=walk_in, status=Status.PRESENT)
    RegistrationFactory(slot=slot, payment_status=PaymentStatus.CANCELED)

    [row] = selectors.completion_for_course(course).rows

    assert row.student == walk_in
    assert row.is_registered is False
    assert [cell.expected for cell in row.cells] == [True, False]
    assert (row.attended, row.expected, row.percent) == (1, 1, 100)


def test_completion_of_a_course_with_nothing_held_has_no_percentage():
    course, slot, _ = weekly_course_with_sessions(weeks_ago=-1, weeks_ahead=3)  # starts next week
    RegistrationFactory(slot=slot, payment_status=PaymentStatus.COMPLETED)

    matrix = selectors.completion_for_course(course)

    assert matrix.sessions == []
    assert [(row.expected, row.percent) for row in matrix.rows] == [(0, None)]


def test_completion_rows_are_sorted_by_name():
    course, slot, _ = weekly_course_with_sessions(weeks_ago=1, weeks_ahead=0)
    for first in ["zed", "Álvaro", "bea"]:
        RegistrationFactory(slot=slot, payment_status=PaymentStatus.COMPLETED, student=StudentFactory(first_name=first))

    rows = selectors.completion_for_course(course).rows

    assert [row.student.first_name for row in rows] == ["Álvaro", "bea", "zed"]


@pytest.mark.parametrize("students", [3, 30])
def test_completion_runs_six_queries_whatever_the_number_of_students(students, django_assert_max_num_queries):
    course, slot, sessions = weekly_course_with_sessions(weeks_ago=3, weeks_ahead=1)
    for _ in range(students):
        student = RegistrationFactory(slot=slot, payment_status=PaymentStatus.COMPLETED).student
        for session in sessions[:3]:
            AttendanceRecordFactory(session=session, student=student)

    # Sessions, registrations, records, excused absences, make-ups, make-ups attended.
    with django_assert_max_num_queries(6):
        matrix = selectors.completion_for_course(course)
        [(row.student.full_name, row.percent) for row in matrix.rows]

    assert len(matrix.rows) == students
