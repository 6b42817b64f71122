"""The registration changelist at scale (README "Performance"): its own rows and date hierarchy show what Django's
would."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.admin_changelist import RegistrationChangeList, periods_with_rows
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:registrations_registration_changelist")


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


@pytest.fixture
def studio():
    """Registrations with every kind of cell: weekly and dated slots, a drop-in date, no seat hold, a reported
    payment, markup in names, and creation dates over two years, three months and several days."""
    weekly = RegistrationFactory(
        student=StudentFactory(first_name="<b>Ana</b>", last_name="O'Brien & Sons"),
        slot=CourseSlotFactory(course=CourseFactory(name="Salsa <i>On2</i>")),
        payment_reported_at=timezone.now(),
        payment_reported_method=Registration.PaymentMethod.ZELLE,
    )
    dated = RegistrationFactory(
        slot=CourseSlotFactory(dated=True, course=CourseFactory(course_type=Course.CourseType.DROP_IN)),
        payment_status=Registration.PaymentStatus.COMPLETED,
        payment_method=Registration.PaymentMethod.ZELLE,
        payment_due_at=None,
        payment_amount=Decimal("1234.50"),
    )
    drop_in = RegistrationFactory(
        pricing_type="drop_in", class_date=datetime.date(2026, 3, 4), payment_status=Registration.PaymentStatus.EXPIRED
    )
    others = RegistrationFactory.create_batch(4)
    moments = [
        datetime.datetime(2025, 12, 31, 23, 30),
        datetime.datetime(2026, 1, 1, 0, 0),
        datetime.datetime(2026, 1, 15, 12, 0),
        datetime.datetime(2026, 3, 1, 9, 5),
        datetime.datetime(2026, 3, 1, 18, 0),
        datetime.datetime(2026, 3, 20, 7, 45),
        datetime.datetime(2026, 3, 31, 23, 59),
    ]
    registrations = [weekly, dated, drop_in, *others]
    for registration, moment in zip(registrations, moments, strict=True):
        # created_at is auto_now_add: set it afterwards.
        Registration.objects.filter(pk=registration.pk).update(created_at=timezone.make_aware(moment))
    return registrations


def _page(client, params, *, django_only=False, monkeypatch=None):
    if django_only:
        monkeypatch.setattr(RegistrationChangeList, "fast_result_list", lambda self: None)
        monkeypatch.setattr(RegistrationChangeList, "for_date_hierarchy", lambda self: self)
    html = client.get(CHANGELIST, params).content.decode()
    if django_only:
        monkeypatch.undo()
    # The CSRF token and the CSP nonce change on every request; blank lines depend on the template's tags.
    html = re.sub(r'nonce="[^"]*"|name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r"\n\s*\n+", "\n", html)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"payment_status__exact": "pending", "q": "a"},
        {"o": "-3.7", "reported": "no"},
        {"created_at__year": "2026"},
        {"created_at__year": "2026", "created_at__month": "3"},
        {"created_at__year": "2026", "created_at__month": "3", "created_at__day": "1"},
        {"p": "2"},
    ],
    ids=["plain", "filtered-and-searched", "sorted", "year", "month", "day", "second-page"],
)
def test_registration_changelist_is_the_page_django_renders(studio, admin_client, monkeypatch, settings, params):
    settings.TIME_ZONE = "America/Los_Angeles"
    if params.get("p"):
        monkeypatch.setattr("registrations.admin.RegistrationAdmin.list_per_page", 3)

    fast = _page(admin_client, params)
    django = _page(admin_client, params, django_only=True, monkeypatch=monkeypatch)

    assert 'id="result_list"' in fast
    assert fast == django


def test_registration_changelist_rows_escape_names(studio, admin_client):
    html = admin_client.get(CHANGELIST).content.decode()

    assert "&lt;b&gt;Ana&lt;/b&gt; O&#x27;Brien &amp; Sons" in html
    assert "Salsa &lt;i&gt;On2&lt;/i&gt;" in html
    assert "<b>Ana</b>" not in html


def test_registration_changelist_checkbox_is_djangos(studio, admin_client):
    registration = studio[1]

    html = admin_client.get(CHANGELIST).content.decode()

    assert (
        f'<td class="action-checkbox"><input type="checkbox" name="_selected_action" value="{registration.pk}" '
        f'class="action-select" aria-label="Select this object for an action - {registration}"></td>'
    ) in html


@pytest.mark.parametrize("kind", ["year", "month", "day"])
@pytest.mark.parametrize("time_zone", ["UTC", "America/Los_Angeles", "Pacific/Auckland"])
def test_periods_with_rows_are_the_distinct_dates_of_the_queryset(studio, settings, kind, time_zone):
    settings.TIME_ZONE = time_zone
    timezone.deactivate()
    every = Registration.objects.all()
    pending = Registration.objects.filter(payment_status=Registration.PaymentStatus.PENDING)

    assert periods_with_rows(every, "created_at", kind) == list(every.datetimes("created_at", kind))
    assert periods_with_rows(pending, "created_at", kind) == list(pending.datetimes("created_at", kind))
    assert periods_with_rows(Registration.objects.none(), "created_at", kind) == []


def test_registration_date_hierarchy_reads_no_date_of_every_registration(studio, admin_client):
    """Django's hierarchy runs SELECT DISTINCT over every row's truncated date; this one walks the created_at index."""
    admin_client.get(CHANGELIST)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(CHANGELIST, {"created_at__year": "2026"})

    assert not [query["sql"] for query in queries if "DISTINCT" in query["sql"].upper()]
    nav = response.content.decode().split('aria-labelledby="date-hierarchy-label"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'<a href="\?[^"]*created_at__month=[^"]*">([^<]+)</a>', nav) == ["January 2026", "March 2026"]


def test_course_filter_lists_every_course_by_name(admin_client):
    courses = CourseFactory.create_batch(3)
    RegistrationFactory(slot=CourseSlotFactory(course=courses[0]))

    response = admin_client.get(CHANGELIST, {"course__id__exact": courses[1].pk})

    spec = next(spec for spec in response.context["cl"].filter_specs if spec.title == "course")
    assert [choice["display"] for choice in spec.choices(response.context["cl"])][1:] == [
        str(course) for course in Course.objects.all()
    ]
    assert list(response.context["cl"].result_list) == []
