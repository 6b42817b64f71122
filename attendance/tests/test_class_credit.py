"""A class the studio cancels is credited to everyone who paid for it (README "Payments"): a drop-in its price, a full
package its price divided by the classes it covers, once, with the credit named in the cancellation email."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from attendance import services
from attendance.tests.factories import ClassSessionFactory
from courses.models import Closure, Course
from courses.services import add_closure
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations import ledger
from registrations.models import CreditEntry, Registration
from registrations.tests.factories import RegistrationFactory
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus
DAY = datetime.timedelta(days=1)


def session_in_a_week(**course_kwargs):
    """The third of five weekly classes, a week from today."""
    day = timezone.localdate() + 7 * DAY
    course = CourseFactory(start_date=day - 14 * DAY, end_date=day + 14 * DAY, **course_kwargs)
    slot = CourseSlotFactory(course=course, day_of_week=day.weekday())
    return ClassSessionFactory(slot=slot, session_date=day)


def paid(session, amount, **kwargs) -> Registration:
    return RegistrationFactory(
        slot=session.slot,
        payment_status=PaymentStatus.COMPLETED,
        payment_due_at=None,
        payment_amount=Decimal(amount),
        **kwargs,
    )


def cancel(session, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.cancel_session(session=session)


def test_a_full_package_is_credited_its_price_divided_by_its_classes(django_capture_on_commit_callbacks):
    session = session_in_a_week()
    registration = paid(session, "100.00")  # 5 classes

    cancel(session, django_capture_on_commit_callbacks)

    grant = CreditEntry.objects.get()
    assert (grant.reason, grant.amount, grant.registration, grant.class_date) == (
        CreditEntry.Reason.CLASS_CANCELED,
        Decimal("20.00"),
        registration,
        session.session_date,
    )
    email = EmailLog.objects.get(kind="session_canceled")
    assert "We added $20.00 of account credit for this class" in email.body_text


def test_the_share_is_rounded_to_the_cent(django_capture_on_commit_callbacks):
    session = session_in_a_week()
    paid(session, "100.00", first_class_date=session.session_date)  # a late joiner: 3 classes

    cancel(session, django_capture_on_commit_callbacks)

    assert CreditEntry.objects.get().amount == Decimal("33.33")


def test_a_drop_in_is_credited_its_price(django_capture_on_commit_callbacks):
    session = session_in_a_week()
    drop_in = paid(session, "35.00", pricing_type="drop_in", class_date=session.session_date)
    paid(session, "35.00", pricing_type="drop_in", class_date=session.session_date + 7 * DAY)  # another class

    cancel(session, django_capture_on_commit_callbacks)

    grant = CreditEntry.objects.get()
    assert (grant.student, grant.amount) == (drop_in.student, Decimal("35.00"))


def test_a_dated_class_is_credited_its_whole_price(django_capture_on_commit_callbacks):
    day = timezone.localdate() + 3 * DAY
    course = CourseFactory(course_type=Course.CourseType.DROP_IN, start_date=day, end_date=day)
    session = ClassSessionFactory(slot=CourseSlotFactory(course=course))
    paid(session, "25.00")

    cancel(session, django_capture_on_commit_callbacks)

    assert CreditEntry.objects.get().amount == Decimal("25.00")


def test_unpaid_free_and_canceled_registrations_get_no_credit(django_capture_on_commit_callbacks):
    session = session_in_a_week()
    RegistrationFactory(slot=session.slot)  # pending
    paid(session, "0.00", payment_method="")  # free
    RegistrationFactory(slot=session.slot, payment_status=PaymentStatus.CANCELED)
    late = paid(session, "100.00", first_class_date=session.session_date + 7 * DAY)  # joins after this class

    cancel(session, django_capture_on_commit_callbacks)

    assert not CreditEntry.objects.exists()
    assert ledger.credit_balance(late.student) == 0


def test_a_class_is_credited_once_however_often_it_is_canceled(django_capture_on_commit_callbacks):
    session = session_in_a_week()
    registration = paid(session, "100.00")
    cancel(session, django_capture_on_commit_callbacks)
    session.is_canceled = False  # re-opened in the admin, then canceled again
    session.save(update_fields=["is_canceled"])

    cancel(session, django_capture_on_commit_callbacks)

    assert ledger.credit_balance(registration.student) == Decimal("20.00")


def test_a_class_in_the_past_canceled_after_the_fact_grants_no_credit(django_capture_on_commit_callbacks):
    session = session_in_a_week()
    session.session_date = timezone.localdate() - 7 * DAY
    session.save(update_fields=["session_date"])
    paid(session, "100.00")

    cancel(session, django_capture_on_commit_callbacks)

    assert not CreditEntry.objects.exists()


def test_a_class_canceled_by_a_studio_closure_is_credited_its_share_of_the_classes_paid_for(
    django_capture_on_commit_callbacks,
):
    session = session_in_a_week()
    registration = paid(session, "100.00")  # 5 classes when it was bought

    with django_capture_on_commit_callbacks(execute=True):
        add_closure(closure=Closure(date=session.session_date, reason="Studio trip"))

    session.refresh_from_db()
    assert session.is_canceled
    assert ledger.credit_balance(registration.student) == Decimal("20.00")


def test_a_student_who_had_excused_themselves_from_the_class_gets_no_credit_for_it(django_capture_on_commit_callbacks):
    from attendance.tests.factories import AbsenceFactory

    session = session_in_a_week()
    excused = paid(session, "100.00")
    AbsenceFactory(session=session, registration=excused)  # gave the seat back, with a make-up
    undone = paid(session, "100.00")
    told = timezone.now() - DAY
    AbsenceFactory(session=session, registration=undone, reported_at=told, undone_at=told + DAY)  # theirs again
    attending = paid(session, "100.00")

    cancel(session, django_capture_on_commit_callbacks)

    assert ledger.credit_balance(excused.student) == 0
    assert ledger.credit_balance(undone.student) == ledger.credit_balance(attending.student) == Decimal("20.00")


def test_each_closure_credits_the_same_share_of_the_classes_bought_so_the_shares_add_up_to_the_price(
    django_capture_on_commit_callbacks,
):
    first = timezone.localdate() + 7 * DAY
    course = CourseFactory(start_date=first, end_date=first + 21 * DAY)  # 4 weekly classes
    slot = CourseSlotFactory(course=course, day_of_week=first.weekday())
    closed_before = Closure.objects.create(date=first, reason="Holiday")  # known when it was bought: 3 classes
    registration = paid(ClassSessionFactory(slot=slot, session_date=first + 7 * DAY), "60.00")
    sessions = [ClassSessionFactory(slot=slot, session_date=first + n * DAY) for n in (14, 21)]

    for session in sessions:
        with django_capture_on_commit_callbacks(execute=True):
            add_closure(closure=Closure(date=session.session_date, reason="Studio trip"))

    grants = CreditEntry.objects.filter(registration=registration).order_by("class_date")
    assert [grant.amount for grant in grants] == [Decimal("20.00"), Decimal("20.00")]  # not $20, then $30
    assert closed_before.date not in [grant.class_date for grant in grants]
