"""Everyday jobs on a registration's own page and on "Register a student" (README "The studio's admin"): Confirm
payment, Cancel and Re-open as buttons that go through the bulk actions' pages and services; a new student added on the
spot."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.tests.factories import priced_slot
from registrations.models import Registration
from registrations.tests.factories import PaymentFactory, RegistrationFactory
from registrations.tests.test_admin_actions import CHANGELIST, REGISTER, messages_of, staff_client, status_of
from students.models import Student
from students.tests.factories import StudentFactory
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus


@pytest.fixture
def owner_client(client, django_user_model):
    return staff_client(client, django_user_model, "Studio admin", "owner")


@pytest.fixture
def instructor_client(client, django_user_model):
    return staff_client(client, django_user_model, "Instructor", "door")


def page_of(registration):
    return reverse("admin:registrations_registration_change", args=[registration.pk])


def buttons_on(client, registration) -> list[str]:
    return [action for action, _label in client.get(page_of(registration)).context["registration_buttons"]]


def press(client, registration, action, **form):
    """A button of the registration's page, then (with `form`) its intermediate page's submit."""
    data = {"action": action, "_selected_action": [registration.pk], "from_change_page": "1"}
    if form:
        data.update(apply="yes", **form)
    return client.post(CHANGELIST, data)


# --- the buttons -------------------------------------------------------------------------------------------------------


def test_each_status_offers_the_buttons_that_apply_to_it(owner_client):
    run_out = timezone.now() - datetime.timedelta(hours=1)

    assert buttons_on(owner_client, RegistrationFactory()) == ["confirm_payments", "cancel_registrations"]
    assert buttons_on(owner_client, RegistrationFactory(payment_due_at=run_out)) == [
        "confirm_payments",
        "confirm_payments_over_capacity",
        "cancel_registrations",
    ]
    assert buttons_on(owner_client, RegistrationFactory(payment_status=PaymentStatus.COMPLETED)) == [
        "cancel_registrations"
    ]
    assert buttons_on(owner_client, RegistrationFactory(payment_status=PaymentStatus.CANCELED)) == [
        "reopen_registrations"
    ]
    assert buttons_on(owner_client, RegistrationFactory(payment_status=PaymentStatus.EXPIRED)) == [
        "confirm_payments",
        "confirm_payments_over_capacity",
        "reopen_registrations",
    ]


def test_an_expired_registration_with_money_recorded_since_offers_cancel_to_settle_it(owner_client):
    registration = RegistrationFactory(payment_status=PaymentStatus.EXPIRED)
    PaymentFactory(registration=registration, amount=Decimal("50.00"))

    assert buttons_on(owner_client, registration) == [
        "confirm_payments",
        "confirm_payments_over_capacity",
        "cancel_registrations",
        "reopen_registrations",
        "record_refund",
    ]


def test_the_buttons_post_the_action_of_this_one_registration_to_the_list(owner_client):
    registration = RegistrationFactory()

    html = owner_client.get(page_of(registration)).content.decode()

    form = html.split('class="registration-button"', 1)[0].rsplit("<form", 1)[1]
    assert f'action="{CHANGELIST}"' in form
    button = html.split('class="registration-button"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="action" value="confirm_payments">' in button
    assert f'<input type="hidden" name="_selected_action" value="{registration.pk}">' in button
    assert '<button type="submit">Confirm payment</button>' in button


def test_an_instructor_sees_no_buttons(instructor_client):
    registration = RegistrationFactory()

    response = instructor_client.get(page_of(registration))

    assert response.status_code == 200
    assert response.context["registration_buttons"] == []
    assert 'class="registration-button"' not in response.content.decode()


def test_confirm_button_shows_the_actions_page_then_confirms_once_and_comes_back(owner_client):
    registration = RegistrationFactory()

    page = press(owner_client, registration, "confirm_payments")
    done = press(owner_client, registration, "confirm_payments", method="zelle", note="Zelle 8812")

    assert "admin/registrations/registration/action_form.html" in [t.name for t in page.templates]
    assert '<input type="hidden" name="from_change_page" value="1">' in page.content.decode()
    assert done.status_code == 302 and done["Location"] == page_of(registration)
    assert status_of(registration) == PaymentStatus.COMPLETED
    assert registration.transaction_note == "Zelle 8812"
    assert EmailLog.objects.filter(kind="payment_confirmed").count() == 1
    assert any("Confirmed the payment of 1 registration" in m for m in messages_of(done))


def test_cancel_button_needs_a_reason_and_then_cancels_and_comes_back(owner_client):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)

    refused = press(owner_client, registration, "cancel_registrations", reason="")
    done = press(owner_client, registration, "cancel_registrations", reason="Injured")

    assert refused.status_code == 200 and "reason" in refused.context["form"].errors
    assert done["Location"] == page_of(registration)
    assert status_of(registration) == PaymentStatus.CANCELED
    assert registration.cancel_reason == "Injured"


def test_reopen_button_refuses_a_full_slot_with_a_message_and_comes_back(owner_client):
    slot = priced_slot(capacity=1)
    canceled = RegistrationFactory(slot=slot, payment_status=PaymentStatus.CANCELED)
    RegistrationFactory(slot=slot)

    response = press(owner_client, canceled, "reopen_registrations", reason="")

    assert response["Location"] == page_of(canceled)
    assert status_of(canceled) == PaymentStatus.CANCELED
    assert any(canceled.reference in m for m in messages_of(response))


def test_the_bulk_action_from_the_list_still_returns_to_the_list(owner_client):
    registration = RegistrationFactory()

    response = owner_client.post(
        CHANGELIST, {"action": "confirm_payments", "_selected_action": [registration.pk], "apply": "yes"}
    )

    assert response.status_code == 302 and response["Location"] == CHANGELIST


# --- a new student on the spot -----------------------------------------------------------------------------------------


def new_student_data(slot, **extra):
    return {
        "first_name": "Zoë",
        "last_name": "O'Brien <b>",
        "email": "  Zoe.New@Example.org ",
        "phone": "+1 415 555 0100",
        "slot": slot.pk,
        "pricing_type": "full_package",
        "payment_method": "venmo",
        **extra,
    }


def test_register_a_new_student_on_the_spot(owner_client):
    slot = priced_slot()

    response = owner_client.post(REGISTER, new_student_data(slot))

    registration = Registration.objects.get()
    student = registration.student
    assert response.status_code == 302 and response["Location"] == page_of(registration)
    assert (student.first_name, student.last_name, student.email) == ("Zoë", "O'Brien <b>", "zoe.new@example.org")
    assert student.student_type == Student.StudentType.GENERAL
    assert student.profile_complete is True
    assert EmailLog.objects.filter(kind="registration_received", to_email="zoe.new@example.org").exists()


def test_a_new_students_address_already_on_file_is_refused_with_a_link_to_that_student(owner_client):
    existing = StudentFactory(email="zoe.new@example.org", first_name="Zoé", last_name="Existing")

    response = owner_client.post(REGISTER, new_student_data(priced_slot(), email="ZOE.new@example.org"))

    assert response.status_code == 200
    error = str(response.context["form"].errors["email"][0])
    assert "A student with this email address already exists" in error
    assert f'href="{reverse("admin:students_student_change", args=[existing.pk])}"' in error
    assert Student.objects.count() == 1 and not Registration.objects.exists()


def test_a_new_student_is_not_kept_when_the_registration_is_refused(owner_client):
    slot = priced_slot(capacity=1)
    RegistrationFactory(slot=slot)

    response = owner_client.post(REGISTER, new_student_data(slot))

    assert "over_capacity" in response.context["form"].errors
    assert not Student.objects.filter(email="zoe.new@example.org").exists()
    assert Registration.objects.count() == 1


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"email": "not an address"}, "email"),
        ({"email": ""}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": "x" * 101}, "last_name"),
        ({"first_name": "Zo\x00ë"}, "first_name"),
    ],
)
def test_bad_new_student_details_get_a_message_next_to_the_field_and_write_nothing(owner_client, changes, field):
    response = owner_client.post(REGISTER, new_student_data(priced_slot(), **changes))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Student.objects.exists() and not Registration.objects.exists()


def test_register_needs_a_student_on_file_or_a_new_one_but_not_both(owner_client):
    slot = priced_slot()
    student = StudentFactory()

    neither = owner_client.post(REGISTER, {"slot": slot.pk, "pricing_type": "full_package", "payment_method": "venmo"})
    both = owner_client.post(REGISTER, new_student_data(slot, student=student.pk))

    assert "student" in neither.context["form"].errors
    assert both.context["form"].non_field_errors()
    assert Student.objects.count() == 1 and not Registration.objects.exists()
