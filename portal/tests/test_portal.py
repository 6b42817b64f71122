"""The signed-in portal: own registrations (pay, cancel), waitlist places (leave), profile, crew-only catalog."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration, RegistrationEvent
from registrations.tests.factories import RegistrationFactory
from students.models import Student
from students.tests.factories import CrewMemberFactory, StudentFactory
from studio.models import EmailLog
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

PORTAL = reverse("portal:home")
PROFILE = reverse("portal:profile")
PaymentStatus = Registration.PaymentStatus


def cancel_url(registration):
    return reverse("portal:cancel_registration", args=[registration.public_id])


def leave_url(entry):
    return reverse("portal:leave_waitlist", args=[entry.public_id])


@pytest.fixture
def ana():
    return StudentFactory(email="ana@example.org", first_name="Ana", last_name="Lima", phone="+1 415 555 0100")


@pytest.fixture
def eve():
    return StudentFactory(email="eve@example.org", first_name="Eve")


# What the portal shows


def test_signed_out_portal_shows_only_the_sign_in_form(client, ana):
    RegistrationFactory(student=ana)

    html = client.get(PORTAL).content.decode()

    assert "Email me a sign-in link" in html
    assert "ana@example.org" not in html
    assert Registration.objects.get().reference not in html


def test_portal_lists_registrations_with_status_amount_reference_schedule_and_payment_link(client, sign_in, ana):
    slot = priced_slot(course=CourseFactory(name="House L1"), location="Studio A")
    pending = RegistrationFactory(student=ana, slot=slot, payment_amount=Decimal("120.00"))
    paid = RegistrationFactory(student=ana, payment_status=PaymentStatus.COMPLETED, payment_amount=Decimal("35.50"))

    html = sign_in(client, ana).get(PORTAL).content.decode()

    assert "House L1" in html and paid.course.name in html
    assert pending.reference in html and paid.reference in html
    assert "$120" in html and "$35.50" in html
    assert "Pending payment" in html and "Paid" in html
    assert "Studio A" in html
    assert "7–8:30 pm" in html  # the schedule in words
    assert reverse("registrations:detail", args=[pending.public_id]) in html
    assert cancel_url(pending) in html
    assert cancel_url(paid) not in html  # only pending ones can be canceled


def test_portal_shows_canceled_and_expired_registrations_apart_without_actions(client, sign_in, ana):
    canceled = RegistrationFactory(student=ana, payment_status=PaymentStatus.CANCELED)

    html = sign_in(client, ana).get(PORTAL).content.decode()

    assert "History" in html
    assert canceled.reference in html
    assert cancel_url(canceled) not in html


def test_portal_never_shows_another_students_registrations_or_waitlist_places(client, sign_in, ana, eve):
    theirs = RegistrationFactory(student=eve)
    their_place = WaitlistEntryFactory(student=eve, course=CourseFactory(name="Secret Waltz"))

    html = sign_in(client, ana).get(PORTAL).content.decode()

    assert theirs.reference not in html
    assert "eve@example.org" not in html
    assert "Secret Waltz" not in html
    assert leave_url(their_place) not in html


def test_portal_shows_names_with_markup_escaped(client, sign_in):
    student = StudentFactory(first_name="<script>alert(1)</script>", last_name="O'Brien")

    html = sign_in(client, student).get(PORTAL).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_portal_pages_are_not_cached(client, sign_in, ana):
    response = sign_in(client, ana).get(PORTAL)

    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_every_page_links_to_my_registrations(client):
    html = client.get(reverse("registrations:catalog")).content.decode()

    assert f'href="{PORTAL}"' in html
    assert "My registrations" in html


# Cancel


def test_cancel_asks_first_then_cancels_a_pending_registration(
    client, sign_in, ana, django_capture_on_commit_callbacks
):
    registration = RegistrationFactory(student=ana)
    sign_in(client, ana)

    confirm = client.get(cancel_url(registration))
    assert confirm.status_code == 200
    assert "Cancel this registration?" in confirm.content.decode()
    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel_url(registration))

    assert response.status_code == 302
    assert response.url == PORTAL
    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.CANCELED
    assert registration.canceled_by is None
    event = RegistrationEvent.objects.get(registration=registration, to_status=PaymentStatus.CANCELED)
    assert event.actor_label == "student"
    assert EmailLog.objects.filter(kind="registration_canceled", to_email="ana@example.org").exists()
    assert "is canceled" in client.get(PORTAL).content.decode()


def test_cancel_of_a_paid_registration_is_refused_and_changes_nothing(client, sign_in, ana):
    registration = RegistrationFactory(student=ana, payment_status=PaymentStatus.COMPLETED)
    sign_in(client, ana)

    response = client.post(cancel_url(registration), follow=True)

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.COMPLETED
    assert "can only be canceled by the studio" in response.content.decode()
    assert client.get(cancel_url(registration)).status_code == 302  # no confirmation page either


@pytest.mark.parametrize("status", [PaymentStatus.EXPIRED, PaymentStatus.CANCELED])
def test_cancel_of_a_closed_registration_changes_nothing(client, sign_in, ana, status):
    registration = RegistrationFactory(student=ana, payment_status=status)
    sign_in(client, ana)

    response = client.post(cancel_url(registration))

    assert response.status_code == 302
    registration.refresh_from_db()
    assert registration.payment_status == status
    assert not RegistrationEvent.objects.filter(registration=registration).exists()


def test_cancel_of_another_students_registration_is_404_and_changes_nothing(client, sign_in, ana, eve):
    theirs = RegistrationFactory(student=eve)
    sign_in(client, ana)

    assert client.get(cancel_url(theirs)).status_code == 404
    assert client.post(cancel_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.payment_status == PaymentStatus.PENDING


def test_cancel_of_an_unknown_registration_is_404(client, sign_in, ana):
    sign_in(client, ana)

    assert client.post(reverse("portal:cancel_registration", args=[uuid.uuid4()])).status_code == 404
    assert client.get("/me/registrations/1/cancel/").status_code == 404  # numeric ids are not URLs


def test_cancel_without_signing_in_sends_to_the_sign_in_page_and_changes_nothing(client, ana):
    registration = RegistrationFactory(student=ana)

    response = client.post(cancel_url(registration))

    assert response.status_code == 302
    assert response.url == PORTAL
    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.PENDING


def test_cancel_needs_the_csrf_token(sign_in, ana):
    registration = RegistrationFactory(student=ana)
    strict = Client(enforce_csrf_checks=True)
    session_client = sign_in(Client(), ana)
    strict.cookies = session_client.cookies

    assert strict.post(cancel_url(registration)).status_code == 403
    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.PENDING


# Waitlist


def test_portal_shows_waitlist_position_and_leaving_renumbers_the_rest(client, sign_in, ana, eve):
    course = CourseFactory(name="Popping L2")
    first = WaitlistEntryFactory(student=eve, course=course, waitlist_position=1)
    mine = WaitlistEntryFactory(student=ana, course=course, waitlist_position=2)
    last = WaitlistEntryFactory(course=course, waitlist_position=3)
    sign_in(client, ana)

    html = client.get(PORTAL).content.decode()
    assert "Popping L2" in html
    assert "You are number 2 on the waitlist" in html

    response = client.post(leave_url(mine))

    assert response.status_code == 302
    mine.refresh_from_db()
    first.refresh_from_db()
    last.refresh_from_db()
    assert mine.status == WaitlistEntry.Status.LEFT
    assert (first.waitlist_position, last.waitlist_position) == (1, 2)
    assert "on the waitlist." not in client.get(PORTAL).content.decode()


def test_portal_shows_an_outstanding_offer_with_its_deadline(client, sign_in, ana):
    course = CourseFactory(name="Popping L2")
    slot = priced_slot(course=course)
    WaitlistEntryFactory(
        student=ana,
        course=course,
        status=WaitlistEntry.Status.OFFERED,
        waitlist_position=None,
        offer_slot=slot,
        offer_token_hash="a" * 64,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + datetime.timedelta(hours=48),
    )

    html = sign_in(client, ana).get(PORTAL).content.decode()

    assert "A seat is held for you!" in html


def test_leaving_another_students_waitlist_place_is_404_and_changes_nothing(client, sign_in, ana, eve):
    theirs = WaitlistEntryFactory(student=eve, waitlist_position=1)
    sign_in(client, ana)

    assert client.post(leave_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == WaitlistEntry.Status.WAITING


def test_leaving_a_waitlist_needs_a_post_and_a_sign_in(client, ana):
    entry = WaitlistEntryFactory(student=ana, waitlist_position=1)

    assert client.get(leave_url(entry)).status_code == 405
    assert client.post(leave_url(entry)).status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING


# Profile


def profile_data(**changes):
    return {
        "first_name": "Ana Maria",
        "last_name": "Lima",
        "phone": "+1 415 555 0199",
        "instagram_handle": "@ana.dances",
        "dance_experience": "intermediate",
        **changes,
    }


def test_profile_update_saves_the_fields(client, sign_in, ana):
    sign_in(client, ana)

    response = client.post(PROFILE, profile_data())

    assert response.status_code == 302
    ana.refresh_from_db()
    assert (ana.first_name, ana.phone, ana.instagram_handle, ana.dance_experience) == (
        "Ana Maria",
        "+1 415 555 0199",
        "ana.dances",
        "intermediate",
    )
    assert ana.profile_complete


def test_profile_complete_follows_the_phone_number(client, sign_in, ana):
    sign_in(client, ana)

    client.post(PROFILE, profile_data(phone=""))
    ana.refresh_from_db()
    assert not ana.profile_complete

    client.post(PROFILE, profile_data(phone="+1 415 555 0100"))
    ana.refresh_from_db()
    assert ana.profile_complete


def test_profile_update_never_changes_the_email_or_the_student_type(client, sign_in, ana):
    sign_in(client, ana)

    client.post(
        PROFILE,
        profile_data(email="eve@example.org", student_type="crew_member", admin_classified="on", profile_complete=""),
    )

    ana.refresh_from_db()
    assert ana.email == "ana@example.org"
    assert ana.student_type == Student.StudentType.GENERAL
    assert not ana.admin_classified


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", ""),
        ("last_name", "   "),
        ("first_name", "x" * 101),
        ("first_name", "Ana\x00"),
        ("last_name", "Lima\r\nBcc: victim@example.org"),
        ("phone", "call me maybe"),
        ("instagram_handle", "ana dances!"),
        ("dance_experience", "guru"),
    ],
)
def test_profile_update_with_a_bad_value_shows_the_error_and_changes_nothing(client, sign_in, ana, field, value):
    sign_in(client, ana).get(PORTAL)
    before = Student.objects.values().get(pk=ana.pk)

    response = client.post(PROFILE, profile_data(**{field: value}))

    assert response.status_code == 200
    assert "Please check the fields marked below." in response.content.decode()
    assert Student.objects.values().get(pk=ana.pk) == before


def test_profile_update_keeps_accents_and_emoji(client, sign_in, ana):
    sign_in(client, ana)

    client.post(PROFILE, profile_data(first_name="Zoë 💃", last_name="محمد"))

    ana.refresh_from_db()
    assert (ana.first_name, ana.last_name) == ("Zoë 💃", "محمد")


def test_profile_update_needs_a_sign_in(client, ana):
    response = client.post(PROFILE, profile_data(first_name="Mallory"))

    assert response.status_code == 302
    ana.refresh_from_db()
    assert ana.first_name == "Ana"


def test_profile_update_changes_only_the_signed_in_student(client, sign_in, ana, eve):
    sign_in(client, ana)

    client.post(PROFILE, profile_data(first_name="Changed"))

    eve.refresh_from_db()
    assert eve.first_name == "Eve"


# Crew-only classes (the catalog reads the portal session)


@pytest.fixture
def crew_course():
    course = CourseFactory(
        name="Crew Practice",
        course_type=Course.CourseType.CREW_PRACTICE,
        required_student_type=Course.RequiredStudentType.CREW_MEMBER,
    )
    priced_slot(course=course, full_package="0", drop_in=None)
    return course


def test_signed_in_crew_member_sees_crew_only_classes_in_the_catalog(client, sign_in, crew_course):
    sign_in(client, CrewMemberFactory())

    assert "Crew Practice" in client.get(reverse("registrations:catalog")).content.decode()
    assert client.get(crew_course.get_absolute_url()).status_code == 200


def test_signed_in_general_student_does_not_see_crew_only_classes(client, sign_in, crew_course):
    sign_in(client, StudentFactory())

    assert "Crew Practice" not in client.get(reverse("registrations:catalog")).content.decode()
    assert client.get(crew_course.get_absolute_url()).status_code == 404


def test_signed_out_visitor_does_not_see_crew_only_classes_even_with_a_crew_email(client, crew_course):
    CrewMemberFactory(email="crew@example.org")

    assert "Crew Practice" not in client.get(reverse("registrations:catalog")).content.decode()
    assert client.get(crew_course.get_absolute_url()).status_code == 404


def test_signing_out_hides_crew_only_classes_again(client, sign_in, crew_course):
    sign_in(client, CrewMemberFactory())
    client.post(reverse("students:sign_out"))

    assert "Crew Practice" not in client.get(reverse("registrations:catalog")).content.decode()


def test_the_portal_keeps_canceled_and_finished_registrations_in_a_history(client, sign_in):
    import datetime

    from django.utils import timezone

    from courses.tests.factories import CourseFactory, priced_slot
    from registrations.tests.factories import RegistrationFactory

    canceled = RegistrationFactory(payment_status="canceled")
    student = canceled.student
    ended = CourseFactory(
        start_date=timezone.localdate() - datetime.timedelta(days=40),
        end_date=timezone.localdate() - datetime.timedelta(days=10),
    )
    finished = RegistrationFactory(student=student, slot=priced_slot(course=ended), payment_status="completed")

    html = sign_in(client, student).get(PORTAL).content.decode()

    classes, history = html.split('id="history-title"', 1)
    assert "You have no upcoming classes." in classes
    assert canceled.reference not in classes and finished.reference not in classes
    assert canceled.reference in history and "Canceled" in history
    assert finished.reference in history
