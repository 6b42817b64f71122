"""The cached catalog and course pages (registrations/page_cache.py): fresh after every write, hold expiry and setting."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from courses.services import seats_changed
from courses.tests.factories import CourseFactory, priced_slot
from registrations import page_cache, services, transitions
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

    # The cache key; the page and its counts from this worker's memory (settings are read only to render a page).
    with django_assert_num_queries(1):
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

    with django_assert_num_queries(1):  # the cache key, unchanged: the page and its counts as they were
        assert "2 seats left" in client.get(other.course.get_absolute_url()).content.decode()


def test_a_course_without_a_version_row_gets_one_at_its_first_change(client, slot):
    from courses.models import CatalogVersion

    assert not CatalogVersion.objects.filter(course=slot.course).exists()
    client.get(slot.course.get_absolute_url())

    register(slot, 1)

    assert CatalogVersion.objects.get(course=slot.course).version == 1
    assert "1 seat left" in client.get(slot.course.get_absolute_url()).content.decode()


# --- seats drawn into a stored page --------------------------------------------------------------------------------------


@pytest.fixture
def renders(monkeypatch):
    """How many times a page was rendered (rather than filled in)."""
    calls = []
    render = page_cache._render_with_marks
    monkeypatch.setattr(page_cache, "_render_with_marks", lambda *args: calls.append(args[1]) or render(*args))
    return calls


def another_worker(monkeypatch):
    """What a second worker process sees: the shared cache, none of this one's own copies."""
    monkeypatch.setattr(page_cache, "_local", type(page_cache._local)())


def test_a_seat_taken_is_drawn_into_the_stored_pages_without_rendering_them_again(client, renders):
    slot = priced_slot(course=CourseFactory(name="Popping L1"), capacity=5)
    client.get(CATALOG), client.get(slot.course.get_absolute_url())
    assert len(renders) == 2

    register(slot, 1)

    assert "4 seats left" in client.get(CATALOG).content.decode()
    assert "4 seats left" in client.get(slot.course.get_absolute_url()).content.decode()
    assert len(renders) == 2


def test_a_slot_that_fills_up_is_rendered_again(client, slot, renders):
    register(slot, 1)
    assert "1 seat left" in client.get(slot.course.get_absolute_url()).content.decode()

    register(slot, 2)
    html = client.get(slot.course.get_absolute_url()).content.decode()

    assert "Full – join the waitlist" in html and "Join the waitlist" in html
    assert 'name="slot"' not in html  # no registration form: the only slot is full
    assert len(renders) == 2


def _without_visitor_values(html: str) -> str:
    html = re.sub(r'value="[A-Za-z0-9]{64}"', 'value="csrf"', html)
    html = re.sub(r'"x-csrftoken": "[^"]+"', '"x-csrftoken": "csrf"', html)
    return re.sub(r'nonce="[^"]+"', 'nonce="n"', html)


@pytest.mark.parametrize("url", [CATALOG, "course"])
def test_a_page_filled_in_with_new_counts_is_the_page_rendered_afresh(client, url, monkeypatch):
    course = CourseFactory(name="Popping L1")
    slots = [priced_slot(course=course, capacity=9, drop_in="20.00"), priced_slot(course=course, capacity=3)]
    url = course.get_absolute_url() if url == "course" else url
    client.get(url)
    register(slots[0], 1)
    register(slots[1], 2)

    filled = client.get(url).content.decode()
    another_worker(monkeypatch)
    cache.clear()
    fresh = client.get(url).content.decode()

    assert "8 seats left" in filled and "2 seats left" in filled
    assert _without_visitor_values(filled) == _without_visitor_values(fresh)


def test_a_page_stored_by_one_process_is_filled_in_by_another(client, slot, monkeypatch):
    """Marks are random per process: what a stored page holds in their place must not depend on them."""
    client.get(slot.course.get_absolute_url())
    another_worker(monkeypatch)
    for name in ("_CSRF_MARK", "_NONCE_MARK"):
        monkeypatch.setattr(page_cache, name, getattr(page_cache, name) + "other")

    response = client.get(slot.course.get_absolute_url())

    assert response.status_code == 200
    assert re.search(r'name="csrfmiddlewaretoken" value="[A-Za-z0-9]{64}"', response.content.decode())


def test_another_worker_takes_the_page_and_its_counts_from_the_shared_cache(
    client, slot, renders, monkeypatch, django_assert_num_queries
):
    client.get(slot.course.get_absolute_url())
    register(slot, 1)
    client.get(slot.course.get_absolute_url())  # counted again, and the counts stored for every worker
    another_worker(monkeypatch)

    with django_assert_num_queries(3):  # the cache key, the counts, the page
        assert "1 seat left" in client.get(slot.course.get_absolute_url()).content.decode()
    assert len(renders) == 1


def test_a_cached_page_tells_a_late_joiner_the_price_of_the_classes_left_once_another_class_has_started(client):
    from registrations.tests.test_free_and_late import a_started_series

    SystemSetting.objects.create(setting_key="late_join_pricing", setting_value="prorated")
    slot = a_started_series(weeks_ago=2, weeks=6)  # today's class meets at 23:00
    assert "4 of 6 classes left" in client.get(slot.course.get_absolute_url()).content.decode()

    started = datetime.datetime.combine(
        timezone.localdate(), datetime.time(23, 1), tzinfo=timezone.get_default_timezone()
    )
    with time_machine.travel(started):
        html = client.get(slot.course.get_absolute_url()).content.decode()

    assert "3 of 6 classes left" in html and "$60.00 full package" in html


def test_a_seat_held_on_the_one_date_of_a_dated_class_is_counted_again_as_its_page_counts_it(client, monkeypatch):
    """A make-up class booked into a dated class holds its one date, so every date: the counts taken again for a stored
    page count it the way the page's own reads do."""
    from registrations import seats

    course = CourseFactory(name="Sunday Social", course_type="drop_in")
    slot = priced_slot(course=course, capacity=3, full_package=None, drop_in="15.00")
    held = {}

    class MakeUps(seats.SeatClaims):
        def held_by_date(self, slot_ids, *, now):
            return {slot.pk: dict(held)} if slot.pk in slot_ids else {}

    monkeypatch.setattr(seats, "_sources", [*seats._sources, MakeUps()])
    assert "3 seats left" in client.get(course.get_absolute_url()).content.decode()

    held[slot.practice_date] = 1
    seats_changed(course.pk)

    assert "2 seats left" in client.get(course.get_absolute_url()).content.decode()


def test_a_description_that_looks_like_a_mark_is_shown_as_typed(client):
    course = CourseFactory(description="")
    slot = priced_slot(course=course)
    typed = f"See {page_cache._SEATS_MARK.format(slot.pk).replace(page_cache._MARK_SALT, 'abc')} and pagecachecsrf"
    course.description = typed
    course.save()

    response = client.get(course.get_absolute_url())

    assert response.status_code == 200
    assert typed in response.content.decode()


def test_after_a_seat_change_the_catalog_counts_again_only_the_course_that_changed(client, monkeypatch):
    courses = [CourseFactory(name=name) for name in ("Popping L1", "Waacking L1", "Locking L1")]
    slots = [priced_slot(course=course, capacity=5) for course in courses]
    client.get(CATALOG)
    register(slots[0], 1)
    client.get(CATALOG)  # the first count after a render takes every course's seats
    counted = []
    count = page_cache.seat_counts
    monkeypatch.setattr(page_cache, "seat_counts", lambda slots, **kw: counted.extend(slots) or count(slots, **kw))

    register(slots[1], 2)
    html = client.get(CATALOG).content.decode()

    assert [slot.pk for slot in counted] == [slots[1].pk]
    assert html.count("4 seats left") == 2 and html.count("5 seats left") == 1
