import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from courses.tests.factories import CourseSlotFactory
from registrations.models import Registration
from students.tests.factories import StudentFactory


class RegistrationFactory(DjangoModelFactory):
    """A pending full-package Venmo registration holding its seat for 48 hours."""

    class Meta:
        model = Registration

    student = factory.SubFactory(StudentFactory)
    slot = factory.SubFactory(CourseSlotFactory)
    course = factory.LazyAttribute(lambda o: o.slot.course)
    pricing_type = "full_package"
    payment_amount = Decimal("120.00")
    payment_method = Registration.PaymentMethod.VENMO
    payment_status = Registration.PaymentStatus.PENDING
    payment_reported_at = None
    payment_due_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(hours=48))
    # What the services record with these statuses (the database insists on it).
    confirmed_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.payment_status == Registration.PaymentStatus.COMPLETED else None
    )
    payment_reported_method = factory.LazyAttribute(lambda o: o.payment_method if o.payment_reported_at else "")
    canceled_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.payment_status == Registration.PaymentStatus.CANCELED else None
    )
