"""The studio dashboard on the admin index."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from attendance.tests.factories import ClassSessionFactory
from courses.tests.factories import CourseFactory, CourseSlotFactory, priced_slot
from dance_portal.dashboard import DASHBOARD_COURSES, studio_dashboard
from registrations import ledger
from registrations.models import CreditEntry, Registration
from registrations.tests.factories import CreditGrantFactory, PaymentFactory, RegistrationFactory
from students.tests.factories import StudentFactory
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
PaymentStatus = Registration.PaymentStatus


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


def a_studio(courses: int, *, sessions: bool = True):
    """`courses` courses with two slots each, registrations in every state, waitlists and (unless `sessions` is
    False) a session today."""
    today = timezone.localdate()
    for _ in range(courses):
        course = CourseFactory(start_date=today, end_date=today + datetime.timedelta(days=27))
        for _ in range(2):
            slot = CourseSlotFactory(course=course, capacity=4)
            RegistrationFactory(slot=slot, payment_amount=Decimal("100.00"))
            RegistrationFactory(slot=slot, payment_status=PaymentStatus.COMPLETED, payment_amount=Decimal("50.00"))
            RegistrationFactory(slot=slot, payment_status=PaymentStatus.CANCELED)
            if sessions:
                ClassSessionFactory(slot=slot, session_date=today)
        WaitlistEntryFactory(course=course, waitlist_position=1)


def an_ended_course():
    today = timezone.localdate()
    return CourseFactory(start_date=today - datetime.timedelta(days=30), end_date=today - datetime.timedelta(days=1))


def test_dashboard_sums_pending_and_confirmed_money_and_fills_each_slot():
    slot = priced_slot(capacity=4)
    RegistrationFactory(slot=slot, payment_amount=Decimal("120.00"))
    RegistrationFactory(slot=slot, payment_amount=Decimal("35.50"), payment_reported_at=timezone.now())
    paid = RegistrationFactory(slot=slot, payment_status=PaymentStatus.COMPLETED, payment_amount=Decimal("99.99"))
    PaymentFactory(registration=paid, amount=Decimal("99.99"))
    RegistrationFactory(slot=slot, payment_status=PaymentStatus.CANCELED, payment_amount=Decimal("500.00"))
    RegistrationFactory(slot=slot, payment_status=PaymentStatus.EXPIRED, payment_amount=Decimal("500.00"))
    WaitlistEntryFactory(course=slot.course, waitlist_position=1)
    WaitlistEntryFactory(course=slot.course, waitlist_position=2, preferred_slot=slot)

    dashboard = studio_dashboard()

    assert (dashboard.pending_count, dashboard.pending_amount) == (2, Decimal("155.50"))
    assert dashboard.reported_count == 1
    assert dashboard.revenue == Decimal("99.99")
    (course,) = dashboard.courses
    assert course.waiting == 2
    assert dashboard.waiting_total == 2
    (fill,) = course.slots
    assert (fill.taken, fill.capacity, fill.left, fill.is_full) == (3, 4, 1, False)


def test_dashboard_counts_a_run_out_hold_as_pending_money_but_not_as_a_taken_seat():
    slot = priced_slot(capacity=1)
    RegistrationFactory(slot=slot, payment_due_at=timezone.now() - datetime.timedelta(minutes=1))

    dashboard = studio_dashboard()

    assert dashboard.pending_count == 1
    assert dashboard.courses[0].slots[0].taken == 0


def test_dashboard_lists_only_todays_sessions_and_open_courses():
    today = timezone.localdate()
    slot = CourseSlotFactory(
        course=CourseFactory(start_date=today - datetime.timedelta(days=7), end_date=today + datetime.timedelta(days=7))
    )
    todays = ClassSessionFactory(slot=slot, session_date=today)
    ClassSessionFactory(slot=slot, session_date=today + datetime.timedelta(days=1))
    CourseFactory(is_active=False)
    CourseFactory(start_date=today - datetime.timedelta(days=30), end_date=today - datetime.timedelta(days=1))

    dashboard = studio_dashboard()

    assert dashboard.today_sessions == [todays]
    assert [fill.course for fill in dashboard.courses] == [slot.course]


def test_admin_index_shows_the_dashboard_with_bars_and_a_link_to_pending_payments(admin_client):
    slot = priced_slot(capacity=4, course=CourseFactory(name="Popping <L1>"))
    RegistrationFactory(slot=slot, payment_amount=Decimal("120.00"))

    response = admin_client.get(INDEX)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="studio-dashboard"' in html
    assert f"{reverse('admin:registrations_registration_changelist')}?payment_status__exact=pending" in html
    assert "$120.00" in html
    assert '<meter class="studio-dashboard__bar" min="0" max="4"' in html and 'value="1"' in html
    assert "Popping &lt;L1&gt;" in html
    assert "css/admin-dashboard.css" in html
    assert "style=" not in html.split('id="studio-dashboard"', 1)[1].split("app-list", 1)[0]


def test_admin_index_hides_the_dashboard_from_staff_without_registration_rights(client, django_user_model):
    user = django_user_model.objects.create_user(username="clerk", is_staff=True)
    client.force_login(user)

    html = client.get(INDEX).content.decode()

    assert 'id="studio-dashboard"' not in html


def test_an_instructor_sees_the_dashboard(client, django_user_model):
    user = django_user_model.objects.create_user(username="door", is_staff=True)
    user.groups.add(Group.objects.get(name="Instructor"))
    client.force_login(user)

    assert 'id="studio-dashboard"' in client.get(INDEX).content.decode()


@pytest.mark.parametrize("courses", [2, 20])
def test_dashboard_runs_a_fixed_number_of_queries(courses, django_assert_max_num_queries):
    a_studio(courses)
    StudentFactory()

    with django_assert_max_num_queries(16):
        dashboard = studio_dashboard()

    assert len(dashboard.courses) == min(courses, DASHBOARD_COURSES)
    assert dashboard.course_total == courses
    assert dashboard.waiting_total == courses
    assert len(dashboard.today_sessions) == 2 * courses


def test_dashboard_shows_the_first_open_courses_in_catalog_order_and_counts_them_all():
    today = timezone.localdate()
    end = today + datetime.timedelta(days=40)
    courses = [
        CourseFactory(name=f"Course {n:02}", start_date=today + datetime.timedelta(days=n), end_date=end)
        for n in range(DASHBOARD_COURSES + 3)
    ]
    for course in courses:
        CourseSlotFactory(course=course)

    dashboard = studio_dashboard()

    assert [fill.course for fill in dashboard.courses] == courses[:DASHBOARD_COURSES]
    assert dashboard.course_total == DASHBOARD_COURSES + 3


def test_dashboard_lists_the_longest_waitlists_first_and_counts_every_waiting_student():
    lengths = [1, 4, 2, *[1] * DASHBOARD_COURSES]
    courses = [CourseFactory(name=f"Course {n:02}") for n in range(len(lengths))]
    for course, length in zip(courses, lengths, strict=True):
        for position in range(1, length + 1):
            WaitlistEntryFactory(course=course, waitlist_position=position)
    WaitlistEntryFactory(course=courses[0], status=WaitlistEntry.Status.LEFT)
    WaitlistEntryFactory(course=an_ended_course(), waitlist_position=1)

    dashboard = studio_dashboard()

    assert len(dashboard.waitlists) == DASHBOARD_COURSES
    longest = [(waitlist.course_name, waitlist.waiting) for waitlist in dashboard.waitlists[:3]]
    assert longest == [("Course 01", 4), ("Course 02", 2), ("Course 00", 1)]
    assert dashboard.waiting_total == sum(lengths)


@pytest.mark.parametrize("courses", [2, 20])
def test_admin_index_with_the_dashboard_runs_a_fixed_number_of_queries(
    courses, admin_client, django_assert_max_num_queries
):
    a_studio(courses)
    admin_client.get(INDEX)  # warm up: the first request may read content types

    # The dashboard's 16, the page's own, and the studio's settings and logo for the admin's header (studio.admin_site).
    with django_assert_max_num_queries(23):
        response = admin_client.get(INDEX)

    assert response.status_code == 200


def test_admin_index_stays_the_same_size_and_links_to_every_course_and_waitlist(admin_client):
    a_studio(DASHBOARD_COURSES + 5)
    small = len(admin_client.get(INDEX).content)
    a_studio(DASHBOARD_COURSES + 5, sessions=False)  # today's sessions are bounded by the day, not by the studio

    response = admin_client.get(INDEX)

    html = response.content.decode()
    assert len(response.content) < small * 1.05
    assert html.count('<meter class="studio-dashboard__bar"') == 2 * DASHBOARD_COURSES
    total = 2 * (DASHBOARD_COURSES + 5)
    open_courses = f"?is_active__exact=1&amp;end_date__gte={timezone.localdate():%Y-%m-%d}"
    all_courses = f"{reverse('admin:courses_course_changelist')}{open_courses}"
    assert f'<a href="{all_courses}" id="dashboard-all-courses">All {total} open courses</a>' in html
    all_waiting = f"{reverse('admin:waitlist_waitlistentry_changelist')}?status__exact=waiting"
    assert f'<a href="{all_waiting}" id="dashboard-all-waiting">All {total} waiting</a>' in html
    assert "style=" not in html.split('id="studio-dashboard"', 1)[1].split("app-list", 1)[0]


def test_the_all_courses_link_lists_exactly_the_open_courses(admin_client):
    a_studio(3)
    an_ended_course()
    CourseFactory(name="Hidden course", is_active=False)
    html = admin_client.get(INDEX).content.decode()
    link = html.split('id="dashboard-all-courses"', 1)[0].rsplit('<a href="', 1)[1].rstrip('" ').replace("&amp;", "&")

    response = admin_client.get(link)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 3


def test_admin_index_says_so_when_nobody_waits(admin_client):
    priced_slot(capacity=4)

    html = admin_client.get(INDEX).content.decode()

    assert "Nobody is waiting." in html
    assert 'id="dashboard-all-waiting"' not in html


# --- money: the ledger (README "Payments") --------------------------------------------------------------------------------


def test_dashboard_revenue_is_payments_less_refunds_per_month():
    from registrations.models import Refund

    now = timezone.now()
    last_month = timezone.localdate(now).replace(day=1) - datetime.timedelta(days=1)
    paid = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    PaymentFactory(registration=paid, amount=Decimal("120.00"), received_at=now)
    PaymentFactory(
        amount=Decimal("35.00"),
        received_at=datetime.datetime.combine(last_month, datetime.time(12), tzinfo=timezone.get_default_timezone()),
    )
    Refund.objects.create(registration=paid, amount=Decimal("20.00"), method="venmo", reason="Missed one")
    RegistrationFactory(payment_status=PaymentStatus.COMPLETED, payment_amount=Decimal("500.00"))  # no payment: none

    dashboard = studio_dashboard(now=now)

    assert dashboard.revenue == Decimal("100.00")
    assert [month.net for month in dashboard.revenue_months[:2]] == [Decimal("100.00"), Decimal("35.00")]
    assert len(dashboard.revenue_months) == 6


def test_dashboard_pending_money_is_what_is_still_due():
    part_paid = RegistrationFactory(payment_amount=Decimal("120.00"))
    PaymentFactory(registration=part_paid, amount=Decimal("100.00"))
    RegistrationFactory(payment_amount=Decimal("50.00"), credit_applied=Decimal("30.00"))

    dashboard = studio_dashboard()

    assert (dashboard.pending_count, dashboard.pending_amount) == (2, Decimal("40.00"))


def test_dashboard_pending_money_is_the_ledgers_balance_due_of_each_registration():
    # Canceled with its $40 given as credit, then re-opened: it owes its whole price again.
    reopened = RegistrationFactory(payment_amount=Decimal("120.00"))
    PaymentFactory(registration=reopened, amount=Decimal("40.00"))
    CreditGrantFactory(
        student=reopened.student,
        registration=reopened,
        reason=CreditEntry.Reason.REGISTRATION_CANCELED,
        amount=Decimal("40.00"),
    )

    dashboard = studio_dashboard()

    assert dashboard.pending_amount == ledger.balance(reopened).due == Decimal("120.00")


def test_admin_index_shows_revenue_per_month_and_the_ledger_export_to_the_owner(admin_client):
    html = admin_client.get(INDEX).content.decode()

    assert 'id="dashboard-revenue-months"' in html
    assert reverse("admin:registrations_payment_ledger_csv") in html


def test_an_instructor_sees_no_revenue(client, django_user_model):
    user = django_user_model.objects.create_user(username="door", is_staff=True)
    user.groups.add(Group.objects.get(name="Instructor"))
    client.force_login(user)
    PaymentFactory(amount=Decimal("123.45"))

    html = client.get(INDEX).content.decode()

    assert "dashboard-revenue-months" not in html and "123.45" not in html
    assert "ledger.csv" not in html
