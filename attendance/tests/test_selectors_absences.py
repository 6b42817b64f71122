"""Rosters, the door list and completion with excused absences and make-up classes."""

import datetime

import pytest
from django.utils import timezone

from attendance import selectors
from attendance.models import AttendanceRecord
from attendance.tests.factories import AbsenceFactory, AttendanceRecordFactory, ClassSessionFactory, MakeUpFactory
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

Status = AttendanceRecord.Status
DAY = datetime.timedelta(days=1)


def weekly(*, weeks_ago: int, weeks_ahead: int, name="House L2"):
    """A weekly course around today with a session every week; returns (course, slot, sessions)."""
    today = timezone.localdate()
    course = CourseFactory(name=name, start_date=today - weeks_ago * 7 * DAY, end_date=today + weeks_ahead * 7 * DAY)
    slot = CourseSlotFactory(course=course, day_of_week=today.weekday())
    sessions = [ClassSessionFactory(slot=slot, session_date=day) for day in slot.class_dates()]
    return course, slot, sessions


def paid(slot, **kwargs) -> Registration:
    return RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.COMPLETED, **kwargs)


# --- the roster ------------------------------------------------------------------------------------------------------


def test_the_roster_lists_make_up_students_with_the_paid_ones_and_marks_the_excused():
    _course, slot, sessions = weekly(weeks_ago=0, weeks_ahead=2)
    ana = paid(slot, student=StudentFactory(first_name="Ana")).student
    AbsenceFactory(session=sessions[0], registration=Registration.objects.get(student=ana))
    _other_course, _other_slot, other = weekly(weeks_ago=1, weeks_ahead=1, name="House L1")
    makeup = MakeUpFactory(session=sessions[0], absence=AbsenceFactory(session=other[0]))

    roster = selectors.session_roster(sessions[0])

    assert {e.student: e.is_excused for e in roster.paid} == {ana: True, makeup.student: False}
    assert roster.unpaid == []
    assert roster.entry_for(makeup.student.pk).makeup == makeup
    assert (roster.size, roster.marked_count) == (2, 1)  # the excused student needs no mark


def test_a_canceled_make_up_or_an_undone_absence_leaves_the_roster_as_it_was():
    _course, slot, sessions = weekly(weeks_ago=0, weeks_ahead=2)
    registration = paid(slot)
    now = timezone.now()
    AbsenceFactory(session=sessions[0], registration=registration, reported_at=now, undone_at=now)
    MakeUpFactory(session=sessions[0], status="canceled")

    roster = selectors.session_roster(sessions[0])

    assert [(e.student, e.is_excused) for e in roster.entries] == [(registration.student, False)]


def test_the_door_list_counts_make_up_students_and_the_excused_as_accounted_for():
    _course, slot, sessions = weekly(weeks_ago=0, weeks_ahead=2)
    excused = paid(slot)
    paid(slot)
    AbsenceFactory(session=sessions[0], registration=excused)
    MakeUpFactory(session=sessions[0])

    [listed] = selectors.door_sessions(days=0).today

    assert (listed.marked_count, listed.roster_size) == (1, 3)


def test_roster_queries_stay_four_with_make_ups_and_absences(django_assert_num_queries):
    _course, slot, sessions = weekly(weeks_ago=0, weeks_ahead=2)
    for n in range(20):
        registration = paid(slot)
        if n % 3 == 0:
            AbsenceFactory(session=sessions[0], registration=registration)
        if n % 4 == 0:
            MakeUpFactory(session=sessions[0])

    with django_assert_num_queries(4):
        roster = selectors.session_roster(sessions[0])
        [(e.student.full_name, e.makeup, e.absence) for e in roster.entries]

    assert roster.size == 25


# --- completion ------------------------------------------------------------------------------------------------------


def test_completion_counts_an_excused_absence_apart_and_a_make_up_attended_for_the_missed_class():
    course, slot, sessions = weekly(weeks_ago=3, weeks_ahead=0)  # four classes held, the last today
    ana = paid(slot, student=StudentFactory(first_name="Ana")).student
    registration = Registration.objects.get(student=ana)
    AttendanceRecordFactory(session=sessions[0], student=ana, status=Status.PRESENT)
    made_up = AbsenceFactory(session=sessions[1], registration=registration)
    AbsenceFactory(session=sessions[2], registration=registration)  # excused, no make-up (yet)
    AttendanceRecordFactory(session=sessions[3], student=ana, status=Status.ABSENT)
    _other, _other_slot, other = weekly(weeks_ago=3, weeks_ahead=0, name="House L1")
    MakeUpFactory(absence=made_up, session=other[2])
    AttendanceRecordFactory(session=other[2], student=ana, status=Status.LATE)

    [row] = selectors.completion_for_course(course).rows

    cells = row.cells
    assert [c.made_up_at for c in cells] == [None, other[2], None, None]
    assert [c.is_excused_only for c in cells] == [False, False, True, False]
    assert (row.attended, row.excused, row.absent, row.expected, row.percent) == (2, 1, 1, 4, 50)


def test_a_make_up_booked_but_not_attended_does_not_count():
    course, slot, sessions = weekly(weeks_ago=2, weeks_ahead=0)
    registration = paid(slot)
    absence = AbsenceFactory(session=sessions[0], registration=registration)
    _other, _other_slot, other = weekly(weeks_ago=2, weeks_ahead=0, name="House L1")
    MakeUpFactory(absence=absence, session=other[1])
    AttendanceRecordFactory(session=other[1], student=registration.student, status=Status.ABSENT)

    [row] = selectors.completion_for_course(course).rows

    assert (row.attended, row.excused, row.expected) == (0, 1, 3)


def test_the_make_up_class_shows_on_its_own_course_without_counting_there():
    _course, slot, sessions = weekly(weeks_ago=2, weeks_ahead=0, name="House L2")
    absence = AbsenceFactory(session=sessions[0], registration=paid(slot))
    host, host_slot, host_sessions = weekly(weeks_ago=2, weeks_ahead=0, name="House L1")
    regular = paid(host_slot).student
    MakeUpFactory(absence=absence, session=host_sessions[1])
    AttendanceRecordFactory(session=host_sessions[1], student=absence.student, status=Status.PRESENT)

    rows = {row.student: row for row in selectors.completion_for_course(host).rows}

    guest = rows[absence.student]
    assert guest.is_makeup_only and (guest.expected, guest.percent) == (0, None)
    assert guest.cells[1].makeup_for == sessions[0] and guest.cells[1].status == Status.PRESENT
    assert rows[regular].expected == 3


@pytest.mark.parametrize("students", [3, 30])
def test_completion_queries_do_not_grow_with_absences_and_make_ups(students, django_assert_num_queries):
    course, slot, sessions = weekly(weeks_ago=3, weeks_ahead=1)
    _other, _other_slot, other = weekly(weeks_ago=3, weeks_ahead=1, name="House L1")
    for n in range(students):
        registration = paid(slot)
        AttendanceRecordFactory(session=sessions[0], student=registration.student)
        absence = AbsenceFactory(session=sessions[1], registration=registration)
        if n % 2:
            MakeUpFactory(absence=absence, session=other[2])
            AttendanceRecordFactory(session=other[2], student=registration.student)

    with django_assert_num_queries(6):
        matrix = selectors.completion_for_course(course)
        [(row.student.full_name, row.percent, [c.made_up_at for c in row.cells]) for row in matrix.rows]

    assert len(matrix.rows) == students
