import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.models import Absence, AttendanceRecord, ClassSession, MakeUp
from attendance.tests.factories import AbsenceFactory, AttendanceRecordFactory, ClassSessionFactory, MakeUpFactory

pytestmark = pytest.mark.django_db


def test_second_session_for_the_same_slot_and_date_is_rejected():
    session = ClassSessionFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        ClassSessionFactory(slot=session.slot, session_date=session.session_date)


def test_sessions_of_a_slot_on_different_dates_are_accepted():
    session = ClassSessionFactory()

    other = ClassSessionFactory(slot=session.slot, session_date=session.slot.class_dates()[1])

    assert other.pk is not None


@pytest.mark.parametrize("end_time", [datetime.time(19, 0), datetime.time(18, 30)])
def test_session_ending_at_or_before_its_start_is_rejected(end_time):
    with pytest.raises(IntegrityError, match="attendance_classsession_start_before_end"), transaction.atomic():
        ClassSessionFactory(start_time=datetime.time(19, 0), end_time=end_time)


def test_second_attendance_record_for_the_same_session_and_student_is_rejected():
    record = AttendanceRecordFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        AttendanceRecordFactory(session=record.session, student=record.student, status=AttendanceRecord.Status.LATE)


def test_attendance_status_rejects_unknown_value():
    record = AttendanceRecordFactory()

    with pytest.raises(IntegrityError, match="attendance_attendancerecord_status_valid"), transaction.atomic():
        AttendanceRecord.objects.filter(pk=record.pk).update(status="excused")


def test_a_canceled_session_without_when_is_rejected():
    session = ClassSessionFactory()

    with pytest.raises(IntegrityError, match="canceled_has_canceled_at"), transaction.atomic():
        ClassSession.objects.filter(pk=session.pk).update(is_canceled=True)


# --- excused absences and make-up classes ------------------------------------------------------------------------------


def test_a_second_standing_absence_of_a_student_for_one_class_is_rejected():
    absence = AbsenceFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        AbsenceFactory(session=absence.session, registration=absence.registration)


def test_an_undone_absence_may_be_followed_by_a_new_one():
    now = timezone.now()
    absence = AbsenceFactory(reported_at=now, undone_at=now)

    again = AbsenceFactory(session=absence.session, registration=absence.registration)

    assert again.pk != absence.pk


def test_an_absence_told_through_an_unknown_channel_is_rejected():
    absence = AbsenceFactory()

    with pytest.raises(IntegrityError, match="attendance_absence_channel_valid"), transaction.atomic():
        Absence.objects.filter(pk=absence.pk).update(channel="pigeon")


def test_an_absence_undone_before_it_was_told_is_rejected():
    absence = AbsenceFactory()

    with pytest.raises(IntegrityError, match="attendance_absence_undone_after_reported"), transaction.atomic():
        Absence.objects.filter(pk=absence.pk).update(undone_at=absence.reported_at - datetime.timedelta(minutes=1))


def test_a_second_booked_makeup_for_one_missed_class_is_rejected():
    makeup = MakeUpFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        MakeUpFactory(absence=makeup.absence)


def test_a_student_booked_twice_into_one_class_is_rejected():
    makeup = MakeUpFactory()
    other = AbsenceFactory(registration__student=makeup.student)

    with pytest.raises(IntegrityError), transaction.atomic():
        MakeUpFactory(absence=other, session=makeup.session)


def test_a_canceled_makeup_frees_its_missed_class_for_another():
    makeup = MakeUpFactory(status=MakeUp.Status.CANCELED)

    again = MakeUpFactory(absence=makeup.absence)

    assert again.status == MakeUp.Status.BOOKED


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"status": "waiting"}, "attendance_makeup_status_valid"),
        ({"status": "canceled"}, "attendance_makeup_canceled_has_canceled_at"),
        ({"canceled_by_studio": True}, "attendance_makeup_booked_is_not_canceled"),
    ],
)
def test_makeup_status_invariants_are_kept_by_the_database(changes, constraint):
    makeup = MakeUpFactory()

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        MakeUp.objects.filter(pk=makeup.pk).update(**changes)
