import datetime
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.core.paginator import EmptyPage
from django.utils import timezone

from courses.formatting import schedule_text
from courses.models import Course
from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.payments import payment_instructions, venmo_qr_svg
from registrations.seats import seat_counts, seats_left, walk_up_seats_left
from registrations.selectors import course_for_page, open_courses, open_courses_page
from registrations.tests.factories import RegistrationFactory
from students.tests.factories import CrewMemberFactory, StudentFactory
from studio.models import SystemSetting
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def set_setting(key, value):
    SystemSetting.objects.update_or_create(setting_key=key, defaults={"setting_value": value})


def offer(slot, *, expires_in=datetime.timedelta(hours=24)):
    return WaitlistEntryFactory(
        course=slot.course,
        status=WaitlistEntry.Status.OFFERED,
        waitlist_position=None,
        offer_slot=slot,
        offer_token_hash=f"hash-{WaitlistEntry.objects.count()}",
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + expires_in,
    )


# --- seats_left -----------------------------------------------------------------------------------------------------


def test_seats_left_counts_completed_and_pending_with_a_live_hold():
    slot = priced_slot(capacity=10)
    RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.COMPLETED)
    RegistrationFactory(slot=slot)  # pending, held for 48 hours

    assert seats_left(slot) == 8


def test_seats_left_ignores_pending_whose_hold_ran_out_and_closed_registrations():
    slot = priced_slot(capacity=10)
    RegistrationFactory(slot=slot, payment_due_at=timezone.now() - datetime.timedelta(seconds=1))
    RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.CANCELED)
    RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.EXPIRED)

    assert seats_left(slot) == 10


def test_seats_left_compares_the_hold_with_the_given_now():
    slot = priced_slot(capacity=10)
    registration = RegistrationFactory(slot=slot)

    assert seats_left(slot, now=registration.payment_due_at - datetime.timedelta(seconds=1)) == 9
    assert seats_left(slot, now=registration.payment_due_at) == 10


def test_seats_left_counts_outstanding_offers_on_the_slot_only():
    slot = priced_slot(capacity=10)
    other = priced_slot(course=slot.course)
    offer(slot)
    offer(slot, expires_in=-datetime.timedelta(seconds=1))
    offer(other)

    assert seats_left(slot) == 9
    assert seats_left(other) == 9


def test_seats_left_counts_a_drop_in_on_its_date_and_the_busiest_date_for_a_full_package():
    slot = priced_slot(capacity=10)
    first, second = slot.class_dates()[:2]
    RegistrationFactory(slot=slot)  # full package: every date
    RegistrationFactory(slot=slot, pricing_type="drop_in", class_date=first)
    RegistrationFactory(slot=slot, pricing_type="drop_in", class_date=first)
    RegistrationFactory(slot=slot, pricing_type="drop_in", class_date=second)

    assert seats_left(slot, class_date=first) == 7
    assert seats_left(slot, class_date=second) == 8
    assert seats_left(slot, class_date=slot.class_dates()[2]) == 9
    assert seats_left(slot) == 7


def test_seats_left_never_goes_below_zero():
    slot = priced_slot(capacity=1)
    RegistrationFactory(slot=slot)
    RegistrationFactory(slot=slot, admin_override=True)

    assert seats_left(slot) == 0


def test_walk_up_seats_left_subtracts_students_waiting_for_this_slot_or_any():
    slot = priced_slot(capacity=5)
    other = priced_slot(course=slot.course)
    WaitlistEntryFactory(course=slot.course)
    WaitlistEntryFactory(course=slot.course, preferred_slot=slot)
    WaitlistEntryFactory(course=slot.course, preferred_slot=other)
    WaitlistEntryFactory(course=slot.course, status=WaitlistEntry.Status.LEFT, waitlist_position=None)

    assert seat_counts([slot], with_waiting=True)[slot.pk].waiting == 2
    assert walk_up_seats_left(slot) == 3
    assert walk_up_seats_left(other) == other.capacity - 2


# --- open_courses / course_for_page ---------------------------------------------------------------------------------


def test_walk_up_seats_left_takes_off_this_slots_running_offers_and_the_waiting_alike():
    slot = priced_slot(capacity=6)
    other = priced_slot(course=slot.course)
    RegistrationFactory(slot=slot)
    offer(slot)
    offer(slot, expires_in=-datetime.timedelta(seconds=1))  # ran out: holds nothing
    offer(other)
    WaitlistEntryFactory(course=slot.course)
    WaitlistEntryFactory(course=priced_slot().course)  # another course's list

    assert walk_up_seats_left(slot) == 6 - 1 - 1 - 1
    assert walk_up_seats_left(slot) == seats_left(slot) - seat_counts([slot], with_waiting=True)[slot.pk].waiting


def test_open_courses_lists_active_courses_that_have_not_ended():
    listed = CourseFactory(name="Listed")
    ends_today = CourseFactory(name="Ends today", start_date=TODAY - datetime.timedelta(days=7), end_date=TODAY)
    CourseFactory(name="Inactive", is_active=False)
    CourseFactory(
        name="Ended", start_date=TODAY - datetime.timedelta(days=30), end_date=TODAY - datetime.timedelta(days=1)
    )

    assert {course.pk for course in open_courses()} == {listed.pk, ends_today.pk}


def test_open_courses_shows_crew_only_courses_to_crew_members_only():
    crew_only = CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER)
    public = CourseFactory()

    assert [c.pk for c in open_courses()] == [public.pk]
    assert [c.pk for c in open_courses(student=StudentFactory())] == [public.pk]
    assert {c.pk for c in open_courses(student=CrewMemberFactory())} == {crew_only.pk, public.pk}


def test_open_courses_orders_by_course_type_then_start_date():
    later_series = CourseFactory(start_date=TODAY + datetime.timedelta(days=20))
    series = CourseFactory(start_date=TODAY + datetime.timedelta(days=1))
    drop_in = CourseFactory(course_type=Course.CourseType.DROP_IN, start_date=TODAY, end_date=TODAY)

    assert [c.pk for c in open_courses()] == [series.pk, later_series.pk, drop_in.pk]


def test_open_courses_decorates_slots_with_prices_and_walk_up_seats():
    slot = priced_slot(capacity=4, full_package="120.00", drop_in="35.00")
    first = slot.class_dates()[0]
    RegistrationFactory(slot=slot)
    RegistrationFactory(slot=slot, pricing_type="drop_in", class_date=first)
    WaitlistEntryFactory(course=slot.course)

    (course,) = open_courses()
    (listed,) = course.open_slots
    assert listed.pk == slot.pk
    assert listed.price_by_type == {"drop_in": Decimal("35.00"), "full_package": Decimal("120.00")}
    assert listed.waiting_count == 1
    assert listed.seats_left == 1  # 4 − full package − busiest date − one waiting
    assert listed.seats_by_date[first] == 1
    assert listed.seats_by_date[slot.class_dates()[1]] == 2
    assert listed.upcoming_dates == slot.class_dates()


def test_open_courses_leaves_out_slots_without_upcoming_classes():
    course = CourseFactory(start_date=TODAY - datetime.timedelta(days=6), end_date=TODAY + datetime.timedelta(days=1))
    done = priced_slot(course=course, day_of_week=(TODAY - datetime.timedelta(days=1)).weekday())
    running = priced_slot(course=course, day_of_week=TODAY.weekday())

    (listed,) = open_courses()
    assert [slot.pk for slot in listed.open_slots] == [running.pk]
    assert done.pk not in [slot.pk for slot in listed.open_slots]


def test_open_courses_page_splits_open_courses_into_decorated_pages():
    courses = [CourseFactory(start_date=TODAY + datetime.timedelta(days=n)) for n in range(1, 6)]
    for course in courses:
        priced_slot(course=course)

    pages = [open_courses_page(number=n, per_page=2) for n in (1, 2, 3)]

    assert [[c.pk for c in page] for page in pages] == [[c.pk for c in courses[i : i + 2]] for i in (0, 2, 4)]
    assert all(len(course.open_slots) == 1 for page in pages for course in page)
    with pytest.raises(EmptyPage):
        open_courses_page(number=4, per_page=2)


def make_courses(n):
    for i in range(n):
        crew_only = i % 5 == 0
        course = CourseFactory(
            required_student_type=(
                Course.RequiredStudentType.CREW_MEMBER if crew_only else Course.RequiredStudentType.ANY
            )
        )
        for _ in range(2):
            slot = priced_slot(course=course)
            RegistrationFactory(slot=slot)
            RegistrationFactory(slot=slot, pricing_type="drop_in", class_date=slot.class_dates()[1])
            offer(slot)
        WaitlistEntryFactory(course=course)


@pytest.mark.parametrize("n", [5, 50])
def test_open_courses_runs_a_constant_number_of_queries(n, django_assert_max_num_queries):
    make_courses(n)
    crew = CrewMemberFactory()

    # Courses, slots, prices, closures, seats, offers, seats held on single dates (make-ups, excused absences), waiting.
    with django_assert_max_num_queries(8):
        courses = open_courses(student=crew)
        seats = [slot.seats_left for course in courses for slot in course.open_slots]
        prices = [slot.price_by_type for course in courses for slot in course.open_slots]

    assert len(courses) == n
    assert len(seats) == len(prices) == 2 * n


def test_course_for_page_returns_a_decorated_listed_course():
    slot = priced_slot()

    course = course_for_page(course_id=slot.course.pk)

    assert [s.pk for s in course.open_slots] == [slot.pk]
    assert course.open_slots[0].seats_left == slot.capacity


@pytest.mark.parametrize(
    "course_kwargs",
    [
        {"is_active": False},
        {"required_student_type": Course.RequiredStudentType.CREW_MEMBER},
        {"start_date": TODAY - datetime.timedelta(days=9), "end_date": TODAY - datetime.timedelta(days=2)},
    ],
)
def test_course_for_page_raises_does_not_exist_for_a_course_not_listed(course_kwargs):
    course = CourseFactory(**course_kwargs)

    with pytest.raises(Course.DoesNotExist):
        course_for_page(course_id=course.pk, student=StudentFactory())


def test_course_for_page_shows_a_crew_only_course_to_a_crew_member():
    course = CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER)

    assert course_for_page(course_id=course.pk, student=CrewMemberFactory()).pk == course.pk


def test_course_for_page_raises_does_not_exist_for_an_unknown_id():
    with pytest.raises(Course.DoesNotExist):
        course_for_page(course_id=999999)


# --- payment_instructions -------------------------------------------------------------------------------------------


def series_registration(**kwargs):
    course = CourseFactory(
        name="House Foundations L1", start_date=datetime.date(2030, 9, 2), end_date=datetime.date(2030, 9, 30)
    )
    slot = priced_slot(course=course, day_of_week=1)  # Tuesdays: Sep 3 … Sep 24
    return RegistrationFactory(slot=slot, **kwargs)


def test_payment_instructions_for_venmo_build_links_with_amount_and_note():
    set_setting("venmo_username", "Studio-Pay")
    registration = series_registration(payment_amount=Decimal("120"))

    info = payment_instructions(registration)

    note = f"{registration.reference} House Foundations L1 (Sep 3 – Sep 24)"
    assert info.method == "venmo"
    assert info.amount == Decimal("120")
    assert info.amount_text == "120.00"
    assert info.reference == registration.reference
    assert info.note == note
    assert info.venmo_username == "Studio-Pay"
    assert info.venmo_app_url == (
        f"venmo://paycharge?txn=pay&recipients=Studio-Pay&amount=120.00&note={quote(note, safe='')}"
    )
    assert info.venmo_web_url == f"https://venmo.com/Studio-Pay?txn=pay&amount=120.00&note={quote(note, safe='')}"
    assert " " not in info.venmo_web_url
    assert info.zelle_recipient_name == info.zelle_phone == info.zelle_email == ""


def test_payment_instructions_note_names_the_class_date_of_a_drop_in():
    set_setting("venmo_username", "Studio-Pay")
    registration = series_registration(pricing_type="drop_in", class_date=datetime.date(2030, 9, 10))

    assert payment_instructions(registration).note == f"{registration.reference} House Foundations L1 (Sep 10)"


def test_payment_instructions_encode_a_course_name_with_url_characters():
    set_setting("venmo_username", "Studio-Pay")
    registration = series_registration()
    Course.objects.filter(pk=registration.course_id).update(name="Salsa & Bachata #2 ?x=1/2")
    registration.refresh_from_db()

    info = payment_instructions(registration)

    query = info.venmo_web_url.split("?", 1)[1]
    assert query.count("&") == 2 and query.count("=") == 3
    assert "Salsa%20%26%20Bachata%20%232%20%3Fx%3D1%2F2" in query
    assert info.venmo_app_url.endswith(query.split("&note=")[1])


def test_venmo_qr_code_is_an_svg_file_without_script_or_style():
    set_setting("venmo_username", "Studio-Pay")
    registration = series_registration()
    Course.objects.filter(pk=registration.course_id).update(name="<script>alert(1)</script>")
    registration.refresh_from_db()

    svg = venmo_qr_svg(payment_instructions(registration).venmo_web_url).decode()

    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "<path" in svg
    assert "<script" not in svg.lower()
    assert "style" not in svg.lower()
    assert "alert" not in svg


def test_payment_instructions_name_the_qr_code_by_the_link_it_encodes():
    set_setting("venmo_username", "Studio-Pay")
    registration = series_registration()
    first = payment_instructions(registration).venmo_qr_version

    set_setting("venmo_username", "Other-Studio")

    assert first and payment_instructions(registration).venmo_qr_version not in ("", first)


def test_payment_instructions_for_venmo_without_a_username_have_no_links():
    info = payment_instructions(series_registration())

    assert info.venmo_username == info.venmo_app_url == info.venmo_web_url == info.venmo_qr_version == ""
    assert info.note


def test_payment_instructions_for_zelle_carry_the_studio_details():
    set_setting("venmo_username", "Studio-Pay")
    set_setting("zelle_recipient_name", "Dance Studio LLC")
    set_setting("zelle_phone", "+1 415 555 0100")
    set_setting("zelle_email", "pay@studio.example")
    registration = series_registration(payment_method=Registration.PaymentMethod.ZELLE)

    info = payment_instructions(registration)

    assert info.method == "zelle"
    assert (info.zelle_recipient_name, info.zelle_phone, info.zelle_email) == (
        "Dance Studio LLC",
        "+1 415 555 0100",
        "pay@studio.example",
    )
    assert info.venmo_app_url == info.venmo_web_url == info.venmo_qr_version == ""


def test_schedule_text_reads_in_plain_words():
    weekly = series_registration()
    drop_in = series_registration(pricing_type="drop_in", class_date=datetime.date(2030, 9, 10))

    assert schedule_text(weekly.slot, weekly.class_date) == "Tuesdays 7–8:30 pm, Sep 3 – Sep 24"
    assert schedule_text(drop_in.slot, drop_in.class_date) == "Tue, Sep 10, 2030, 7–8:30 pm"
