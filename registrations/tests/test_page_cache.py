"""The cached catalog and course pages (registrations/page_cache.py): fresh after every write, hold expiry and setting."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from courses.tests.factories import CourseFactory, priced_slot
from registrations import services, transitions
from registrations.models import Registration
from students.services import StudentDetails
from students.tests.factories import CrewMemberFactory
from studio.models import SystemSetting
from waitlist import services as waitlist_services
from waitlist.models import WaitlistEntry

pytestmark = pytest.mark.django_db

CATALOG = "/"


@pytest.fixture
def slot():
    return priced_slot(course=CourseFactory(name="Popping L1"), capacity=2)


@pytest.fixture
def owner():
    return User.objects.create_superuser(username="owner", email="owner@example.org", password=None)


def details(n: int) -> StudentDetails:
    return StudentDetails(email=f"dancer{n}@example.org", first_name="Dee", last_name=f"Dancer{n}", phone="555-0100")


def register(slot, n: int) -> Registration:
    return services.register_student(
        course=slot.course, slot=slot, pricing_type="full_package", payment_method="venmo", details=details(n)
    )


def test_catalog_shows_a_registration_made_after_it_was_cached(client, slot):
    assert "2 seats left" in client.get(CATALOG).content.decode()

    register(slot, 1)

    assert "1 seat left" in client.get(CATALOG).content.decode()


def test_course_page_shows_a_registration_made_after_it_was_cached(client, slot):
    assert "2 seats left" in client.get(slot.course.get_absolute_url()).content.decode()

    register(slot, 1)

    assert "1 seat left" in client.get(slot.course.get_absolute_url()).content.decode()


def test_catalog_shows_the_seat_freed_by_a_cancellation(client, slot, owner):
    registration = register(slot, 1)
    assert "1 seat left" in client.get(CATALOG).content.decode()

    transitions.cancel_registration(registration=registration, actor=owner)

    assert "2 seats left" in client.get(CATALOG).content.decode()


def test_catalog_shows_the_seat_of_a_hold_that_ran_out_without_any_write(client, slot):
    registration = register(slot, 1)
    assert "1 seat left" in client.get(CATALOG).content.decode()

    with time_machine.travel(registration.payment_due_at + datetime.timedelta(seconds=1)):
        html = client.get(CATALOG).content.decode()

    assert "2 seats left" in html


def test_catalog_shows_a_waitlist_offer_that_ran_out(client, slot, owner, django_capture_on_commit_callbacks):
    register(slot, 1)
    transitions.confirm_payment(registration=register(slot, 2), actor=owner)  # paid: it keeps its seat
    entry = waitlist_services.join_waitlist(course=slot.course, details=details(3), preferred_slot=slot)
    registration = Registration.objects.get(slot=slot, payment_status=Registration.PaymentStatus.PENDING)
    with django_capture_on_commit_callbacks(execute=True):  # the freed seat is offered to the waitlist
        transitions.cancel_registration(registration=registration, actor=owner)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert "Full" in client.get(CATALOG).content.decode()

    with time_machine.travel(entry.offer_expires_at + datetime.timedelta(seconds=1)):
        html = client.get(CATALOG).content.decode()

    assert "1 seat left" in html


def test_catalog_shows_a_course_renamed_in_the_admin(client, slot, admin_client):
    assert "Popping L1" in client.get(CATALOG).content.decode()
    course = slot.course
    url = reverse("admin:courses_course_change", args=[course.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(name="Popping L2", **_empty_inline("slots"))
    data["start_date"], data["end_date"] = course.start_date.isoformat(), course.end_date.isoformat()

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert "Popping L2" in client.get(CATALOG).content.decode()


def _empty_inline(prefix: str) -> dict:
    """An inline formset that changes nothing (the slot already saved stays as it is)."""
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_catalog_shows_a_changed_studio_setting(client, slot):
    assert "Registration is closed" not in client.get(CATALOG).content.decode()

    SystemSetting.objects.create(setting_key="studio_name", setting_value="Groove Lab")

    assert "Groove Lab" in client.get(CATALOG).content.decode()


def test_catalog_shows_a_setting_changed_or_removed(client, slot):
    setting = SystemSetting.objects.create(setting_key="studio_name", setting_value="Groove Lab")
    assert "Groove Lab" in client.get(CATALOG).content.decode()

    setting.setting_value = "Salsa Loft"
    setting.save()
    assert "Salsa Loft" in client.get(CATALOG).content.decode()

    setting.delete()
    page = client.get(CATALOG).content.decode()
    assert "Salsa Loft" not in page and "Groove Lab" not in page


def test_cached_catalog_carries_each_visitors_own_csrf_token_and_csp_nonce(client, slot, django_assert_num_queries):
    client.get(CATALOG)  # cached now
    other = type(client)()

    # The cache key and the page from the shared cache (settings are read only to render a missing page).
    with django_assert_num_queries(2):
        first = client.get(CATALOG)
    second = other.get(CATALOG)

    tokens = [re.search(r'"x-csrftoken": "([^"]+)"', r.content.decode()).group(1) for r in (first, second)]
    nonces = [re.search(r'nonce="([^"]+)"', r.content.decode()).group(1) for r in (first, second)]
    assert tokens[0] != tokens[1] and "pagecache" not in tokens[0]
    assert nonces[0] != nonces[1]
    for response, nonce in zip((first, second), nonces, strict=True):
        assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
    assert first.cookies["__Host-csrftoken"].value != second.cookies["__Host-csrftoken"].value


def test_signed_in_crew_member_never_gets_the_anonymous_catalog(client, slot):
    crew_only = CourseFactory(name="Crew Only Practice", required_student_type="crew_member")
    priced_slot(course=crew_only)
    client.get(CATALOG)  # the anonymous page is cached
    member = CrewMemberFactory()
    session = client.session
    from students.session import SESSION_KEY

    session[SESSION_KEY] = member.pk
    session.save()

    assert "Crew Only Practice" in client.get(CATALOG).content.decode()


def test_a_seat_taken_in_one_course_leaves_another_courses_page_cached(client, slot, django_assert_num_queries):
    other = priced_slot(course=CourseFactory(name="Waacking L1"), capacity=2)
    client.get(other.course.get_absolute_url())

    register(slot, 1)

    with django_assert_num_queries(2):  # the cache key and the page from the shared cache: none rendered again
        assert "2 seats left" in client.get(other.course.get_absolute_url()).content.decode()


def test_a_course_without_a_version_row_gets_one_at_its_first_change(client, slot):
    from courses.models import CatalogVersion

    assert not CatalogVersion.objects.filter(course=slot.course).exists()
    client.get(slot.course.get_absolute_url())

    register(slot, 1)

    assert CatalogVersion.objects.get(course=slot.course).version == 1
    assert "1 seat left" in client.get(slot.course.get_absolute_url()).content.decode()
