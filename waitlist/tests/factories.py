import factory
from factory.django import DjangoModelFactory

from courses.tests.factories import CourseFactory
from students.tests.factories import StudentFactory
from waitlist.models import WaitlistEntry


class WaitlistEntryFactory(DjangoModelFactory):
    class Meta:
        model = WaitlistEntry

    student = factory.SubFactory(StudentFactory)
    course = factory.SubFactory(CourseFactory)
    waitlist_position = factory.Sequence(lambda n: n + 1)
    status = WaitlistEntry.Status.WAITING
