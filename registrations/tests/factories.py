import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from courses.tests.factories import CourseSlotFactory
from registrations.models import CreditEntry, Payment, Refund, Registration
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


class PaymentFactory(DjangoModelFactory):
    """$120 received by Venmo for a registration, recorded by hand."""

    class Meta:
        model = Payment

    registration = factory.SubFactory(RegistrationFactory)
    amount = Decimal("120.00")
    method = Registration.PaymentMethod.VENMO
    received_at = factory.LazyFunction(timezone.now)
    source = Payment.Source.HAND


class RefundFactory(DjangoModelFactory):
    class Meta:
        model = Refund

    registration = factory.SubFactory(RegistrationFactory)
    amount = Decimal("20.00")
    method = Registration.PaymentMethod.VENMO
    reason = "Asked for it back"


class CreditGrantFactory(DjangoModelFactory):
    """$30 of account credit granted from an overpayment, without an expiry."""

    class Meta:
        model = CreditEntry

    student = factory.SubFactory(StudentFactory)
    kind = CreditEntry.Kind.GRANTED
    reason = CreditEntry.Reason.OVERPAYMENT
    amount = Decimal("30.00")
    expires_at = None
