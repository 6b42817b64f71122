"""Seat squatting (SECURITY.md "A shared Wi-Fi and the cap on unpaid holds"): one client address holds at most
max_unpaid_holds_per_client unpaid seats, counted under the slot lock; the admin's "Holds by client" page lists who
holds what and releases holds through the transitions (reason, email, the waitlist first)."""

import datetime
import re
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connections
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from courses.tests.factories import CourseFactory, priced_slot
from registrations import services
from registrations.admin_holds import clients_with_holds
from registrations.errors import ClientHoldLimitReached
from registrations.models import Refund, Registration, RegistrationEvent
from registrations.tests.factories import PaymentFactory, RegistrationFactory
from students.services import StudentDetails
from students.tests.factories import StudentFactory
from studio.clients import client_key
from studio.models import EmailLog, SystemSetting
from waitlist.models import WaitlistEntry
from waitlist.services import join_waitlist
from waitlist.tests.factories import student_details

pytestmark = pytest.mark.django_db

PHONE = client_key(RequestFactory().get("/", REMOTE_ADDR="203.0.113.7"))
OTHER = client_key(RequestFactory().get("/", REMOTE_ADDR="198.51.100.9"))
Status = Registration.PaymentStatus


def set_cap(value: int) -> None:
    SystemSetting.objects.update_or_create(
        setting_key="max_unpaid_holds_per_client", defaults={"setting_value": str(value)}
    )


def register(slot, n, *, key=PHONE):
    return services.register_student(
        course=slot.course,
        slot=slot,
        pricing_type="full_package",
        payment_method="venmo",
        details=StudentDetails(email=f"invented{n}@example.org", first_name="Bot", last_name=str(n)),
        client_key=key,
    )


# --- the cap, in the service -----------------------------------------------------------------------------------------


def test_the_default_cap_is_ten_unpaid_holds_per_client():
    slot = priced_slot(capacity=30)
    for n in range(10):
        register(slot, n)

    with pytest.raises(ClientHoldLimitReached):
        register(slot, 10)

    assert Registration.objects.filter(client_key=PHONE).count() == 10


def test_one_client_cannot_take_every_seat_of_a_class_with_invented_students():
    set_cap(3)
    slot = priced_slot(capacity=13)
    taken = []
    for n in range(60):
        try:
            taken.append(register(slot, n))
        except ClientHoldLimitReached:
            pass

    assert len(taken) == 3
    # The other students are not told the class is full: ten seats are left for them.
    assert register(slot, "real", key=OTHER).payment_status == Status.PENDING


def test_other_clients_have_their_own_count():
    set_cap(1)
    slot = priced_slot(capacity=5)
    register(slot, 1)

    assert register(slot, 2, key=OTHER).client_key == OTHER


def test_paid_registrations_and_run_out_holds_do_not_count():
    set_cap(2)
    slot = priced_slot(capacity=10)
    RegistrationFactory(slot=slot, client_key=PHONE, payment_status=Status.COMPLETED)
    RegistrationFactory(slot=slot, client_key=PHONE, payment_due_at=timezone.now() - datetime.timedelta(minutes=1))
    RegistrationFactory(slot=slot, client_key=PHONE, payment_status=Status.CANCELED)

    register(slot, 1)
    register(slot, 2)
    with pytest.raises(ClientHoldLimitReached):
        register(slot, 3)


def test_zero_means_no_cap():
    set_cap(0)
    slot = priced_slot(capacity=20)

    for n in range(12):
        register(slot, n)

    assert Registration.objects.filter(client_key=PHONE).count() == 12


def test_registrations_without_a_client_are_never_capped():
    """The studio's own registrations and accepted offers carry no client key."""
    set_cap(1)
    slot = priced_slot(capacity=5)
    register(slot, 1)

    for _ in range(3):
        services.admin_register_student(
            student=StudentFactory(), slot=slot, pricing_type="full_package", payment_method="venmo", actor=None
        )
    register(slot, 2, key="")

    assert Registration.objects.filter(client_key="").count() == 4


def test_a_refused_registration_writes_nothing():
    set_cap(1)
    slot = priced_slot(capacity=5)
    register(slot, 1)
    before = (Registration.objects.count(), EmailLog.objects.count())

    with pytest.raises(ClientHoldLimitReached):
        register(slot, 2)

    assert (Registration.objects.count(), EmailLog.objects.count()) == before
    assert not Registration.objects.filter(student__email="invented2@example.org").exists()


# --- the public page ------------------------------------------------------------------------------------------------


def registration_form(slot, email):
    return {
        "email": email,
        "first_name": "Ana",
        "last_name": "Lima",
        "slot": str(slot.pk),
        "pricing_type": "full_package",
        "payment_method": "venmo",
    }


def test_the_course_page_says_why_and_suggests_mobile_data(client):
    set_cap(2)
    slot = priced_slot(capacity=10)
    url = reverse("registrations:create", args=[slot.course.pk])
    for n in range(2):
        assert (
            client.post(url, registration_form(slot, f"s{n}@example.org"), REMOTE_ADDR="203.0.113.7").status_code == 302
        )

    refused = client.post(url, registration_form(slot, "third@example.org"), REMOTE_ADDR="203.0.113.7")
    elsewhere = client.post(url, registration_form(slot, "third@example.org"), REMOTE_ADDR="198.51.100.9")

    assert refused.status_code == 200
    assert "still waiting for payment" in refused.content.decode()
    assert "mobile data" in refused.content.decode()
    assert elsewhere.status_code == 302


def test_the_registration_stores_the_client_key_and_never_the_address(client):
    slot = priced_slot()

    client.post(
        reverse("registrations:create", args=[slot.course.pk]),
        registration_form(slot, "ana@example.org"),
        REMOTE_ADDR="203.0.113.7",
    )

    registration = Registration.objects.get()
    assert registration.client_key == PHONE
    assert "203.0.113.7" not in str(Registration.objects.values().get())


# --- PostgreSQL: racing from one client for one class -----------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_racing_registrations_from_one_client_stop_at_the_cap():
    set_cap(3)
    slot = priced_slot(capacity=20)
    racers = 12
    start = threading.Barrier(racers)
    outcomes = []

    def attempt(n):
        try:
            start.wait(timeout=10)
            register(slot, n)
            outcomes.append("registered")
        except ClientHoldLimitReached:
            outcomes.append("capped")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["capped"] * 9 + ["registered"] * 3
    assert Registration.objects.filter(client_key=PHONE, payment_status=Status.PENDING).count() == 3


# --- the admin's "Holds by client" ------------------------------------------------------------------------------------

HOLDS = reverse("admin:registrations_holdsbyclient_changelist")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(username="owner", email="owner@example.org", password=None)


@pytest.fixture
def squatted():
    """A client holding three seats in two courses, another holding one; a paid seat and a run-out hold besides."""
    salsa = priced_slot(course=CourseFactory(name="Salsa L1"), capacity=3)
    house = priced_slot(course=CourseFactory(name="House L1"), capacity=5)
    holds = [
        RegistrationFactory(slot=salsa, client_key=PHONE),
        RegistrationFactory(slot=salsa, client_key=PHONE),
        RegistrationFactory(slot=house, client_key=PHONE),
    ]
    other = RegistrationFactory(slot=house, client_key=OTHER)
    paid = RegistrationFactory(slot=salsa, client_key=PHONE, payment_status=Status.COMPLETED)
    RegistrationFactory(slot=house, client_key=PHONE, payment_due_at=timezone.now() - datetime.timedelta(hours=1))
    return {"salsa": salsa, "house": house, "holds": holds, "other": other, "paid": paid}


def test_clients_with_holds_lists_counts_courses_and_times_most_first(squatted):
    clients = clients_with_holds()

    assert [(c.client_key, c.holds, c.students, c.courses) for c in clients] == [
        (PHONE, 3, 3, ["House L1", "Salsa L1"]),
        (OTHER, 1, 1, ["House L1"]),
    ]
    created = [r.created_at for r in squatted["holds"]]
    assert (clients[0].first, clients[0].last) == (min(created), max(created))


def test_the_page_lists_the_clients_and_never_an_address(admin_client, squatted):
    response = admin_client.get(HOLDS)

    html = response.content.decode()
    assert response.status_code == 200
    assert PHONE[:8] in html and OTHER[:8] in html
    assert "Salsa L1" in html and "Release these holds" in html
    assert "203.0.113.7" not in html


def test_release_asks_for_a_reason_first_and_changes_nothing(admin_client, squatted):
    response = admin_client.post(HOLDS, {"client": [PHONE], "release": "1"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Release the holds" in html
    assert "nonce=" not in re.sub(r"<[^>]*>", "", html)  # no stray CSP nonce printed as text in the page
    assert not Registration.objects.filter(payment_status=Status.CANCELED).exists()


def test_release_cancels_the_clients_running_holds_through_the_transitions(
    admin_client, squatted, django_capture_on_commit_callbacks
):
    waiter = join_waitlist(course=squatted["salsa"].course, details=student_details("w"))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            HOLDS, {"client": [PHONE], "release": "1", "apply": "1", "reason": "Invented students"}, follow=True
        )

    assert "Released 3 holds" in response.content.decode()
    for registration in squatted["holds"]:
        registration.refresh_from_db()
        assert registration.payment_status == Status.CANCELED
        assert registration.cancel_reason == "Invented students"
        assert RegistrationEvent.objects.filter(registration=registration, to_status=Status.CANCELED).exists()
    assert EmailLog.objects.filter(kind="registration_canceled").count() == 3
    squatted["other"].refresh_from_db()
    squatted["paid"].refresh_from_db()
    assert squatted["other"].payment_status == Status.PENDING  # another client's hold stays
    assert squatted["paid"].payment_status == Status.COMPLETED  # paid seats are not holds
    waiter.refresh_from_db()
    assert waiter.status == WaitlistEntry.Status.OFFERED  # the freed seat went to the waitlist first
    assert clients_with_holds()[0].client_key == OTHER


def test_release_of_a_part_paid_hold_asks_what_to_do_with_the_money_as_cancel_does_and_refunds_it(
    admin_client, squatted
):
    part_paid = squatted["holds"][0]
    PaymentFactory(registration=part_paid, amount=Decimal("40.00"))

    page = admin_client.post(HOLDS, {"client": [PHONE], "release": "1"})
    missing = admin_client.post(HOLDS, {"client": [PHONE], "release": "1", "apply": "1", "reason": "Bots"})
    done = admin_client.post(
        HOLDS, {"client": [PHONE], "release": "1", "apply": "1", "reason": "Bots", "settle": "refund"}, follow=True
    )

    assert "Give it as account credit" in page.content.decode()
    assert f"{part_paid.reference}" in page.content.decode() and "$40.00 received" in page.content.decode()
    assert page.content.decode().count(" received</li>") == 1  # the holds with nothing paid say nothing
    assert missing.status_code == 200 and "This field is required." in missing.content.decode()
    assert "Released 3 holds" in done.content.decode()
    assert Refund.objects.get(registration=part_paid).amount == Decimal("40.00")


def test_release_without_a_client_chosen_changes_nothing(admin_client, squatted):
    response = admin_client.post(HOLDS, {"release": "1", "apply": "1", "reason": "x"}, follow=True)

    assert "Choose at least one client" in response.content.decode()
    assert Registration.objects.filter(payment_status=Status.CANCELED).count() == 0


def test_an_instructor_cannot_see_or_release_holds(client, squatted):
    instructor = User.objects.create_user(username="door", is_staff=True)
    instructor.groups.add(Group.objects.get(name="Instructor"))
    client.force_login(instructor)

    assert client.get(HOLDS).status_code == 403
    assert client.post(HOLDS, {"client": [PHONE], "apply": "1", "reason": "x"}).status_code == 403
    assert Registration.objects.filter(payment_status=Status.CANCELED).count() == 0


def test_a_studio_admin_can_release_holds(client, squatted):
    owner = User.objects.create_user(username="ana", is_staff=True)
    owner.groups.add(Group.objects.get(name="Studio admin"))
    client.force_login(owner)

    response = client.post(HOLDS, {"client": [PHONE], "apply": "1", "reason": "Squatting"})

    assert response.status_code == 302
    assert Registration.objects.filter(payment_status=Status.CANCELED).count() == 3


def test_the_page_says_when_nobody_holds_a_seat(admin_client):
    assert "No client holds an unpaid seat right now." in admin_client.get(HOLDS).content.decode()
