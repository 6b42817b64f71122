"""Query budgets of the public pages at two data sizes: the number of queries does not grow with the studio."""

import datetime

import pytest

from courses.tests.factories import CourseFactory, priced_slot
from registrations.tests.factories import RegistrationFactory
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

CATALOG = "/"
# A page rendered: studio settings, the logo's URL, the cache key, courses, slots, prices, seats, offers, waiting
# entries.
RENDERED = 9
# The course page reads the slots once more, for the form's choices.
COURSE_PAGE_RENDERED = RENDERED + 1
# A page from the cache: studio settings and the cache key.
FROM_CACHE = 2


def a_studio(courses: int, registrations_per_slot: int):
    first = None
    for n in range(courses):
        course = CourseFactory()
        first = first or course
        for hour in (17, 19):
            slot = priced_slot(course=course, start_time=datetime.time(hour), end_time=datetime.time(hour, 50),
                               capacity=50)
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

    assert response.content.decode().count('class="card course-card') == size[0]


@pytest.mark.parametrize("size", [(3, 1), (30, 5)])
def test_course_page_query_count_does_not_grow_with_the_studio(size, client, django_assert_max_num_queries):
    course = a_studio(*size)

    with django_assert_max_num_queries(COURSE_PAGE_RENDERED):
        client.get(course.get_absolute_url())
    with django_assert_max_num_queries(FROM_CACHE):
        response = client.get(course.get_absolute_url())

    assert response.status_code == 200


@pytest.mark.parametrize("size", [(3, 1), (30, 5)])
def test_signed_in_visitor_catalog_query_count_does_not_grow_with_the_studio(
    size, client, django_assert_max_num_queries
):
    """Signed-in visitors bypass the cache: the session and the student cost two more queries, nothing per row."""
    from students.portal import SESSION_KEY
    from students.tests.factories import StudentFactory

    a_studio(*size)
    session = client.session
    session[SESSION_KEY] = StudentFactory().pk
    session.save()

    with django_assert_max_num_queries(RENDERED + 1):
        response = client.get(CATALOG)

    assert response.content.decode().count('class="card course-card') == size[0]
