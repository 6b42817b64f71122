import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.formatting import date_range, moment, money, price_summary, seats_text, slot_schedule, time_range
from courses.models import Course
from courses.tests.factories import CourseFactory, CourseSlotFactory, priced_slot
from registrations.tests.factories import RegistrationFactory
from registrations.views import CATALOG_PAGE_SIZE
from studio.models import SystemSetting

pytestmark = pytest.mark.django_db

CATALOG = "/"


def _today():
    return timezone.localdate()


def _close_registration():
    SystemSetting.objects.create(setting_key="registration_open", setting_value="false")


# Schedule, prices and seats in plain words


def test_time_range_drops_zero_minutes_and_repeats_the_meridiem_only_across_noon():
    assert time_range(datetime.time(19, 0), datetime.time(20, 30)) == "7–8:30 pm"
    assert time_range(datetime.time(11, 30), datetime.time(13, 0)) == "11:30 am–1 pm"
    assert time_range(datetime.time(12, 0), datetime.time(13, 15)) == "12–1:15 pm"


def test_date_range_adds_the_year_only_when_it_is_not_this_year():
    today = datetime.date(2026, 6, 1)
    assert date_range(datetime.date(2026, 9, 1), datetime.date(2026, 9, 22), today=today) == "Sep 1 – Sep 22"
    assert date_range(datetime.date(2027, 9, 1), datetime.date(2027, 9, 22), today=today) == "Sep 1 – Sep 22, 2027"
    assert (
        date_range(datetime.date(2026, 12, 29), datetime.date(2027, 1, 19), today=today)
        == "Dec 29, 2026 – Jan 19, 2027"
    )


def test_slot_schedule_reads_as_plain_words_for_weekly_and_dated_slots():
    today = datetime.date(2026, 6, 1)
    series = Course(start_date=datetime.date(2026, 9, 1), end_date=datetime.date(2026, 9, 22))
    weekly = CourseSlotFactory.build(
        course=series, day_of_week=1, practice_date=None, start_time=datetime.time(19), end_time=datetime.time(20, 30)
    )
    dated = CourseSlotFactory.build(
        course=series,
        day_of_week=None,
        practice_date=datetime.date(2026, 10, 3),
        start_time=datetime.time(14),
        end_time=datetime.time(16),
    )
    assert slot_schedule(weekly, series, today=today) == "Tuesdays 7–8:30 pm, Sep 1 – Sep 22"
    assert slot_schedule(dated, series, today=today) == "Sat, Oct 3, 2–4 pm"


def test_slot_schedule_of_a_series_runs_from_its_first_to_its_last_class_on_that_weekday():
    today = datetime.date(2026, 6, 1)
    series = Course(start_date=datetime.date(2026, 9, 1), end_date=datetime.date(2026, 9, 28))  # Tue to Mon
    thursday = CourseSlotFactory.build(
        course=series, day_of_week=3, practice_date=None, start_time=datetime.time(18), end_time=datetime.time(19)
    )
    assert slot_schedule(thursday, series, today=today) == "Thursdays 6–7 pm, Sep 3 – Sep 24"


def test_moment_reads_an_aware_datetime_in_studio_time():
    local = datetime.datetime(timezone.localdate().year, 11, 27, 22, 0)
    value = timezone.make_aware(local).astimezone(datetime.UTC)

    assert moment(value) == f"{local:%a}, Nov 27, 10 pm"
    assert moment(None) == ""


def test_prices_read_as_plain_words_and_zero_reads_free():
    assert money(Decimal("120.00")) == "$120.00"
    assert money(Decimal("35.50")) == "$35.50"
    assert money(Decimal("2058")) == "$2,058.00"
    both = {"full_package": Decimal("120.00"), "drop_in": Decimal("35.00")}
    assert price_summary(both) == "$120.00 full package · $35.00 drop-in"
    assert price_summary({"drop_in": Decimal("0")}) == "Free"
    assert price_summary({}) == ""


def test_seats_text_counts_seats_and_says_full_at_zero():
    assert seats_text(4) == "4 seats left"
    assert seats_text(1) == "1 seat left"
    assert seats_text(0) == "Full – join the waitlist"


# Catalog


def test_catalog_lists_open_classes_grouped_by_type_in_reading_order(client):
    priced_slot(course=CourseFactory(name="House Foundations"))
    priced_slot(course=CourseFactory(name="Saturday Drop-in", course_type=Course.CourseType.DROP_IN), full_package=None)
    priced_slot(
        course=CourseFactory(name="Open Crew Jam", course_type=Course.CourseType.CREW_PRACTICE),
        full_package=None,
        drop_in="0",
    )

    response = client.get(CATALOG)

    html = response.content.decode()
    assert response.status_code == 200
    positions = [
        html.index(text)
        for text in [
            "Series",
            "House Foundations",
            "Drop-in classes",
            "Saturday Drop-in",
            "Crew practices",
            "Open Crew Jam",
        ]
    ]
    assert positions == sorted(positions)
    assert html.count('class="card course-card') == 3


def test_catalog_shows_schedule_location_level_prices_and_seats(client):
    course = CourseFactory(name="House L1", level="Beginner")
    priced_slot(course=course, capacity=10, location="Studio B")
    RegistrationFactory(slot=course.slots.get())

    html = client.get(CATALOG).content.decode()

    assert "7–8:30 pm" in html
    assert "Studio B" in html
    assert "Beginner" in html
    # Each price on one line, so a phone never breaks "drop-" from "in".
    assert (
        '<span class="text-nowrap">$120.00 full package</span> · <span class="text-nowrap">$35.00 drop-in</span>'
        in html
    )
    assert "9 seats left" in html
    assert reverse("registrations:course", args=[course.pk]) in html


def test_catalog_shows_free_classes_as_free(client):
    priced_slot(course=CourseFactory(course_type=Course.CourseType.DROP_IN), full_package=None, drop_in="0")

    assert "Free" in client.get(CATALOG).content.decode()


def test_catalog_marks_a_full_slot_as_full(client):
    slot = priced_slot(capacity=1)
    RegistrationFactory(slot=slot)

    html = client.get(CATALOG).content.decode()

    assert "Full – join the waitlist" in html
    assert "seats left" not in html


def test_catalog_hides_inactive_past_and_crew_only_courses_from_anonymous_visitors(client):
    priced_slot(course=CourseFactory(name="Listed course"))
    priced_slot(course=CourseFactory(name="Inactive course", is_active=False))
    past_start = _today() - datetime.timedelta(days=40)
    priced_slot(
        course=CourseFactory(
            name="Past course", start_date=past_start, end_date=past_start + datetime.timedelta(days=27)
        )
    )
    priced_slot(
        course=CourseFactory(name="Crew-only course", required_student_type=Course.RequiredStudentType.CREW_MEMBER)
    )

    html = client.get(CATALOG).content.decode()

    assert "Listed course" in html
    assert "Inactive course" not in html
    assert "Past course" not in html
    assert "Crew-only course" not in html


def test_catalog_shows_a_friendly_empty_state_without_classes(client):
    response = client.get(CATALOG)

    assert response.status_code == 200
    assert "No classes are open for registration right now." in response.content.decode()


def test_catalog_says_registration_is_closed_and_offers_no_form_when_closed(client):
    priced_slot()
    _close_registration()

    html = client.get(CATALOG).content.decode()

    assert "Registration is closed" in html
    assert "<form" not in html


def test_catalog_escapes_course_names(client):
    priced_slot(course=CourseFactory(name="<script>alert(1)</script>"))

    html = client.get(CATALOG).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def _make_courses(n):
    for i in range(n):
        course = CourseFactory(course_type=[Course.CourseType.SERIES, Course.CourseType.DROP_IN][i % 2])
        slot = priced_slot(course=course)
        priced_slot(course=course, start_time=datetime.time(17), end_time=datetime.time(18))
        RegistrationFactory(slot=slot)


@pytest.mark.parametrize("n_courses", [5, 50])
def test_catalog_runs_the_same_number_of_queries_for_5_and_50_courses(client, django_assert_max_num_queries, n_courses):
    _make_courses(n_courses)

    # 17 when it is rendered for the cache (registrations/page_cache.py): the cache key, the miss of its seat counts,
    # when the next hold and offer run out, the settings, the logo's URL, the number of courses, eight reads (closures
    # and seats held on single dates among them) and the page with its counts stored (2).
    with django_assert_max_num_queries(17):
        response = client.get(CATALOG)

    assert response.content.decode().count('class="card course-card') == min(n_courses, CATALOG_PAGE_SIZE)


def _course_names(response) -> list[str]:
    return re.findall(r'class="course-link" href="[^"]*">([^<]*)</a>', response.content.decode())


def test_catalog_lists_every_course_once_over_its_pages_in_catalog_order(client):
    for n in range(CATALOG_PAGE_SIZE + 3):
        priced_slot(course=CourseFactory(name=f"Course {n:02}"))

    first, second = client.get(CATALOG), client.get(f"{CATALOG}?page=2")

    assert _course_names(first) + _course_names(second) == [f"Course {n:02}" for n in range(CATALOG_PAGE_SIZE + 3)]
    assert 'href="/?page=2" rel="next"' in first.content.decode()
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="/" rel="prev"' in second.content.decode()
    assert 'rel="next"' not in second.content.decode()
    assert "Page 2 of 2" in second.content.decode()


def test_catalog_of_one_page_shows_no_page_links(client):
    priced_slot(course=CourseFactory())

    html = client.get(CATALOG).content.decode()

    assert "catalog-pages" not in html
    assert "Page 1 of 1" not in html


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "", "٣", "9" * 5000, "2%00"])
def test_catalog_page_that_is_not_a_page_number_goes_to_the_first_page(client, page):
    priced_slot(course=CourseFactory())

    response = client.get(CATALOG, {"page": page})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_catalog_page_past_the_end_goes_to_the_last_page(client):
    for _ in range(CATALOG_PAGE_SIZE + 1):
        priced_slot(course=CourseFactory())

    assert client.get(f"{CATALOG}?page=7")["Location"] == "/?page=2"
    assert client.get(f"{CATALOG}?page=2").status_code == 200


def test_empty_catalog_page_past_the_end_goes_to_the_first_page(client):
    assert client.get(f"{CATALOG}?page=2")["Location"] == "/"
    assert client.get(CATALOG).status_code == 200


def test_cached_catalog_pages_are_kept_apart(client):
    for n in range(CATALOG_PAGE_SIZE + 1):
        priced_slot(course=CourseFactory(name=f"Course {n:02}"))
    client.get(CATALOG), client.get(f"{CATALOG}?page=2")  # both stored

    assert _course_names(client.get(f"{CATALOG}?page=2")) == [f"Course {CATALOG_PAGE_SIZE:02}"]
    assert len(_course_names(client.get(CATALOG))) == CATALOG_PAGE_SIZE


# Course page


def test_course_page_shows_the_course_and_its_registration_form(client):
    course = CourseFactory(name="House L2", description="Grooves & footwork.")
    priced_slot(course=course)

    response = client.get(course.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert "House L2" in html
    assert "Grooves &amp; footwork." in html
    for name in [
        "email",
        "first_name",
        "last_name",
        "phone",
        "instagram_handle",
        "slot",
        "pricing_type",
        "class_date",
        "payment_method",
    ]:
        assert f'name="{name}"' in html
    assert 'autocomplete="given-name"' in html
    assert 'autocomplete="family-name"' in html
    assert 'autocomplete="email"' in html
    assert 'autocomplete="tel"' in html


def test_course_page_of_a_dated_class_has_no_class_date_field(client):
    course = CourseFactory(course_type=Course.CourseType.DROP_IN)
    priced_slot(course=course, full_package=None)

    html = client.get(course.get_absolute_url()).content.decode()

    assert 'name="slot"' in html
    assert 'name="class_date"' not in html


def test_course_page_shows_a_full_slot_as_full_with_the_waitlist_form_instead_of_registration(client):
    slot = priced_slot(capacity=1, drop_in=None)
    RegistrationFactory(slot=slot)

    html = client.get(slot.course.get_absolute_url()).content.decode()

    assert "This class is full." in html
    assert "registration-form" not in html
    assert f'action="/waitlist/join/{slot.course.pk}/"' in html


def test_course_page_disables_a_full_slot_next_to_a_free_one(client):
    course = CourseFactory()
    full = priced_slot(course=course, capacity=1, drop_in=None)
    RegistrationFactory(slot=full)
    priced_slot(course=course, start_time=datetime.time(17), end_time=datetime.time(18), drop_in=None)

    html = client.get(course.get_absolute_url()).content.decode()

    assert f'value="{full.pk}"' in html
    assert "disabled" in html.split(f'value="{full.pk}"')[1].split(">")[0]
    assert "Full – join the waitlist" in html


def test_course_page_says_registration_is_closed_and_has_no_form_when_closed(client):
    course = priced_slot().course
    _close_registration()

    html = client.get(course.get_absolute_url()).content.decode()

    assert "Registration is closed" in html
    assert 'method="post"' not in html


@pytest.mark.parametrize(
    "make_course",
    [
        lambda: CourseFactory(is_active=False),
        lambda: CourseFactory(
            start_date=_today() - datetime.timedelta(days=30), end_date=_today() - datetime.timedelta(days=2)
        ),
        lambda: CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER),
    ],
    ids=["inactive", "past", "crew-only"],
)
def test_course_page_answers_404_for_courses_not_listed_for_the_visitor(client, make_course):
    course = make_course()
    priced_slot(course=course)

    response = client.get(course.get_absolute_url())

    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()


def test_course_page_answers_404_for_an_unknown_id(client):
    assert client.get("/courses/999999/").status_code == 404
    assert client.get("/courses/abc/").status_code == 404


def test_a_registration_posted_to_the_course_page_address_is_sent_on_to_the_register_address(client):
    course = CourseFactory()

    response = client.post(course.get_absolute_url(), {"email": "ana@example.org"})

    assert response.status_code == 307
    assert response["Location"] == reverse("registrations:create", args=[course.pk])
