import factory
from django.utils import timezone

from class_messages.models import Audience, ClassMessage, MessageOptOut
from courses.tests.factories import CourseFactory
from students.tests.factories import StudentFactory


class ClassMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClassMessage

    course = factory.SubFactory(CourseFactory)
    audience = Audience.PAID
    subject = "Room change"
    body = "Tonight we dance in Studio B."
    recipient_count = 12
    sent_at = factory.LazyFunction(timezone.now)


class MessageOptOutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageOptOut

    student = factory.SubFactory(StudentFactory)
