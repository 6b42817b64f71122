import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.models import Student
from students.tests.factories import StudentFactory
from studio.models import SystemSetting

pytestmark = pytest.mark.django_db


def _set(key, value):
    SystemSetting.objects.update_or_create(setting_key=key, defaults={"setting_value": value})


def _form(slot, /, **overrides):
    data = {
        "email": "ana@example.org",
        "first_name": "Ana",
        "last_name": "Lima",
        "phone": "+1 415 555 0100",
        "instagram_handle": "@ana.dances",
        "slot": str(slot.pk),
        "pricing_type": "full_package",
        "class_date": "",
        "payment_method": "venmo",
    }
    data.update(overrides)
    return data


@pytest.fixture
def slot():
    return priced_slot(course=CourseFactory(name="House L1"), full_package="120.00", drop_in="35.00")


# Registering


def test_register_creates_one_pending_registration_and_redirects_to_its_payment_page(client, slot):
    response = client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot))

    registration = Registration.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("registrations:detail", args=[registration.public_id])
    assert registration.payment_status == Registration.PaymentStatus.PENDING
    assert registration.slot == slot
    assert registration.student.email == "ana@example.org"
    assert registration.student.instagram_handle == "ana.dances"


def test_register_shows_a_success_message_on_the_payment_page(client, slot):
    response = client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot), follow=True)

    html = response.content.decode()
    assert "You&#x27;re registered!" in html
    assert Registration.objects.get().reference in html


def test_register_takes_the_amount_from_the_price_row_and_ignores_tampered_fields(client, slot):
    tampered = _form(
        slot, price="0", amount="1", payment_amount="1", payment_status="completed", student_type="crew_member"
    )

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), tampered, follow=True)

    registration = Registration.objects.get()
    assert registration.payment_amount == Decimal("120.00")
    assert registration.payment_status == Registration.PaymentStatus.PENDING
    assert registration.student.student_type == Student.StudentType.GENERAL
    assert "$120" in response.content.decode()


def test_register_a_drop_in_on_a_series_records_the_class_date_and_drop_in_price(client, slot):
    class_date = slot.class_dates()[1]

    client.post(
        reverse("registrations:create", args=[slot.course.pk]),
        _form(slot, pricing_type="drop_in", class_date=class_date.isoformat()),
    )

    registration = Registration.objects.get()
    assert registration.class_date == class_date
    assert registration.payment_amount == Decimal("35.00")


def test_register_a_drop_in_on_a_series_without_a_class_date_is_a_field_error(client, slot):
    response = client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot, pricing_type="drop_in"))

    assert response.status_code == 200
    assert "Choose the class date for your drop-in." in response.content.decode()
    assert not Registration.objects.exists()


def test_a_refused_form_is_shown_again_with_seats_and_full_dates_as_they_are_now(client, slot):
    """The POST checks the form without counting seats; the page shown after a refusal counts them."""
    first, second = slot.class_dates()[:2]
    slot.capacity = 2
    slot.save()
    RegistrationFactory(slot=slot)
    RegistrationFactory(slot=slot, pricing_type="drop_in", class_date=first)

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot, email="not an email"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid email address." in html
    assert "Full package sold out" in html
    assert f"{first:%a, %b} {first.day}, 7–8:30 pm (full)" in html
    assert f"{second:%a, %b} {second.day}, 7–8:30 pm</option>" in html


def test_register_a_drop_in_on_a_date_that_is_not_a_class_is_a_field_error(client, slot):
    not_a_class = slot.class_dates()[0] + datetime.timedelta(days=1)

    response = client.post(
        reverse("registrations:create", args=[slot.course.pk]),
        _form(slot, pricing_type="drop_in", class_date=not_a_class.isoformat()),
    )

    assert response.status_code == 200
    assert response.context["form"].errors["class_date"]
    assert not Registration.objects.exists()


def test_register_normalises_the_email(client, slot):
    client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot, email="  Ana@Example.ORG "))

    assert Student.objects.get().email == "ana@example.org"


def test_register_with_a_slot_of_another_course_is_a_field_error_and_writes_nothing(client, slot):
    other = priced_slot()

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), _form(other))

    assert response.status_code == 200
    assert response.context["form"].errors["slot"] == ["Choose a valid time slot."]
    assert "Choose a valid time slot." in response.content.decode()
    assert not Registration.objects.exists()
    assert not Student.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("pricing_type", "vip"), ("payment_method", "cash"), ("slot", "abc"), ("class_date", "2026-02-30")],
)
def test_register_with_an_unknown_choice_is_a_field_error_and_writes_nothing(client, slot, field, value):
    data = _form(slot, **{field: value})
    if field == "class_date":
        data["pricing_type"] = "drop_in"

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), data)

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not Registration.objects.exists()


def test_register_for_a_crew_only_course_as_a_general_student_answers_404_and_writes_nothing(client):
    course = CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER)
    crew_slot = priced_slot(course=course)
    general = StudentFactory(email="ana@example.org")

    response = client.post(reverse("registrations:create", args=[course.pk]), _form(crew_slot, email=general.email))

    assert response.status_code == 404
    assert not Registration.objects.exists()


def test_register_for_an_inactive_course_answers_404_and_writes_nothing(client):
    inactive_slot = priced_slot(course=CourseFactory(is_active=False))

    response = client.post(reverse("registrations:create", args=[inactive_slot.course.pk]), _form(inactive_slot))

    assert response.status_code == 404
    assert not Registration.objects.exists()


def test_register_while_registration_is_closed_writes_nothing(client, slot):
    _set("registration_open", "false")

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot))

    assert response.status_code == 200
    assert "Registration is closed" in response.content.decode()
    assert not Registration.objects.exists()
    assert not Student.objects.exists()


def test_register_again_with_the_same_email_in_other_case_says_already_registered_and_reveals_nothing(client, slot):
    stored = StudentFactory(
        email="ana@example.org", first_name="Storedfirst", last_name="Storedlast", phone="+1 212 555 0199"
    )
    RegistrationFactory(student=stored, slot=slot)

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot, email="ANA@Example.org"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "already registered" in html
    assert Registration.objects.count() == 1
    for secret in ["Storedfirst", "Storedlast", "212 555 0199"]:
        assert secret not in html


def test_double_submit_creates_one_registration(client, slot):
    first = client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot))
    second = client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot))

    assert first.status_code == 302
    assert second.status_code == 200
    assert "already registered" in second.content.decode()
    assert Registration.objects.count() == 1


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "Zoë 💃", "O'Brien & Sons", "محمد"])
def test_register_stores_names_as_typed(client, slot, name):
    client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot, first_name=name))

    assert Student.objects.get().first_name == name


def test_a_script_name_is_shown_escaped_when_the_form_is_shown_again(client, slot):
    response = client.post(
        reverse("registrations:create", args=[slot.course.pk]),
        _form(slot, first_name="<script>alert(1)</script>", payment_method="cash"),
    )

    html = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "A" * 300),
        ("last_name", "B" * 101),
        ("first_name", "Ana\x00"),
        ("last_name", "Lima\x1b[31m"),
        ("email", "ana@example.org, bob@example.org"),
        ("email", "mailto:ana@example.org"),
        ("phone", "call me maybe"),
        ("instagram_handle", "https://evil.example/<b>"),
    ],
    ids=["300-char-name", "101-char-name", "nul-byte", "control-chars", "two-emails", "mailto", "phone", "instagram"],
)
def test_register_with_bad_text_is_a_field_error_and_writes_nothing(client, slot, field, value):
    response = client.post(reverse("registrations:create", args=[slot.course.pk]), _form(slot, **{field: value}))

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not Registration.objects.exists()
    assert not Student.objects.exists()


def test_register_with_the_honeypot_filled_writes_nothing(client, slot):
    response = client.post(
        reverse("registrations:create", args=[slot.course.pk]), _form(slot, website="http://spam.example")
    )

    assert response.status_code == 200
    assert not Registration.objects.exists()


# Payment page


def test_payment_page_of_an_unknown_registration_answers_a_friendly_404(client):
    response = client.get(reverse("registrations:detail", args=[uuid.uuid4()]))

    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()


def test_payment_page_with_a_malformed_id_answers_404(client):
    assert client.get("/registrations/not-a-uuid/").status_code == 404
    assert client.get(f"/registrations/{RegistrationFactory().pk}/").status_code == 404


def test_payment_page_shows_status_reference_amount_and_class(client, slot):
    registration = RegistrationFactory(slot=slot, payment_amount=Decimal("120.00"))

    html = client.get(registration.get_absolute_url()).content.decode()

    assert registration.reference in html
    assert "$120" in html
    assert "House L1" in html
    assert "Seat held until" in html
    assert "7–8:30 pm" in html


def test_payment_page_of_a_drop_in_names_its_one_class_date(client, slot):
    class_date = slot.class_dates()[1]
    registration = RegistrationFactory(slot=slot, pricing_type="drop_in", class_date=class_date)

    html = client.get(registration.get_absolute_url()).content.decode()

    assert f"{class_date:%a}, {class_date:%b} {class_date.day}, 7–8:30 pm (one class)" in html


def test_payment_page_says_the_hold_ended_when_a_pending_hold_ran_out(client, slot):
    registration = RegistrationFactory(slot=slot, payment_due_at=timezone.now() - datetime.timedelta(hours=1))

    html = client.get(registration.get_absolute_url()).content.decode()

    assert "Your seat hold ended on" in html
    assert "Seat held until" not in html


def test_payment_page_does_not_show_the_students_stored_profile(client, slot):
    student = StudentFactory(first_name="Privatefirst", last_name="Privatelast", phone="+1 212 555 0199")
    registration = RegistrationFactory(slot=slot, student=student)

    html = client.get(registration.get_absolute_url()).content.decode()

    for secret in ["Privatefirst", "Privatelast", "212 555 0199", student.email]:
        assert secret not in html


def test_payment_page_for_venmo_shows_the_app_link_the_web_link_and_a_qr_code(client, slot):
    _set("venmo_username", "studio-payments")
    registration = RegistrationFactory(slot=slot, payment_method=Registration.PaymentMethod.VENMO)

    html = client.get(registration.get_absolute_url()).content.decode()

    assert 'href="venmo://paycharge?txn=pay&amp;recipients=studio-payments&amp;amount=120.00&amp;note=' in html
    assert 'href="https://venmo.com/studio-payments?txn=pay&amp;amount=120.00&amp;note=' in html
    assert "Open Venmo" in html
    assert registration.reference in html


def test_payment_page_links_the_qr_code_and_does_not_draw_it(client, slot, monkeypatch):
    _set("venmo_username", "studio-payments")
    registration = RegistrationFactory(slot=slot, payment_method=Registration.PaymentMethod.VENMO)
    drawn = []
    monkeypatch.setattr("segno.make", lambda *args, **kwargs: drawn.append(args))

    html = client.get(registration.get_absolute_url()).content.decode()

    qr_url = reverse("registrations:venmo_qr", args=[registration.public_id])
    assert f'<img class="venmo-qr" src="{qr_url}?v=' in html
    assert "<svg" not in html
    assert drawn == []


def _qr_address(client, registration) -> str:
    html = client.get(registration.get_absolute_url()).content.decode()
    return re.search(r'<img class="venmo-qr" src="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_qr_code_is_served_as_an_svg_file_a_browser_keeps(client, slot):
    _set("venmo_username", "studio-payments")
    registration = RegistrationFactory(slot=slot, payment_method=Registration.PaymentMethod.VENMO)

    response = client.get(_qr_address(client, registration))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response["ETag"]
    assert "script-src" in response["Content-Security-Policy"]


def test_qr_code_asked_again_with_its_etag_is_not_drawn_again(client, slot):
    _set("venmo_username", "studio-payments")
    registration = RegistrationFactory(slot=slot, payment_method=Registration.PaymentMethod.VENMO)
    address = _qr_address(client, registration)
    etag = client.get(address)["ETag"]

    response = client.get(address, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""


def test_qr_code_of_an_older_link_is_not_kept_by_the_browser(client, slot):
    """The studio changed its Venmo user since the page was shown: the old address gets today's code, not cached."""
    _set("venmo_username", "studio-payments")
    registration = RegistrationFactory(slot=slot, payment_method=Registration.PaymentMethod.VENMO)
    address = _qr_address(client, registration)
    _set("venmo_username", "new-studio-user")

    response = client.get(address)

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"


@pytest.mark.parametrize(
    "case", ["unknown registration", "paid", "zelle", "no venmo user"], ids=lambda case: case.replace(" ", "-")
)
def test_qr_code_is_not_found_when_there_is_nothing_to_pay_by_venmo(client, slot, case):
    _set("venmo_username", "studio-payments")
    registration = RegistrationFactory(slot=slot, payment_method=Registration.PaymentMethod.VENMO)
    public_id = registration.public_id
    if case == "unknown registration":
        public_id = uuid.uuid4()
    elif case == "paid":
        Registration.objects.filter(pk=registration.pk).update(
            payment_status=Registration.PaymentStatus.COMPLETED, confirmed_at=timezone.now()
        )
    elif case == "zelle":
        Registration.objects.filter(pk=registration.pk).update(payment_method=Registration.PaymentMethod.ZELLE)
    else:
        SystemSetting.objects.filter(setting_key="venmo_username").delete()

    response = client.get(reverse("registrations:venmo_qr", args=[public_id]))

    assert response.status_code == 404


def test_payment_page_for_zelle_shows_recipient_phone_email_amount_and_memo_with_copy_buttons(client, slot):
    _set("zelle_recipient_name", "Studio Owner LLC")
    _set("zelle_phone", "+1 415 555 0100")
    _set("zelle_email", "pay@studio.example")
    registration = RegistrationFactory(slot=slot, payment_method=Registration.PaymentMethod.ZELLE)

    html = client.get(registration.get_absolute_url()).content.decode()

    assert "Studio Owner LLC" in html
    assert 'data-copy="+1 415 555 0100"' in html
    assert 'data-copy="pay@studio.example"' in html
    assert "$120" in html
    assert 'data-copy="120.00"' in html
    assert f'data-copy="{registration.reference} House L1' in html
    assert "venmo://" not in html


def test_payment_page_without_payment_settings_says_the_studio_will_send_details(client, slot):
    registration = RegistrationFactory(slot=slot, payment_method=Registration.PaymentMethod.VENMO)

    html = client.get(registration.get_absolute_url()).content.decode()

    assert "The studio will send you the payment details by email." in html
    assert "venmo://" not in html


def test_payment_page_has_no_inline_script_or_style(client, slot):
    _set("venmo_username", "studio-payments")
    registration = RegistrationFactory(slot=slot)

    html = client.get(registration.get_absolute_url()).content.decode()

    assert "style=" not in html
    assert "<script>" not in html
    assert "onclick" not in html


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (Registration.PaymentStatus.COMPLETED, "Paid – see you in class"),
        (Registration.PaymentStatus.CANCELED, "This registration was canceled"),
        (Registration.PaymentStatus.EXPIRED, "Your seat hold ran out"),
    ],
)
def test_payment_page_states_a_finished_registration_plainly_without_payment_steps(client, slot, status, text):
    _set("venmo_username", "studio-payments")
    registration = RegistrationFactory(slot=slot, payment_status=status)

    html = client.get(registration.get_absolute_url()).content.decode()

    assert text in html
    assert "Open Venmo" not in html
    assert "I&#x27;ve sent the payment" not in html


def test_report_payment_records_the_report_and_redirects_back_with_a_message(client, slot):
    registration = RegistrationFactory(slot=slot, payment_method=Registration.PaymentMethod.ZELLE)

    response = client.post(reverse("registrations:report_payment", args=[registration.public_id]), follow=True)

    registration.refresh_from_db()
    assert response.redirect_chain == [(registration.get_absolute_url(), 302)]
    assert registration.payment_reported_at is not None
    assert registration.payment_reported_method == Registration.PaymentMethod.ZELLE
    assert registration.payment_status == Registration.PaymentStatus.PENDING
    assert "You told us you paid" in response.content.decode()


def test_report_payment_refuses_get(client, slot):
    registration = RegistrationFactory(slot=slot)

    response = client.get(reverse("registrations:report_payment", args=[registration.public_id]))

    registration.refresh_from_db()
    assert response.status_code == 405
    assert registration.payment_reported_at is None


def test_report_payment_on_a_canceled_registration_shows_an_error_and_changes_nothing(client, slot):
    registration = RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.CANCELED)

    response = client.post(reverse("registrations:report_payment", args=[registration.public_id]), follow=True)

    registration.refresh_from_db()
    assert registration.payment_reported_at is None
    assert 'class="alert alert-danger"' in response.content.decode()


def test_report_payment_for_an_unknown_registration_answers_404(client):
    assert client.post(reverse("registrations:report_payment", args=[uuid.uuid4()])).status_code == 404
