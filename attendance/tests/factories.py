import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from attendance.models import Absence, AttendanceRecord, ClassSession, MakeUp
from courses.tests.factories import CourseSlotFactory
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
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


class AbsenceFactory(DjangoModelFactory):
    """A standing excused absence of a paid registration's student, with a make-up (as told before the cut-off)."""

    class Meta:
        model = Absence

    session = factory.SubFactory(ClassSessionFactory)
    registration = factory.SubFactory(
        RegistrationFactory,
        slot=factory.SelfAttribute("..session.slot"),
        payment_status=Registration.PaymentStatus.COMPLETED,
    )
    student = factory.LazyAttribute(lambda o: o.registration.student)
    reported_at = factory.LazyFunction(timezone.now)
    channel = Absence.Channel.EMAIL
    makeup_granted = True


class MakeUpFactory(DjangoModelFactory):
    """A booked make-up class for an absence."""

    class Meta:
        model = MakeUp

    absence = factory.SubFactory(AbsenceFactory)
    session = factory.SubFactory(ClassSessionFactory)
    student = factory.LazyAttribute(lambda o: o.absence.student)
    status = MakeUp.Status.BOOKED
    booked_at = factory.LazyFunction(timezone.now)
    canceled_at = factory.LazyAttribute(lambda o: timezone.now() if o.status == MakeUp.Status.CANCELED else None)
