import datetime
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from courses.models import Course, CoursePricing, CourseSlot


class CourseFactory(DjangoModelFactory):
    """A four-week series starting next week."""

    class Meta:
        model = Course

    name = factory.Sequence(lambda n: f"House L{n % 3 + 1} #{n}")
    description = "Grooves, footwork and musicality."
    instructor = "Jordan"
    level = "Beginner"
    course_type = Course.CourseType.SERIES
    required_student_type = Course.RequiredStudentType.ANY
    start_date = factory.LazyFunction(lambda: datetime.date.today() + datetime.timedelta(days=7))
    end_date = factory.LazyAttribute(lambda o: o.start_date + datetime.timedelta(days=27))


class CourseSlotFactory(DjangoModelFactory):
    """A weekly slot on the course's first weekday; use `dated=True` for drop-in / crew practice courses."""

    class Meta:
        model = CourseSlot

    class Params:
        dated = factory.LazyAttribute(lambda o: o.course.course_type != Course.CourseType.SERIES)

    course = factory.SubFactory(CourseFactory)
    capacity = 10
    day_of_week = factory.LazyAttribute(lambda o: None if o.dated else o.course.start_date.weekday())
    practice_date = factory.LazyAttribute(lambda o: o.course.start_date if o.dated else None)
    start_time = datetime.time(19, 0)
    end_time = datetime.time(20, 30)
    location = "Studio A"


class CoursePricingFactory(DjangoModelFactory):
    class Meta:
        model = CoursePricing

    course_slot = factory.SubFactory(CourseSlotFactory)
    pricing_type = CoursePricing.PricingType.FULL_PACKAGE
    price = Decimal("120.00")


def priced_slot(*, full_package="120.00", drop_in="35.00", **slot_kwargs) -> CourseSlot:
    """A slot with both prices (pass None to leave one out)."""
    slot = CourseSlotFactory(**slot_kwargs)
    if full_package is not None:
        CoursePricingFactory(
            course_slot=slot, pricing_type=CoursePricing.PricingType.FULL_PACKAGE, price=Decimal(full_package)
        )
    if drop_in is not None:
        CoursePricingFactory(course_slot=slot, pricing_type=CoursePricing.PricingType.DROP_IN, price=Decimal(drop_in))
    return slot
