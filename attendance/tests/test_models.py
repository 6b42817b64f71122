import datetime

import pytest
from django.db import IntegrityError, transaction

from attendance.models import AttendanceRecord, ClassSession
from attendance.tests.factories import AttendanceRecordFactory, ClassSessionFactory

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
