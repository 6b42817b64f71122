"""Query budgets of the public pages at two data sizes: the number of queries does not grow with the studio."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from courses.services import seats_changed
from courses.tests.factories import CourseFactory, priced_slot
from registrations import page_cache
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from registrations.views import CATALOG_PAGE_SIZE
from studio.models import EmailLog
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

CATALOG = "/"
# A page rendered for the cache: the cache key, the miss of its seat counts in the shared cache, when the next hold
# and offer run out, studio settings, the logo's URL, the number of courses (for the page links), courses, slots,
# prices, the studio's closures, seats, offers, seats held on single dates (make-up classes, excused absences),
# waiting entries, and the page with its counts stored in the shared cache (a table: expired rows deleted, one upsert).
RENDERED = 17
# The course page counts no courses, and reads the slots once more for the form's choices.
COURSE_PAGE_RENDERED = RENDERED
# A page from the cache: the cache key; the page and its seat counts from the worker's own memory.
FROM_CACHE = 1
# In another worker: the cache key, then the counts and the page from the shared cache.
FROM_SHARED_CACHE = 3
# After a registration: the cache key, the counts in the shared cache (out of date), the versions of the page's
# courses, when the next hold and offer run out, seats, offers, seats held on single dates, waiting entries (of the
# courses that changed), and the new counts stored; the page itself is not rendered again.
SEATS_COUNTED_AGAIN = 11
# Signed in, never from the cache: studio settings, the logo's URL, the student, and the page's nine reads.
SIGNED_IN = 13


def a_studio(courses: int, registrations_per_slot: int):
    first = None
    for _ in range(courses):
        course = CourseFactory()
        first = first or course
        for hour in (17, 19):
            slot = priced_slot(
                course=course, start_time=datetime.time(hour), end_time=datetime.time(hour, 50), capacity=50
            )
            for _ in range(registrations_per_slot):
                RegistrationFactory(slot=slot)
        WaitlistEntryFactory(course=course)
    return first


@pytest.mark.parametrize("size", [(3, 1), (30, 5)])
def test_catalog_query_count_does_not_grow_with_the_studio(size, client, django_assert_max_num_queries):
    a_studio(*size)

    with django_assert_max_num_queries(RENDERED):
        client.get(CATALOG)
    with django_assert_max_num_queries(FROM_CACHE):
        response = client.get(CATALOG)

    assert response.content.decode().count('class="card course-card') == min(size[0], CATALOG_PAGE_SIZE)


@pytest.mark.parametrize("size", [(3, 1), (30, 5)])
def test_course_page_query_count_does_not_grow_with_the_studio(size, client, django_assert_max_num_queries):
    course = a_studio(*size)

    with django_assert_max_num_queries(COURSE_PAGE_RENDERED):
        client.get(course.get_absolute_url())
    with django_assert_max_num_queries(FROM_CACHE):
        response = client.get(course.get_absolute_url())

    assert response.status_code == 200


@pytest.mark.parametrize("url", [CATALOG, "course"])
@pytest.mark.parametrize("size", [(3, 1), (30, 5)])
def test_cached_pages_in_another_worker_and_after_a_seat_change_cost_the_same_at_any_size(
    size, url, client, monkeypatch, django_assert_max_num_queries
):
    course = a_studio(*size)
    url = course.get_absolute_url() if url == "course" else url
    client.get(url)
    monkeypatch.setattr(page_cache, "_local", type(page_cache._local)())  # a worker that has not served it yet

    with django_assert_max_num_queries(FROM_SHARED_CACHE):
        client.get(url)
    RegistrationFactory(slot=course.slots.first())
    seats_changed(course.pk)
    with django_assert_max_num_queries(SEATS_COUNTED_AGAIN):
        response = client.get(url)

    assert response.status_code == 200


@pytest.mark.parametrize("size", [(3, 1), (30, 5)])
def test_signed_in_visitor_catalog_query_count_does_not_grow_with_the_studio(
    size, client, django_assert_max_num_queries
):
    """Signed-in visitors bypass the cache: the session and the student cost two more queries, nothing per row."""
    from students.session import SESSION_KEY
    from students.tests.factories import StudentFactory

    a_studio(*size)
    session = client.session
    session[SESSION_KEY] = StudentFactory().pk
    session.save()

    with django_assert_max_num_queries(SIGNED_IN):
        response = client.get(CATALOG)

    assert response.content.decode().count('class="card course-card') == min(size[0], CATALOG_PAGE_SIZE)


# A registration: the shared rate limit (the client's counter in the cache table: expired rows deleted, one upsert);
# the course, its slots and prices, the studio's closures (no seats: the form does not show them), the settings, the
# student; then in one transaction the slot lock, the new student (a new student has no registrations to check and
# no row to lock yet), the client's key locked (on PostgreSQL an advisory lock: one more query), the count of the
# client's unpaid holds in every slot, seats, then offers and waiting entries in one query, seats held on single dates,
# the registration, its history row, the email's row (rendered after the commit, by its delivery; its dedupe key
# names the new registration, so no savepoint guards it) and the course's seat version. No savepoints; in a test the
# transaction is one (two more). After the commit, the delivery task's row.
REGISTER_POST = 21


@pytest.mark.parametrize("size", [(3, 1), (30, 5)])
def test_registration_post_query_count_does_not_grow_with_the_studio(size, client, django_assert_max_num_queries):
    course = a_studio(*size)
    slot = course.slots.first()
    data = {
        "slot": slot.pk,
        "pricing_type": "full_package",
        "payment_method": "venmo",
        "email": "new@example.org",
        "first_name": "Ana",
        "last_name": "Lima",
        "phone": "555-0100",
        "instagram_handle": "",
    }
    # The email log's content type is read once per process (Django caches it): not a cost of this POST.
    ContentType.objects.get_for_model(Registration)

    with django_assert_max_num_queries(REGISTER_POST) as queries:
        response = client.post(reverse("registrations:create", args=[course.pk]), data)

    assert response.status_code == 302
    # The one savepoint is the test's: outside a test the registration's transaction is a plain one.
    assert [query["sql"].split()[0] for query in queries.captured_queries].count("SAVEPOINT") == 1
    assert EmailLog.objects.get(kind="registration_received").body_text == ""  # rendered after the commit
