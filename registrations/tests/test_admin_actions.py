"""The studio works registrations from the admin: actions, "Register a student", filters, CSV, rights."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.tests.factories import StudentFactory
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus
CHANGELIST = reverse("admin:registrations_registration_changelist")
REGISTER = reverse("admin:registrations_registration_register")


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


def staff_client(client, django_user_model, group: str, username: str):
    user = django_user_model.objects.create_user(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(client, django_user_model):
    """A member of the "Studio admin" group (dance_portal/migrations/0002_groups.py)."""
    return staff_client(client, django_user_model, "Studio admin", "owner")


@pytest.fixture
def instructor_client(client, django_user_model):
    return staff_client(client, django_user_model, "Instructor", "door")


def act(client, action, registrations, **form):
    """POST an action from the changelist; with `form`, submit its intermediate page too ("apply")."""
    data = {"action": action, "_selected_action": [r.pk for r in registrations]}
    if form:
        data.update(apply="yes", **form)
    return client.post(CHANGELIST, data)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def status_of(registration):
    registration.refresh_from_db()
    return registration.payment_status


# --- confirm payment --------------------------------------------------------------------------------------------------


def test_confirm_action_first_shows_the_confirmation_page_and_changes_nothing(admin_client):
    registration = RegistrationFactory()

    response = act(admin_client, "confirm_payments", [registration])

    assert response.status_code == 200
    assert "admin/registrations/registration/action_form.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert registration.reference in html
    assert 'name="note"' in html and 'name="apply"' in html
    assert status_of(registration) == PaymentStatus.PENDING


def test_confirm_action_confirms_many_with_the_note_and_one_email_each(owner_client):
    first, second = RegistrationFactory(), RegistrationFactory()

    response = act(owner_client, "confirm_payments", [first, second], method="zelle", note="Zelle batch 12")

    assert response.status_code == 302
    for registration in (first, second):
        registration.refresh_from_db()
        assert registration.payment_status == PaymentStatus.COMPLETED
        assert registration.confirmed_by.username == "owner"
        assert (registration.payment_method, registration.transaction_note) == ("zelle", "Zelle batch 12")
        assert registration.events.get().actor.username == "owner"
    assert EmailLog.objects.filter(kind="payment_confirmed").count() == 2
    assert messages_of(response) == ["Confirmed the payment of 2 registrations; the students were emailed."]


def test_confirm_action_twice_changes_nothing_and_says_so(owner_client):
    registration = RegistrationFactory()
    act(owner_client, "confirm_payments", [registration], note="first")

    response = act(owner_client, "confirm_payments", [registration], note="second")

    registration.refresh_from_db()
    assert registration.transaction_note == "first"
    assert registration.events.count() == 1
    assert EmailLog.objects.filter(kind="payment_confirmed").count() == 1
    assert messages_of(response)[-1] == f"Already paid, nothing changed: {registration.reference}."


def test_confirm_action_refuses_a_canceled_registration(owner_client):
    registration = RegistrationFactory(payment_status=PaymentStatus.CANCELED)

    response = act(owner_client, "confirm_payments", [registration], note="")

    assert status_of(registration) == PaymentStatus.CANCELED
    assert messages_of(response) == [
        f"{registration.reference}: This registration is canceled: record a refund instead, or re-open it first."
    ]


def test_confirm_of_an_expired_hold_in_a_full_slot_needs_the_over_capacity_action(owner_client):
    slot = priced_slot(capacity=1)
    expired = RegistrationFactory(
        slot=slot, payment_status=PaymentStatus.EXPIRED, payment_due_at=timezone.now() - datetime.timedelta(hours=1)
    )
    RegistrationFactory(slot=slot)

    refused = act(owner_client, "confirm_payments", [expired], note="")
    assert status_of(expired) == PaymentStatus.EXPIRED
    over = act(owner_client, "confirm_payments_over_capacity", [expired], note="Agreed with the teacher")

    assert "full" in messages_of(refused)[0]
    assert over.status_code == 302
    assert status_of(expired) == PaymentStatus.COMPLETED
    assert expired.admin_override is True


# --- cancel and re-open -----------------------------------------------------------------------------------------------


def test_cancel_action_needs_a_reason(owner_client):
    registration = RegistrationFactory()

    response = act(owner_client, "cancel_registrations", [registration], reason="")

    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert status_of(registration) == PaymentStatus.PENDING


def test_cancel_action_cancels_emails_and_records_the_reason(owner_client):
    registration = RegistrationFactory()

    response = act(owner_client, "cancel_registrations", [registration], reason="Course moved")

    assert response.status_code == 302
    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.CANCELED
    assert registration.cancel_reason == "Course moved"
    assert registration.canceled_by.username == "owner"
    assert EmailLog.objects.filter(kind="registration_canceled", to_email=registration.student.email).count() == 1
    assert messages_of(response) == ["Canceled 1 registration; the student was emailed."]


def test_reopen_action_reopens_when_a_seat_is_free_and_refuses_when_full(owner_client):
    free = RegistrationFactory(slot=priced_slot(capacity=1), payment_status=PaymentStatus.CANCELED)
    full_slot = priced_slot(capacity=1)
    blocked = RegistrationFactory(slot=full_slot, payment_status=PaymentStatus.EXPIRED)
    RegistrationFactory(slot=full_slot)

    response = act(owner_client, "reopen_registrations", [free, blocked], reason="Paid at the door")

    assert status_of(free) == PaymentStatus.PENDING
    assert status_of(blocked) == PaymentStatus.EXPIRED
    assert free.events.get().reason == "Paid at the door"
    assert messages_of(response)[0] == "Re-opened 1 registration: it waits for payment again."
    assert messages_of(response)[1].startswith(f"{blocked.reference}: ")


def test_reopen_action_says_which_registrations_were_confirmed_at_once(owner_client):
    slot = priced_slot(capacity=5)
    owed = RegistrationFactory(slot=slot, payment_status=PaymentStatus.CANCELED)
    free = RegistrationFactory(slot=slot, payment_status=PaymentStatus.EXPIRED, payment_amount=0, payment_method="")

    response = act(owner_client, "reopen_registrations", [owed, free], reason="Asked by the students")

    assert (status_of(owed), status_of(free)) == (PaymentStatus.PENDING, PaymentStatus.COMPLETED)
    assert messages_of(response)[0] == (
        "Re-opened 1 registration: it waits for payment again. "
        "Re-opened 1 registration with nothing left to pay: confirmed at once."
    )


def text_outside_tags(html: str) -> str:
    return re.sub(r"<[^>]*>", "", html)


@pytest.mark.parametrize("action", ["cancel_registrations", "reopen_registrations", "confirm_payments"])
def test_an_action_page_prints_no_stray_nonce_as_text(owner_client, action):
    registration = RegistrationFactory()

    html = act(owner_client, action, [registration]).content.decode()

    assert 'name="apply"' in html  # the intermediate page
    assert "nonce=" not in text_outside_tags(html)


def test_the_register_a_student_page_prints_no_stray_nonce_as_text(owner_client):
    html = owner_client.get(REGISTER).content.decode()

    assert "nonce=" not in text_outside_tags(html)


def test_the_registration_page_shows_every_transition_with_who_and_why(owner_client):
    registration = RegistrationFactory()
    act(owner_client, "cancel_registrations", [registration], reason="Double booking")
    act(owner_client, "reopen_registrations", [registration], reason="Sorted out")

    html = owner_client.get(reverse("admin:registrations_registration_change", args=[registration.pk])).content.decode()

    assert "Double booking" in html and "Sorted out" in html
    assert html.count("owner") >= 2


# --- rights -----------------------------------------------------------------------------------------------------------


def test_an_instructor_sees_registrations_but_no_confirm_or_cancel(instructor_client):
    registration = RegistrationFactory()

    changelist = instructor_client.get(CHANGELIST)
    form = changelist.context["action_form"]
    actions = dict(form.fields["action"].choices) if form else {}
    posted = [
        act(instructor_client, name, [registration], note="x", reason="x")
        for name in ("confirm_payments", "cancel_registrations")
    ]
    register_page = instructor_client.get(REGISTER)

    assert changelist.status_code == 200
    assert "confirm_payments" not in actions and "cancel_registrations" not in actions
    assert "confirm_payments_over_capacity" not in actions and "reopen_registrations" not in actions
    assert "export_csv" not in actions  # contact details: Studio admins only
    assert "Register a student" not in changelist.content.decode()
    assert all(response.status_code in (200, 302) for response in posted)  # nothing done
    assert status_of(registration) == PaymentStatus.PENDING
    assert not registration.events.exists()
    assert register_page.status_code == 403


def test_a_studio_admin_sees_every_action_and_the_register_link(owner_client):
    changelist = owner_client.get(CHANGELIST)

    actions = dict(changelist.context["action_form"].fields["action"].choices)
    studio_actions = {
        "confirm_payments",
        "confirm_payments_over_capacity",
        "cancel_registrations",
        "reopen_registrations",
    }
    assert studio_actions <= set(actions)
    assert REGISTER in changelist.content.decode()


# --- Register a student (the admin override) -----------------------------------------------------------------------


def register_data(student, slot, **changes):
    return {
        "student": student.pk,
        "slot": slot.pk,
        "pricing_type": "full_package",
        "payment_method": "venmo",
        "class_date": "",
        "amount": "",
        "reason": "",
        **changes,
    }


def test_register_page_offers_the_autocomplete_form(owner_client):
    response = owner_client.get(REGISTER)

    assert response.status_code == 200
    html = response.content.decode()
    assert "admin-autocomplete" in html
    assert 'name="over_capacity"' in html


def test_register_a_general_student_on_a_crew_only_course(owner_client):
    slot = priced_slot(course=CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER))
    student = StudentFactory()

    response = owner_client.post(REGISTER, register_data(student, slot))

    registration = Registration.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:registrations_registration_change", args=[registration.pk])
    assert (registration.student, registration.slot, registration.course) == (student, slot, slot.course)
    assert registration.admin_override is True
    assert registration.payment_amount == Decimal("120.00")
    event = registration.events.get()
    assert event.actor.username == "owner"
    assert "Crew-only" in event.reason
    assert EmailLog.objects.filter(kind="registration_received", to_email=student.email).exists()


def test_register_in_a_full_slot_needs_the_over_capacity_box(owner_client):
    slot = priced_slot(capacity=1)
    RegistrationFactory(slot=slot)
    student = StudentFactory()

    refused = owner_client.post(REGISTER, register_data(student, slot))
    accepted = owner_client.post(REGISTER, register_data(student, slot, over_capacity="on"))

    assert refused.status_code == 200
    assert "over_capacity" in refused.context["form"].errors
    assert accepted.status_code == 302
    registration = Registration.objects.get(student=student)
    assert registration.admin_override is True
    assert "over capacity" in registration.events.get().reason


def test_register_with_another_amount_needs_a_reason(owner_client):
    slot = priced_slot()
    student = StudentFactory()

    refused = owner_client.post(REGISTER, register_data(student, slot, amount="40"))
    accepted = owner_client.post(REGISTER, register_data(student, slot, amount="40", reason="Teacher's family"))

    assert refused.status_code == 200
    assert "reason" in refused.context["form"].errors
    assert accepted.status_code == 302
    registration = Registration.objects.get()
    assert registration.payment_amount == Decimal("40.00")
    assert "Teacher's family" in registration.events.get().reason


@pytest.mark.parametrize("amount", ["-5", "NaN", "1e9", "12.345"])
def test_register_refuses_a_bad_amount_in_the_form(owner_client, amount):
    response = owner_client.post(REGISTER, register_data(StudentFactory(), priced_slot(), amount=amount, reason="x"))

    assert response.status_code == 200
    assert "amount" in response.context["form"].errors
    assert not Registration.objects.exists()


def test_register_a_duplicate_shows_the_reason_and_writes_nothing(owner_client):
    existing = RegistrationFactory(slot=priced_slot())

    response = owner_client.post(REGISTER, register_data(existing.student, existing.slot))

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Registration.objects.count() == 1


# --- filters ----------------------------------------------------------------------------------------------------------


def test_filters_find_reported_payments_and_expired_holds(admin_client):
    now = timezone.now()
    reported = RegistrationFactory(payment_reported_at=now)
    running = RegistrationFactory()
    run_out = RegistrationFactory(payment_due_at=now - datetime.timedelta(minutes=5))
    expired = RegistrationFactory(payment_status=PaymentStatus.EXPIRED)

    def listed(**params):
        return set(admin_client.get(CHANGELIST, params).context["cl"].result_list)

    assert listed(reported="yes") == {reported}
    assert listed(hold="expired") == {run_out, expired}
    assert listed(hold="running") == {reported, running}
    assert listed(payment_status__exact="expired") == {expired}


def test_search_finds_a_registration_by_reference(admin_client):
    wanted, _other = RegistrationFactory(), RegistrationFactory()

    response = admin_client.get(CHANGELIST, {"q": wanted.reference.lower()})

    assert list(response.context["cl"].result_list) == [wanted]


# --- CSV export -------------------------------------------------------------------------------------------------------


def read_csv(response):
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_export_has_the_columns_a_bom_and_defuses_formulas(admin_client):
    student = StudentFactory(
        first_name='=HYPERLINK("http://evil","x")',
        last_name="Zoë 💃",
        phone="+1 415 555 0100",
        instagram_handle="@zoe",
        dance_experience="advanced",
    )
    registration = RegistrationFactory(student=student, slot=priced_slot(course=CourseFactory(name="-2+3 House")))

    response = act(admin_client, "export_csv", [registration])

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="registrations-')
    header, row = read_csv(response)
    assert header == [
        "Reference",
        "First name",
        "Last name",
        "Email",
        "Phone",
        "Instagram",
        "Experience",
        "Course",
        "Time slot",
        "Class date",
        "Pricing type",
        "Amount",
        "Payment method",
        "Status",
        "Created",
        "Confirmed",
    ]
    assert row[0] == registration.reference
    assert row[1] == '\'=HYPERLINK("http://evil","x")'
    assert row[2] == "Zoë 💃"
    assert (row[4], row[5], row[6]) == ("'+1 415 555 0100", "'@zoe", "Advanced")
    assert row[7] == "'-2+3 House"
    assert (row[10], row[11], row[12], row[13], row[15]) == ("Full package", "120.00", "Venmo", "Pending payment", "")
