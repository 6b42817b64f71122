"""Free classes are confirmed at once; a late joiner's registration covers the classes from its start; the form offers
only choices that fit."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from attendance.selectors import completion_for_course, session_roster
from attendance.tests.factories import ClassSessionFactory
from courses.models import Course
from courses.tests.factories import CourseFactory, CourseSlotFactory, priced_slot
from portal.selectors import class_occurrences
from registrations import seats, transitions
from registrations.errors import InvalidChoice
from registrations.models import Registration
from registrations.services import register_student
from students.services import StudentDetails
from studio.models import EmailLog, SystemSetting
from waitlist import offers
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus


def register(slot, *, email="ana@example.org", pricing_type="full_package", payment_method="venmo", **kwargs):
    return register_student(
        course=slot.course,
        slot=slot,
        pricing_type=pricing_type,
        payment_method=payment_method,
        details=StudentDetails(email=email, first_name="Ana", last_name="Lima"),
        **kwargs,
    )


def a_started_series(*, weeks_ago: int = 2, weeks: int = 6, **prices):
    """A weekly series that started `weeks_ago` weeks ago (its class today has not started yet: it meets at 23:00)."""
    start = timezone.localdate() - datetime.timedelta(weeks=weeks_ago)
    course = CourseFactory(start_date=start, end_date=start + datetime.timedelta(weeks=weeks, days=-1))
    return priced_slot(course=course, start_time=datetime.time(23, 0), end_time=datetime.time(23, 45), **prices)


def form(slot, **changes):
    return {
        "slot": str(slot.pk),
        "pricing_type": "full_package",
        "payment_method": "venmo",
        "email": "ana@example.org",
        "first_name": "Ana",
        "last_name": "Lima",
        "phone": "",
        "instagram_handle": "",
        "website": "",
        **changes,
    }


# --- free classes -----------------------------------------------------------------------------------------------------


def test_a_free_class_is_confirmed_at_once_with_no_method_no_hold_and_the_youre_in_email(
    django_capture_on_commit_callbacks, mailoutbox
):
    slot = priced_slot(full_package="0.00", drop_in=None)

    with django_capture_on_commit_callbacks(execute=True):
        registration = register(slot, payment_method="")

    assert registration.payment_status == PaymentStatus.COMPLETED
    assert (registration.payment_method, registration.payment_due_at) == ("", None)
    assert registration.confirmed_at is not None
    assert list(registration.events.values_list("from_status", "to_status")) == [("", "completed")]
    assert list(EmailLog.objects.values_list("kind", flat=True)) == ["registration_confirmed"]
    assert mailoutbox[0].subject.startswith("You're in")
    assert "nothing to pay" in mailoutbox[0].body


def test_a_free_registration_never_runs_out_and_keeps_its_seat():
    slot = priced_slot(full_package="0.00", drop_in=None, capacity=1)
    register(slot, payment_method="")

    with time_machine.travel(timezone.now() + datetime.timedelta(days=30)):
        assert transitions.expire_run_out_holds() == 0
        assert seats.seats_left(slot) == 0


def test_a_paid_class_still_needs_a_payment_method():
    slot = priced_slot()

    with pytest.raises(InvalidChoice) as refused:
        register(slot, payment_method="")

    assert refused.value.field == "payment_method"
    assert not Registration.objects.exists()


def test_the_database_refuses_a_paid_registration_without_a_method():
    from django.db import IntegrityError, transaction

    from registrations.tests.factories import RegistrationFactory

    with pytest.raises(IntegrityError, match="method_unless_nothing_to_pay"), transaction.atomic():
        RegistrationFactory(payment_method="", payment_amount=Decimal("10.00"))


def test_the_course_page_of_a_free_class_asks_for_no_payment_and_promises_no_hold(client):
    slot = priced_slot(full_package="0.00", drop_in=None)

    html = client.get(slot.course.get_absolute_url()).content.decode()

    assert 'name="payment_method"' not in html
    assert "How will you pay?" not in html
    assert "We hold your seat" not in html
    assert "it's free" in html


def test_registering_for_a_free_class_shows_youre_in_not_almost_done(client):
    slot = priced_slot(full_package="0.00", drop_in=None)
    data = form(slot)
    del data["payment_method"]

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), data, follow=True)

    html = response.content.decode()
    assert "You're in" in html
    assert "Almost done" not in html
    assert "Seat held until" not in html
    assert "Pending payment" not in html
    assert Registration.objects.get().payment_status == PaymentStatus.COMPLETED


def test_a_course_with_a_free_drop_in_and_a_paid_package_asks_for_a_method_only_for_the_paid_one(client):
    slot = priced_slot(course=CourseFactory(course_type=Course.CourseType.SERIES), drop_in="0.00")
    url = reverse("registrations:create", args=[slot.course.pk])
    day = slot.class_dates()[0]

    no_method = form(slot, payment_method="")
    refused = client.post(url, no_method)
    free_drop_in = client.post(url, form(slot, pricing_type="drop_in", class_date=day.isoformat(), payment_method=""))

    assert "Choose Venmo or Zelle." in refused.content.decode()
    assert free_drop_in.status_code == 302
    assert Registration.objects.get().payment_status == PaymentStatus.COMPLETED


def test_accepting_an_offer_of_a_free_class_needs_no_method_and_confirms_at_once():
    slot = priced_slot(full_package="0.00", drop_in=None, capacity=1)
    entry = WaitlistEntryFactory(
        course=slot.course,
        status=WaitlistEntry.Status.OFFERED,
        waitlist_position=1,
        offer_slot=slot,
        offer_token_hash="h",
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + datetime.timedelta(hours=1),
    )

    registration = offers.accept_offer(entry=entry, payment_method="")

    assert registration.payment_status == PaymentStatus.COMPLETED


# --- late joiners -----------------------------------------------------------------------------------------------------


def test_a_late_joiner_covers_the_classes_from_the_first_one_not_started():
    slot = a_started_series()

    registration = register(slot)

    today = timezone.localdate()
    assert registration.first_class_date == today  # today's class meets at 23:00
    assert registration.payment_amount == Decimal("120.00")  # late_join_pricing defaults to full


def test_a_late_joiner_pays_by_the_classes_left_when_the_studio_prorates():
    SystemSetting.objects.create(setting_key="late_join_pricing", setting_value="prorated")
    slot = a_started_series(weeks_ago=2, weeks=6)  # 2 of 6 classes are past: 4 left

    registration = register(slot)

    assert registration.payment_amount == Decimal("80.00")


def test_prorating_rounds_to_the_cent():
    SystemSetting.objects.create(setting_key="late_join_pricing", setting_value="prorated")
    slot = a_started_series(weeks_ago=1, weeks=3, full_package="100.00")  # 2 of 3 left

    assert register(slot).payment_amount == Decimal("66.67")


def test_a_late_joiner_is_not_on_the_rosters_completion_or_calendar_of_classes_before_they_joined():
    slot = a_started_series()
    past = [ClassSessionFactory(slot=slot, session_date=day) for day in slot.class_dates()[:3]]
    registration = register(slot)
    transitions.confirm_payment(registration=registration, actor=None)

    assert [session_roster(session).size for session in past] == [0, 0, 1]
    row = completion_for_course(slot.course).rows[0]
    assert [cell.expected for cell in row.cells] == [False, False, True]
    first = min(occurrence.starts_at.date() for occurrence in class_occurrences(registration.student))
    assert first == timezone.localdate()


def test_the_course_page_says_how_many_classes_are_left_and_prices_them(client):
    SystemSetting.objects.create(setting_key="late_join_pricing", setting_value="prorated")
    slot = a_started_series(weeks_ago=2, weeks=6)

    html = client.get(slot.course.get_absolute_url()).content.decode()

    assert "4 of 6 classes left" in html
    assert "$80.00 full package" in html
    assert "Full package (the classes left)" in html


def test_the_full_package_is_no_longer_sold_once_the_last_class_has_started(client):
    start = timezone.localdate() - datetime.timedelta(weeks=3)
    course = CourseFactory(start_date=start, end_date=timezone.localdate())
    slot = priced_slot(course=course, start_time=datetime.time(0, 0), end_time=datetime.time(0, 30), drop_in=None)

    with pytest.raises(InvalidChoice):
        register(slot)
    html = client.get(course.get_absolute_url()).content.decode()

    assert "full package" not in html.lower().split("</h1>", 1)[1].split("</section>", 1)[0]
    assert not Registration.objects.exists()


def test_the_admin_registers_a_late_joiner_from_the_next_class_at_the_late_price(django_user_model):
    from registrations.services import admin_register_student
    from students.tests.factories import StudentFactory

    SystemSetting.objects.create(setting_key="late_join_pricing", setting_value="prorated")
    slot = a_started_series(weeks_ago=2, weeks=6)
    owner = django_user_model.objects.create_superuser(username="owner", password=None)

    registration = admin_register_student(
        student=StudentFactory(), slot=slot, pricing_type="full_package", payment_method="zelle", actor=owner
    )

    assert (registration.payment_amount, registration.first_class_date) == (Decimal("80.00"), timezone.localdate())
    assert not registration.admin_override


def test_late_join_pricing_refuses_a_value_it_does_not_know(admin_client):
    response = admin_client.post(
        reverse("admin:studio_systemsetting_add"), {"setting_key": "late_join_pricing", "setting_value": "half"}
    )

    assert "Enter one of: full, prorated." in response.content.decode()
    assert not SystemSetting.objects.exists()


# --- choices that fit ---------------------------------------------------------------------------------------------------


def two_slot_series():
    course = CourseFactory()
    thursday = priced_slot(course=course, day_of_week=3, start_time=datetime.time(19), end_time=datetime.time(20, 30))
    saturday = priced_slot(
        course=course, day_of_week=5, start_time=datetime.time(11), end_time=datetime.time(12), drop_in=None
    )
    return course, thursday, saturday


def test_drop_in_is_offered_only_for_the_slots_that_have_a_drop_in_price(client):
    course, _thursday, saturday = two_slot_series()

    html = client.get(course.get_absolute_url()).content.decode()

    assert "Drop-in (one class) – $35.00 · only Thursdays 7–8:30 pm" in html
    refused = client.post(
        reverse("registrations:create", args=[course.pk]),
        form(saturday, pricing_type="drop_in", class_date=saturday.class_dates()[0].isoformat()),
    )
    assert "This time slot has no price of that kind" in refused.content.decode()


def test_drop_in_dates_are_grouped_by_slot_with_their_times_and_say_their_slot(client):
    course = CourseFactory()
    thursday = priced_slot(course=course, day_of_week=3, start_time=datetime.time(19), end_time=datetime.time(20, 30))
    saturday = priced_slot(course=course, day_of_week=5, start_time=datetime.time(11), end_time=datetime.time(12))
    thursday_day, saturday_day = thursday.class_dates()[0], saturday.class_dates()[0]

    html = client.get(course.get_absolute_url()).content.decode()

    thursday_option = f'<option value="{thursday_day.isoformat()}" data-slot="{thursday.pk}">'
    assert f"{thursday_option}{thursday_day:%a, %b} {thursday_day.day}, 7–8:30 pm</option>" in html
    saturday_option = f'<option value="{saturday_day.isoformat()}" data-slot="{saturday.pk}">'
    assert f"{saturday_option}{saturday_day:%a, %b} {saturday_day.day}, 11 am–12 pm</option>" in html
    assert html.count("<optgroup") == 2


def test_a_date_of_another_slot_is_refused_next_to_the_date(client):
    course, thursday, saturday = two_slot_series()
    course_url = reverse("registrations:create", args=[course.pk])
    saturday_price = saturday.prices.get(pricing_type="full_package")
    saturday_price.pk = None
    saturday_price.pricing_type = "drop_in"
    saturday_price.save()

    response = client.post(
        course_url, form(saturday, pricing_type="drop_in", class_date=thursday.class_dates()[0].isoformat())
    )

    assert "Choose one of the class dates in the list." in response.content.decode() or (
        "That date is not a class of the time slot you chose." in response.content.decode()
    )
    assert not Registration.objects.exists()


def test_a_slot_of_a_dated_class_keeps_its_one_date(client):
    course = CourseFactory(course_type=Course.CourseType.DROP_IN)
    CourseSlotFactory(course=course)

    assert client.get(course.get_absolute_url()).status_code == 200
