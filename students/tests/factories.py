import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from students.models import Student


class StudentFactory(DjangoModelFactory):
    class Meta:
        model = Student

    email = factory.Sequence(lambda n: f"student{n}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    phone = factory.Sequence(lambda n: f"+1 415 555 {n % 10000:04d}")
    student_type = Student.StudentType.GENERAL
    admin_classified = False
    classified_at = factory.LazyAttribute(lambda o: timezone.now() if o.admin_classified else None)


class CrewMemberFactory(StudentFactory):
    student_type = Student.StudentType.CREW_MEMBER
    admin_classified = True
