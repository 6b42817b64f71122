import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Registration, RegistrationEvent
from registrations.tests.factories import RegistrationFactory
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:registrations_registration_changelist")
SCRIPT_NAME = "<script>alert(1)</script>"


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


def change_url(registration):
    return reverse("admin:registrations_registration_change", args=[registration.pk])


def test_registration_changelist_shows_script_in_student_name_escaped(admin_client):
    RegistrationFactory(student=StudentFactory(first_name=SCRIPT_NAME, last_name="O'Brien & Sons"))

    html = admin_client.get(CHANGELIST).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Brien &amp; Sons" in html
    assert SCRIPT_NAME not in html


def test_registration_change_page_shows_script_in_student_name_escaped(admin_client):
    registration = RegistrationFactory(student=StudentFactory(first_name=SCRIPT_NAME))

    html = admin_client.get(change_url(registration)).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT_NAME not in html


@pytest.mark.parametrize("field", ["reference", "first_name", "last_name", "email", "course"])
def test_registration_search_finds_by_reference_student_and_course(admin_client, field):
    wanted = RegistrationFactory(
        student=StudentFactory(first_name="Zoë", last_name="Okafor", email="zoe@example.org"),
        slot=CourseSlotFactory(course=CourseFactory(name="Salsa On2")),
    )
    RegistrationFactory(student=StudentFactory(first_name="Sam", last_name="Lee", email="sam@example.org"))
    query = {
        "reference": wanted.reference,
        "first_name": "zoë",
        "last_name": "okafor",
        "email": "ZOE@example.org",
        "course": "salsa on2",
    }[field]

    response = admin_client.get(CHANGELIST, {"q": query})

    assert list(response.context["cl"].result_list) == [wanted]


def test_registrations_cannot_be_deleted_in_admin(admin_client):
    registration = RegistrationFactory()

    delete_page = admin_client.get(reverse("admin:registrations_registration_delete", args=[registration.pk]))
    delete_post = admin_client.post(
        reverse("admin:registrations_registration_delete", args=[registration.pk]), {"post": "yes"}
    )
    bulk = admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [registration.pk], "post": "yes"}
    )
    changelist = admin_client.get(CHANGELIST)

    assert delete_page.status_code == 403
    assert delete_post.status_code == 403
    assert bulk.status_code == 302  # "delete_selected" is not a valid choice: "no action selected"
    assert "delete_selected" not in dict(changelist.context["action_form"].fields["action"].choices)
    assert Registration.objects.filter(pk=registration.pk).exists()
    assert Registration.objects.filter(pk=registration.pk).exists()


def test_registration_has_no_raw_add_form(admin_client):
    assert admin_client.get(reverse("admin:registrations_registration_add")).status_code == 403


def test_registration_change_saves_only_the_transaction_note(admin_client):
    registration = RegistrationFactory(payment_amount=Decimal("120.00"))

    response = admin_client.post(
        change_url(registration),
        {
            "transaction_note": "Venmo 4431",
            "payment_status": Registration.PaymentStatus.COMPLETED,
            "payment_amount": "1.00",
            "reference": "DRP-AAAAAA",
            # The read-only inlines' management forms, as the browser sends them.
            **{
                f"{prefix}-{name}": "0"
                for prefix in ("events", "payments", "refunds", "credit_entries")
                for name in ("TOTAL_FORMS", "INITIAL_FORMS")
            },
        },
    )

    assert response.status_code == 302
    registration.refresh_from_db()
    assert registration.transaction_note == "Venmo 4431"
    assert registration.payment_status == Registration.PaymentStatus.PENDING
    assert registration.payment_amount == Decimal("120.00")
    assert registration.reference != "DRP-AAAAAA"


def test_registration_audit_fields_are_read_only(admin_client):
    registration = RegistrationFactory()

    form = admin_client.get(change_url(registration)).context["adminform"].form

    assert list(form.fields) == ["transaction_note"]


def test_registration_history_inline_is_read_only_and_shows_each_transition(admin_client, admin_user):
    registration = RegistrationFactory(payment_status=Registration.PaymentStatus.CANCELED)
    RegistrationEvent.objects.create(
        registration=registration, to_status=Registration.PaymentStatus.PENDING, actor_label="student"
    )
    RegistrationEvent.objects.create(
        registration=registration,
        from_status=Registration.PaymentStatus.PENDING,
        to_status=Registration.PaymentStatus.CANCELED,
        actor=admin_user,
        reason="<b>asked by phone</b>",
    )

    response = admin_client.get(change_url(registration))

    inline = response.context["inline_admin_formsets"][0]
    html = response.content.decode()
    assert inline.has_add_permission is False
    assert inline.has_change_permission is False
    assert inline.has_delete_permission is False
    assert len(inline.formset.forms) == 2
    assert "student" in html
    assert "&lt;b&gt;asked by phone&lt;/b&gt;" in html
    assert ">admin<" in html  # the staff user who canceled


def test_registration_changelist_filters_by_status(admin_client):
    pending = RegistrationFactory()
    RegistrationFactory(payment_status=Registration.PaymentStatus.COMPLETED)

    response = admin_client.get(CHANGELIST, {"payment_status__exact": "pending"})

    assert list(response.context["cl"].result_list) == [pending]


def test_registration_history_admin_is_read_only(admin_client):
    event = RegistrationEvent.objects.create(
        registration=RegistrationFactory(), to_status=Registration.PaymentStatus.PENDING, actor_label="student"
    )
    url = reverse("admin:registrations_registrationevent_change", args=[event.pk])

    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"reason": "edited"}).status_code == 403
    assert admin_client.get(reverse("admin:registrations_registrationevent_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:registrations_registrationevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    event.refresh_from_db()
    assert event.reason == ""


def test_registration_list_and_page_write_money_and_moments_the_portals_way(admin_client, settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    year = timezone.localdate().year
    due = timezone.make_aware(datetime.datetime(year, 11, 27, 22, 30))
    slot = CourseSlotFactory(day_of_week=1, start_time=datetime.time(19), end_time=datetime.time(20, 30))
    registration = RegistrationFactory(slot=slot, payment_amount=Decimal("2058.00"), payment_due_at=due)
    Registration.objects.filter(pk=registration.pk).update(created_at=due - datetime.timedelta(days=2))
    weekday = f"{due:%a}"

    listed = admin_client.get(CHANGELIST).content.decode()
    page = admin_client.get(change_url(registration)).content.decode()

    for html in (listed, page):
        assert "$2,058.00" in html
        assert f"{weekday}, Nov 27, 10:30 pm" in html  # the seat hold, not "Nov. 27, 2026, 10:30 p.m."
        assert "p.m." not in html
    assert "Tuesdays 7 pm" in listed  # the class
    assert "Tuesdays 7–8:30 pm" in page  # the time slot
