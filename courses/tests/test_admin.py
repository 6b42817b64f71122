import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.models import Course, CoursePricing, CourseSlot
from courses.tests.factories import CourseFactory, CoursePricingFactory, CourseSlotFactory, priced_slot
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


MONDAY = datetime.date(2031, 9, 1)
COURSE_ADD = reverse("admin:courses_course_add")
SLOT_ADD = reverse("admin:courses_courseslot_add")


def course_data(slots=(), *, initial_forms=0, **course):
    """POST data for the course page: the course's fields plus one inline row per dict in `slots`."""
    data = {
        "name": "House L1",
        "course_type": Course.CourseType.SERIES,
        "required_student_type": Course.RequiredStudentType.ANY,
        "is_active": "on",
        "makeup_policy": Course.MakeupPolicy.LEVEL,
        "start_date": MONDAY.isoformat(),
        "end_date": (MONDAY + datetime.timedelta(days=21)).isoformat(),
        "instructor": "Jordan",
        "level": "",
        "description": "",
        "slots-TOTAL_FORMS": str(len(slots)),
        "slots-INITIAL_FORMS": str(initial_forms),
        "slots-MIN_NUM_FORMS": "0",
        "slots-MAX_NUM_FORMS": "1000",
        **course,
    }
    for i, slot in enumerate(slots):
        row = {
            "day_of_week": "0",
            "practice_date": "",
            "start_time": "19:00",
            "end_time": "20:30",
            "capacity": "12",
            "difficulty_level": CourseSlot.DifficultyLevel.ALL_LEVELS,
            "location": "Studio A",
            "full_package_price": "120.00",
            "drop_in_price": "35.00",
            **slot,
        }
        data.update({f"slots-{i}-{key}": value for key, value in row.items()})
    return data


def existing_slot_row(slot, **changes):
    """An inline row for a saved slot, with its stored values."""
    prices = {p.pricing_type: str(p.price) for p in slot.prices.all()}
    return {
        "id": str(slot.pk),
        "course": str(slot.course_id),
        "day_of_week": "" if slot.day_of_week is None else str(slot.day_of_week),
        "practice_date": slot.practice_date.isoformat() if slot.practice_date else "",
        "start_time": slot.start_time.strftime("%H:%M"),
        "end_time": slot.end_time.strftime("%H:%M"),
        "capacity": str(slot.capacity),
        "difficulty_level": slot.difficulty_level,
        "location": slot.location,
        "full_package_price": prices.get("full_package", ""),
        "drop_in_price": prices.get("drop_in", ""),
        **changes,
    }


def course_change(admin_client, course, slot_rows, **course_changes):
    stored = {
        "name": course.name,
        "course_type": course.course_type,
        "start_date": course.start_date.isoformat(),
        "end_date": course.end_date.isoformat(),
    }
    data = course_data(slot_rows, initial_forms=sum(1 for row in slot_rows if "id" in row), **(stored | course_changes))
    return admin_client.post(reverse("admin:courses_course_change", args=[course.pk]), data)


def inline_errors(response):
    return [form.errors for form in response.context["inline_admin_formsets"][0].formset.forms]


def prices_of(slot):
    return dict(slot.prices.values_list("pricing_type", "price"))


# --- slots and prices on the course page ----------------------------------------------------------------------


def test_course_add_creates_slots_with_both_prices(admin_client):
    response = admin_client.post(
        COURSE_ADD, course_data([{}, {"day_of_week": "2", "full_package_price": "0", "drop_in_price": ""}])
    )

    assert response.status_code == 302
    course = Course.objects.get()
    monday, wednesday = course.slots.order_by("day_of_week")
    assert prices_of(monday) == {"full_package": Decimal("120.00"), "drop_in": Decimal("35.00")}
    assert prices_of(wednesday) == {"full_package": Decimal("0.00")}  # a free class; no drop-in price row


def test_course_add_creates_a_dated_crew_practice_with_its_date(admin_client):
    response = admin_client.post(
        COURSE_ADD,
        course_data(
            [{"day_of_week": "", "practice_date": MONDAY.isoformat(), "full_package_price": ""}],
            course_type=Course.CourseType.CREW_PRACTICE,
            required_student_type=Course.RequiredStudentType.CREW_MEMBER,
            end_date=MONDAY.isoformat(),
        ),
    )

    assert response.status_code == 302
    slot = CourseSlot.objects.get()
    assert slot.practice_date == MONDAY
    assert prices_of(slot) == {"drop_in": Decimal("35.00")}


def test_course_change_updates_adds_and_removes_prices(admin_client):
    slot = priced_slot(full_package="120.00", drop_in=None)
    before = slot.prices.get().pk

    response = course_change(
        admin_client, slot.course, [existing_slot_row(slot, full_package_price="99.50", drop_in_price="30")]
    )
    assert response.status_code == 302
    assert prices_of(slot) == {"full_package": Decimal("99.50"), "drop_in": Decimal("30.00")}
    assert slot.prices.get(pricing_type="full_package").pk == before  # updated in place, not replaced

    response = course_change(admin_client, slot.course, [existing_slot_row(slot, full_package_price="")])
    assert response.status_code == 302
    assert prices_of(slot) == {"drop_in": Decimal("30.00")}


def test_course_page_shows_stored_prices_in_the_slot_row(admin_client):
    slot = priced_slot(full_package="120.00", drop_in="35.00")

    response = admin_client.get(reverse("admin:courses_course_change", args=[slot.course.pk]))

    form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert form["full_package_price"].value() == Decimal("120.00")
    assert form["drop_in_price"].value() == Decimal("35.00")


def test_course_page_queries_do_not_grow_with_slots(admin_client):
    course = CourseFactory()
    for weekday in range(2):
        priced_slot(course=course, day_of_week=weekday)
    url = reverse("admin:courses_course_change", args=[course.pk])

    with CaptureQueriesContext(connection) as two_slots:
        admin_client.get(url)
    for weekday in range(2, 6):
        priced_slot(course=course, day_of_week=weekday)
    with CaptureQueriesContext(connection) as six_slots:
        admin_client.get(url)

    assert len(six_slots) == len(two_slots)


# --- bad input on the course page: a message on the field, nothing saved --------------------------------------


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        ("0", "Ensure this value is greater than or equal to 1."),
        ("-3", "Ensure this value is greater than or equal to 0."),
        ("2.5", "Enter a whole number."),
        ("1e9", "Enter a whole number."),
        ("501", "Ensure this value is less than or equal to 500."),
        ("1000000000", "Ensure this value is less than or equal to 500."),
        ("", "This field is required."),
    ],
)
def test_course_add_rejects_bad_capacity_and_saves_nothing(admin_client, capacity, message):
    response = admin_client.post(COURSE_ADD, course_data([{"capacity": capacity}]))

    assert response.status_code == 200
    assert message in inline_errors(response)[0]["capacity"]
    assert not Course.objects.exists()
    assert not CourseSlot.objects.exists()
    assert not CoursePricing.objects.exists()


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("-5", "Ensure this value is greater than or equal to 0."),
        ("12.345", "Ensure that there are no more than 2 decimal places."),
        ("NaN", "Enter a number."),
        ("Infinity", "Enter a number."),
        ("-Infinity", "Enter a number."),
        ("1,5", "Enter a number."),
        ("1000000", "Ensure that there are no more than 6 digits before the decimal point."),
        ("abc", "Enter a number."),
    ],
)
@pytest.mark.parametrize("field", ["full_package_price", "drop_in_price"])
def test_course_add_rejects_bad_price_and_saves_nothing(admin_client, field, price, message):
    response = admin_client.post(COURSE_ADD, course_data([{field: price}]))

    assert response.status_code == 200
    assert message in inline_errors(response)[0][field]
    assert not Course.objects.exists()
    assert not CoursePricing.objects.exists()


def test_course_change_rejects_bad_price_and_keeps_the_stored_one(admin_client):
    slot = priced_slot(full_package="120.00", drop_in="35.00")

    response = course_change(
        admin_client, slot.course, [existing_slot_row(slot, full_package_price="-1", drop_in_price="20")]
    )

    assert response.status_code == 200
    assert "full_package_price" in inline_errors(response)[0]
    assert prices_of(slot) == {"full_package": Decimal("120.00"), "drop_in": Decimal("35.00")}


def test_course_add_rejects_slot_ending_before_it_starts(admin_client):
    response = admin_client.post(COURSE_ADD, course_data([{"start_time": "20:00", "end_time": "19:00"}]))

    assert response.status_code == 200
    assert inline_errors(response)[0]["end_time"] == ["The class must end after it starts."]
    assert not Course.objects.exists()


def test_course_add_rejects_end_date_before_start_date(admin_client):
    response = admin_client.post(
        COURSE_ADD, course_data([{}], end_date=(MONDAY - datetime.timedelta(days=1)).isoformat())
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["end_date"] == ["The end date must be on or after the start date."]
    assert not Course.objects.exists()
    assert not CourseSlot.objects.exists()


def test_course_change_rejects_end_date_before_start_date(admin_client):
    course = CourseFactory(name="House L1")
    end_date = course.end_date

    day_before_start = (course.start_date - datetime.timedelta(days=1)).isoformat()

    response = course_change(admin_client, course, [], end_date=day_before_start)

    assert response.status_code == 200
    assert "end_date" in response.context["adminform"].form.errors
    course.refresh_from_db()
    assert course.end_date == end_date


@pytest.mark.parametrize("course_type", [Course.CourseType.DROP_IN, Course.CourseType.CREW_PRACTICE])
def test_course_add_rejects_dated_course_slot_without_date(admin_client, course_type):
    response = admin_client.post(
        COURSE_ADD, course_data([{"day_of_week": "", "practice_date": ""}], course_type=course_type)
    )

    assert response.status_code == 200
    assert inline_errors(response)[0]["practice_date"] == ["A drop-in class or crew practice needs a date."]
    assert not Course.objects.exists()


def test_course_add_rejects_dated_slot_outside_the_course_dates(admin_client):
    response = admin_client.post(
        COURSE_ADD,
        course_data([{"day_of_week": "", "practice_date": "2031-12-25"}], course_type=Course.CourseType.DROP_IN),
    )

    assert response.status_code == 200
    assert inline_errors(response)[0]["practice_date"] == [
        "The date must fall between the course's start and end dates."
    ]
    assert not Course.objects.exists()


def test_course_add_rejects_weekly_series_slot_without_weekday(admin_client):
    response = admin_client.post(COURSE_ADD, course_data([{"day_of_week": ""}]))

    assert response.status_code == 200
    assert inline_errors(response)[0]["day_of_week"] == ["A weekly series needs a day of the week."]
    assert not Course.objects.exists()


def test_course_change_to_dated_type_checks_slots_against_the_new_type(admin_client):
    slot = priced_slot()  # weekly

    response = course_change(
        admin_client, slot.course, [existing_slot_row(slot)], course_type=Course.CourseType.DROP_IN
    )

    assert response.status_code == 200
    errors = inline_errors(response)[0]
    assert errors["practice_date"] == ["A drop-in class or crew practice needs a date."]
    assert errors["day_of_week"] == ["A dated class has a date, not a weekday."]
    slot.course.refresh_from_db()
    assert slot.course.course_type == Course.CourseType.SERIES


def test_course_change_refuses_capacity_below_active_registrations(admin_client):
    slot = priced_slot(capacity=10)
    RegistrationFactory.create_batch(2, slot=slot)
    RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.COMPLETED)
    RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.CANCELED)
    RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.EXPIRED)

    response = course_change(admin_client, slot.course, [existing_slot_row(slot, capacity="2")])

    assert response.status_code == 200
    assert inline_errors(response)[0]["capacity"] == ["3 seats are taken; capacity cannot go below 3."]
    slot.refresh_from_db()
    assert slot.capacity == 10
    assert Registration.objects.filter(payment_status__in=Registration.ACTIVE_STATUSES).count() == 3


def test_course_change_allows_capacity_equal_to_active_registrations(admin_client):
    slot = priced_slot(capacity=10)
    RegistrationFactory.create_batch(3, slot=slot)

    response = course_change(admin_client, slot.course, [existing_slot_row(slot, capacity="3")])

    assert response.status_code == 302
    slot.refresh_from_db()
    assert slot.capacity == 3


def test_capacity_floor_counts_drop_ins_on_their_busiest_date_only(admin_client):
    slot = priced_slot(capacity=10)
    first, second = slot.class_dates()[:2]
    RegistrationFactory(slot=slot)  # full package: every date
    for class_date in (first, first, second):
        RegistrationFactory(slot=slot, pricing_type="drop_in", class_date=class_date)

    refused = course_change(admin_client, slot.course, [existing_slot_row(slot, capacity="2")])
    allowed = course_change(admin_client, slot.course, [existing_slot_row(slot, capacity="3")])

    assert inline_errors(refused)[0]["capacity"] == ["3 seats are taken; capacity cannot go below 3."]
    assert allowed.status_code == 302


def test_course_page_refuses_deleting_a_slot_with_registrations(admin_client):
    slot = priced_slot()
    RegistrationFactory(slot=slot)

    response = course_change(admin_client, slot.course, [existing_slot_row(slot, DELETE="on")])

    assert response.status_code == 200
    assert CourseSlot.objects.filter(pk=slot.pk).exists()


# --- the slot's own page ----------------------------------------------------------------------------------------


def slot_data(course, **changes):
    return {
        "course": str(course.pk),
        "day_of_week": str(course.start_date.weekday()),
        "practice_date": "",
        "start_time": "19:00",
        "end_time": "20:30",
        "capacity": "12",
        "difficulty_level": CourseSlot.DifficultyLevel.ALL_LEVELS,
        "location": "Studio B",
        "prices-TOTAL_FORMS": "1",
        "prices-INITIAL_FORMS": "0",
        "prices-MIN_NUM_FORMS": "0",
        "prices-MAX_NUM_FORMS": "2",
        "prices-0-pricing_type": CoursePricing.PricingType.FULL_PACKAGE,
        "prices-0-price": "80.00",
        **changes,
    }


def test_slot_add_saves_the_slot_with_its_price_inline(admin_client):
    course = CourseFactory()

    response = admin_client.post(SLOT_ADD, slot_data(course))

    assert response.status_code == 302
    assert prices_of(CourseSlot.objects.get()) == {"full_package": Decimal("80.00")}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"capacity": "0"}, "capacity"),
        ({"capacity": "2.5"}, "capacity"),
        ({"capacity": ""}, "capacity"),
        ({"end_time": "18:00"}, "end_time"),
        ({"day_of_week": ""}, "day_of_week"),
    ],
)
def test_slot_add_rejects_bad_slot_values_and_saves_nothing(admin_client, changes, field):
    response = admin_client.post(SLOT_ADD, slot_data(CourseFactory(), **changes))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not CourseSlot.objects.exists()
    assert not CoursePricing.objects.exists()


def test_slot_add_rejects_a_dated_course_slot_without_date(admin_client):
    course = CourseFactory(course_type=Course.CourseType.DROP_IN)

    response = admin_client.post(SLOT_ADD, slot_data(course, day_of_week=""))

    assert response.context["adminform"].form.errors["practice_date"] == [
        "A drop-in class or crew practice needs a date."
    ]
    assert not CourseSlot.objects.exists()


def test_slot_add_rejects_negative_price_and_saves_nothing(admin_client):
    response = admin_client.post(SLOT_ADD, slot_data(CourseFactory(), **{"prices-0-price": "-5"}))

    assert response.status_code == 200
    assert not CourseSlot.objects.exists()


def test_slot_add_rejects_two_prices_of_the_same_type(admin_client):
    data = slot_data(
        CourseFactory(),
        **{"prices-TOTAL_FORMS": "2", "prices-1-pricing_type": "full_package", "prices-1-price": "90"},
    )

    response = admin_client.post(SLOT_ADD, data)

    assert response.status_code == 200
    assert not CourseSlot.objects.exists()


def test_slot_change_refuses_capacity_below_active_registrations(admin_client):
    slot = CourseSlotFactory(capacity=10)
    RegistrationFactory.create_batch(3, slot=slot)

    response = admin_client.post(
        reverse("admin:courses_courseslot_change", args=[slot.pk]),
        slot_data(slot.course, capacity="1", **{"prices-TOTAL_FORMS": "0"}),
    )

    assert response.context["adminform"].form.errors["capacity"] == ["3 seats are taken; capacity cannot go below 3."]
    slot.refresh_from_db()
    assert slot.capacity == 10


def test_pricing_add_rejects_a_second_price_of_the_same_type(admin_client):
    price = CoursePricingFactory(pricing_type=CoursePricing.PricingType.DROP_IN, price=Decimal("35"))

    response = admin_client.post(
        reverse("admin:courses_coursepricing_add"),
        {"course_slot": price.course_slot.pk, "pricing_type": "drop_in", "price": "20"},
    )

    assert response.status_code == 200
    assert CoursePricing.objects.get().price == Decimal("35.00")


def test_course_changelist_counts_slots_and_active_registrations(admin_client):
    slot = priced_slot()
    CourseSlotFactory(course=slot.course, day_of_week=(slot.day_of_week + 1) % 7)
    RegistrationFactory.create_batch(2, slot=slot)
    RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.CANCELED)

    response = admin_client.get(reverse("admin:courses_course_changelist"))

    course = response.context["cl"].result_list[0]
    assert (course._slot_count, course._active_registrations) == (2, 2)


def test_raising_capacity_in_the_slot_admin_offers_the_new_seat_to_the_waitlist(
    admin_client, django_capture_on_commit_callbacks
):
    from registrations.tests.factories import RegistrationFactory
    from waitlist.models import WaitlistEntry
    from waitlist.tests.factories import WaitlistEntryFactory

    slot = priced_slot()
    slot.capacity = 1
    slot.save()
    RegistrationFactory(slot=slot, payment_status="completed")
    entry = WaitlistEntryFactory(course=slot.course, waitlist_position=1)
    data = {
        "capacity": 2,
        "difficulty_level": slot.difficulty_level,
        "day_of_week": slot.day_of_week,
        "start_time": "19:00",
        "end_time": "20:30",
        "location": slot.location,
        "prices-TOTAL_FORMS": 0,
        "prices-INITIAL_FORMS": 0,
        "prices-MIN_NUM_FORMS": 0,
        "prices-MAX_NUM_FORMS": 2,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:courses_courseslot_change", args=[slot.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED


def test_capacity_floor_is_the_seat_rule_a_run_out_hold_frees_its_seat_and_an_offer_holds_one(admin_client):
    from waitlist.tests.factories import WaitlistEntryFactory

    slot = priced_slot(capacity=10)
    RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.COMPLETED)
    RegistrationFactory(slot=slot, payment_due_at=timezone.now() - datetime.timedelta(minutes=1))  # ran out
    WaitlistEntryFactory(
        course=slot.course,
        status="offered",
        waitlist_position=1,
        offer_slot=slot,
        offer_token_hash="h",
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + datetime.timedelta(hours=1),
    )

    refused = course_change(admin_client, slot.course, [existing_slot_row(slot, capacity="1")])
    allowed = course_change(admin_client, slot.course, [existing_slot_row(slot, capacity="2")])

    assert inline_errors(refused)[0]["capacity"] == ["2 seats are taken; capacity cannot go below 2."]
    assert allowed.status_code == 302
