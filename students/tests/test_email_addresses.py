"""Email addresses written one way (SECURITY.md "What was tried"): the domain normalized (NFKC, IDNA) so two spellings
of one mailbox are one student, and addresses the mailer cannot send to refused next to the field on every form."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from courses.tests.factories import priced_slot
from registrations.errors import RegistrationError
from registrations.models import Registration
from registrations.services import register_student
from students.models import Student, normalize_email
from students.services import StudentDetails, clean_details
from students.tests.factories import StudentFactory
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import full_slot

pytestmark = pytest.mark.django_db

UNDELIVERABLE = ["ıvan@example.org", "ſam@example.org", "renée@example.org", "\u212aate@example.org"]
MESSAGE = "We cannot send email to an address with letters such as ı, ſ or é before the @."


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("kdup@ｅxample.org", "kdup@example.org"),  # fullwidth e
        ("kdup@ＥＸＡＭＰＬＥ．ＯＲＧ", "kdup@example.org"),  # fullwidth letters and dot
        ("  Ana@Example.ORG ", "ana@example.org"),
        ("anne@BÜCHER.example", "anne@bücher.example"),
        ("anne@xn--bcher-kva.example", "anne@bücher.example"),  # the ASCII (punycode) spelling of the same domain
        ("anne@straße.example", "anne@strasse.example"),  # IDNA maps ß to ss
    ],
)
def test_normalize_email_writes_one_form_of_every_spelling_of_a_domain(typed, stored):
    assert normalize_email(typed) == stored


def test_normalize_email_leaves_a_non_ascii_local_part_as_typed_for_the_validator_to_refuse():
    # Lower-casing the Kelvin sign would make "kate@", someone else's address: never guess.
    assert normalize_email("\u212aATE@example.org") == "\u212aATE@example.org"
    assert normalize_email("ıvan@example.org") == "ıvan@example.org"


def details(email: str) -> StudentDetails:
    return StudentDetails(email=email, first_name="Kim", last_name="Dup")


def register(slot, email: str):
    return register_student(
        course=slot.course, slot=slot, pricing_type="full_package", payment_method="venmo", details=details(email)
    )


def test_a_fullwidth_domain_is_the_same_student_and_cannot_register_twice():
    slot = priced_slot()
    first = register(slot, "kdup@example.org")

    with pytest.raises(RegistrationError, match="already registered"):
        register(slot, "kdup@ｅxample.org")

    assert Student.objects.count() == 1
    assert first.student.email == "kdup@example.org"
    assert Registration.objects.count() == 1


def test_the_limit_per_student_counts_every_spelling_of_one_address():
    from studio.models import SystemSetting

    SystemSetting.objects.create(setting_key="max_registrations_per_student", setting_value="1")
    register(priced_slot(), "kdup@example.org")

    with pytest.raises(RegistrationError, match="as many registrations"):
        register(priced_slot(), "kdup@ＥＸＡＭＰＬＥ.org")


@pytest.mark.parametrize("email", UNDELIVERABLE)
def test_clean_details_refuses_an_address_the_mailer_cannot_send_to(email):
    with pytest.raises(ValidationError) as error:
        clean_details(details(email))

    assert MESSAGE in str(error.value.message_dict["email"])


@pytest.mark.parametrize("email", UNDELIVERABLE)
def test_register_student_refuses_it_with_an_email_field_error_and_writes_nothing(email):
    with pytest.raises(RegistrationError) as error:
        register(priced_slot(), email)

    assert error.value.field == "email"
    assert not Student.objects.exists() and not Registration.objects.exists()


# --- every form: the message next to the email field -----------------------------------------------------------------


def registration_form(slot, email):
    return {
        "email": email,
        "first_name": "Ivan",
        "last_name": "Petrov",
        "slot": str(slot.pk),
        "pricing_type": "full_package",
        "payment_method": "venmo",
    }


def email_field_errors(response) -> str:
    form = response.context["form"] if "form" in response.context else None
    return " ".join(form.errors.get("email", [])) if form is not None else ""


@pytest.mark.parametrize("email", ["ıvan@example.org", "ſam@example.org"])
def test_the_registration_form_shows_the_message_next_to_the_email_field(client, email):
    slot = priced_slot()

    response = client.post(reverse("registrations:create", args=[slot.course.pk]), registration_form(slot, email))

    assert response.status_code == 200
    assert MESSAGE in email_field_errors(response)
    assert not Student.objects.exists()


def test_the_waitlist_form_shows_the_message_next_to_the_email_field(client):
    slot = full_slot()
    data = {"email": "ıvan@example.org", "first_name": "Ivan", "last_name": "Petrov", "preferred_slot": ""}

    response = client.post(reverse("waitlist:join", args=[slot.course.pk]), data)

    assert response.status_code == 200
    assert MESSAGE in " ".join(response.context["waitlist_form"].errors["email"])
    assert not WaitlistEntry.objects.exists()


def test_the_portal_sign_in_form_shows_the_message_next_to_the_email_field(client):
    response = client.post(reverse("portal:home"), {"email": "ſam@example.org"})

    assert response.status_code == 200
    assert MESSAGE in email_field_errors(response)


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


def student_data(**changes):
    return {
        "first_name": "Ivan",
        "last_name": "Petrov",
        "email": "ivan@example.org",
        "phone": "",
        "instagram_handle": "",
        "dance_experience": "",
        "student_type": Student.StudentType.GENERAL,
        **{f"{p}-{n}": "0" for p in ("registrations", "waitlist_entries") for n in ("TOTAL_FORMS", "INITIAL_FORMS")},
        **changes,
    }


def test_the_admin_student_form_refuses_it_next_to_the_email_field(admin_client):
    response = admin_client.post(reverse("admin:students_student_add"), student_data(email="ıvan@example.org"))

    assert response.status_code == 200
    assert MESSAGE in " ".join(response.context["adminform"].form.errors["email"])
    assert not Student.objects.exists()


def test_the_admin_student_form_finds_the_fullwidth_spelling_taken(admin_client):
    StudentFactory(email="kdup@example.org")

    response = admin_client.post(reverse("admin:students_student_add"), student_data(email="kdup@ｅxample.org"))

    assert "already exists" in " ".join(response.context["adminform"].form.errors["email"])
