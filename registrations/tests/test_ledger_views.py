"""What a student sees of the ledger (README "Payments"): "received $100, $20 still due" on the payment page and in the
portal, their own account credit on the course form (never anyone else's) and in the portal with its history."""

from decimal import Decimal

import pytest
from django.urls import reverse

from courses.tests.factories import priced_slot
from registrations import ledger
from registrations.models import CreditEntry, Registration
from registrations.tests.factories import CreditGrantFactory, PaymentFactory, RegistrationFactory
from students.tests.factories import StudentFactory
from studio.models import SystemSetting

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus
PORTAL = reverse("portal:home")


@pytest.fixture
def ana():
    return StudentFactory(email="ana@example.org", first_name="Ana", last_name="Lima")


def form(the_slot, **changes):
    return {
        "slot": str(the_slot.pk),
        "pricing_type": "full_package",
        "payment_method": "venmo",
        "email": "ana@example.org",
        "first_name": "Ana",
        "last_name": "Lima",
        "phone": "",
        "instagram_handle": "",
        "website": "",
        **changes,
    }


# --- the payment page -----------------------------------------------------------------------------------------------------


def test_the_payment_page_of_a_part_paid_registration_shows_what_was_received_and_asks_for_the_rest(client):
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="groove-studio")
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))
    PaymentFactory(registration=registration, amount=Decimal("100.00"))

    html = client.get(registration.get_absolute_url()).content.decode()

    assert "We received $100.00; $20.00 is still due." in html
    assert "amount=20.00" in html  # the Venmo links and the QR code ask for the rest
    assert "Almost done – now pay the rest" in html


def test_the_payment_page_shows_the_credit_a_registration_used(client):
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="groove-studio")
    registration = RegistrationFactory(payment_amount=Decimal("120.00"), credit_applied=Decimal("30.00"))

    html = client.get(registration.get_absolute_url()).content.decode()

    assert "Account credit used" in html and "$30.00" in html
    assert "amount=90.00" in html


def test_a_registration_paid_with_credit_says_so(client):
    registration = RegistrationFactory(
        payment_status=PaymentStatus.COMPLETED,
        payment_method="",
        payment_amount=Decimal("120.00"),
        credit_applied=Decimal("120.00"),
        payment_due_at=None,
    )

    html = client.get(registration.get_absolute_url()).content.decode()

    assert "Your account credit paid for this class" in html


# --- the course form --------------------------------------------------------------------------------------------------------


def test_a_signed_in_student_sees_their_credit_on_the_form_before_registering(client, sign_in, ana):
    CreditGrantFactory(student=ana, amount=Decimal("30.00"))
    slot = priced_slot(full_package="120.00", drop_in=None)

    html = sign_in(client, ana).get(slot.course.get_absolute_url()).content.decode()

    assert "You have $30.00 of account credit" in html
    assert "you pay $90.00 with your credit" in html


def test_an_anonymous_visitor_is_never_shown_anyones_credit(client, ana):
    CreditGrantFactory(student=ana, amount=Decimal("30.00"))
    slot = priced_slot(full_package="120.00", drop_in=None)

    page = client.get(slot.course.get_absolute_url()).content.decode()
    refused = client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot, slot="0"))
    registered = client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot), follow=True)

    for html in (page, refused.content.decode(), registered.content.decode()):
        assert "$30.00" not in html and "account credit used" not in html.lower()
    assert "Have account credit?" in page
    assert Registration.objects.get().credit_applied == 0
    assert ledger.credit_balance(ana) == Decimal("30.00")


def test_a_signed_in_student_whose_credit_covers_the_class_registers_without_a_method(client, sign_in, ana):
    CreditGrantFactory(student=ana, amount=Decimal("150.00"))
    slot = priced_slot(full_package="120.00", drop_in=None)
    sign_in(client, ana)

    page = client.get(slot.course.get_absolute_url()).content.decode()
    response = client.post(
        reverse("registrations:create", args=[slot.course.pk]), form(slot, payment_method=""), follow=True
    )

    assert "Register – paid with your credit" in page
    assert 'name="payment_method"' not in page
    registration = Registration.objects.get()
    assert registration.payment_status == PaymentStatus.COMPLETED
    assert registration.credit_applied == Decimal("120.00")
    assert "Your account credit paid for this class" in response.content.decode()
    assert ledger.credit_balance(ana) == Decimal("30.00")


def test_a_signed_in_student_with_some_credit_still_chooses_how_to_pay_the_rest(client, sign_in, ana):
    CreditGrantFactory(student=ana, amount=Decimal("30.00"))
    slot = priced_slot(full_package="120.00", drop_in=None)
    sign_in(client, ana)

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), form(slot, payment_method=""))

    assert response.status_code == 200
    assert "id_payment_method_errors" in response.content.decode()
    assert not Registration.objects.exists()
    assert ledger.credit_balance(ana) == Decimal("30.00")


# --- the portal -------------------------------------------------------------------------------------------------------------


def test_the_portal_shows_what_was_received_and_what_is_still_due(client, sign_in, ana):
    registration = RegistrationFactory(student=ana, payment_amount=Decimal("120.00"))
    PaymentFactory(registration=registration, amount=Decimal("100.00"))

    html = sign_in(client, ana).get(PORTAL).content.decode()

    assert "Received $100.00, $20.00 still due" in html
    assert "Pay the rest ($20.00)" in html


def test_the_portal_shows_the_credit_balance_and_its_history(client, sign_in, ana):
    grant = CreditGrantFactory(student=ana, amount=Decimal("30.00"))
    registration = RegistrationFactory(student=ana, payment_amount=Decimal("50.00"), credit_applied=Decimal("20.00"))
    CreditEntry.objects.create(
        student=ana,
        kind=CreditEntry.Kind.USED,
        reason=CreditEntry.Reason.REGISTRATION,
        amount=Decimal("20.00"),
        registration=registration,
        grant=grant,
    )
    CreditGrantFactory(amount=Decimal("99.00"))  # someone else's

    html = sign_in(client, ana).get(PORTAL).content.decode()

    assert 'class="h4 mb-1 credit-balance">$10.00<' in html
    assert "+$30.00" in html and "−$20.00" in html
    assert "Used for a registration" in html and "Paid more than the price" in html
    assert "$99.00" not in html


def test_the_portal_has_no_credit_section_without_any_credit(client, sign_in, ana):
    html = sign_in(client, ana).get(PORTAL).content.decode()

    assert "Account credit" not in html
