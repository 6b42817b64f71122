import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from attendance.models import AttendanceRecord, ClassSession
from courses.tests.factories import CourseSlotFactory
from students.tests.factories import StudentFactory


class ClassSessionFactory(DjangoModelFactory):
    class Meta:
        model = ClassSession

    slot = factory.SubFactory(CourseSlotFactory)
    course = factory.LazyAttribute(lambda o: o.slot.course)
    session_date = factory.LazyAttribute(lambda o: o.slot.class_dates()[0])
    start_time = factory.LazyAttribute(lambda o: o.slot.start_time)
    end_time = factory.LazyAttribute(lambda o: o.slot.end_time)
    location = factory.LazyAttribute(lambda o: o.slot.location)
    is_canceled = False
    canceled_at = factory.LazyAttribute(lambda o: timezone.now() if o.is_canceled else None)


class AttendanceRecordFactory(DjangoModelFactory):
    class Meta:
        model = AttendanceRecord

    session = factory.SubFactory(ClassSessionFactory)
    student = factory.SubFactory(StudentFactory)
    status = AttendanceRecord.Status.PRESENT
    marked_at = factory.LazyFunction(timezone.now)
