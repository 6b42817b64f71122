import datetime
import hashlib

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from courses.tests.factories import CourseFactory, priced_slot
from registrations.models import Registration
from registrations.transitions import cancel_registration
from students.session import SESSION_KEY
from students.tests.factories import CrewMemberFactory, StudentFactory
from studio.models import EmailLog, SystemSetting
from waitlist import offers, services
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory, full_slot, offer_token, student_details

pytestmark = pytest.mark.django_db

Status = WaitlistEntry.Status


def set_setting(key, value):
    SystemSetting.objects.update_or_create(setting_key=key, defaults={"setting_value": value})


def sign_in(client, student):
    session = client.session
    session[SESSION_KEY] = student.pk
    session.save()


def join_data(n="a", **overrides):
    return {
        "email": f"waiter{n}@example.org",
        "first_name": f"Waiter{n}",
        "last_name": "Lima",
        "phone": "+1 415 555 0100",
        "instagram_handle": "",
        "preferred_slot": "",
        **overrides,
    }


def join_url(course):
    return reverse("waitlist:join", args=[course.pk])


def offer_url(token):
    return reverse("waitlist:offer", args=[token])


@pytest.fixture
def offered(commit):
    """A full slot whose freed seat was offered to waitera; waiterb waits behind. Returns (slot, entry, token)."""
    slot = full_slot()
    for n in "ab":
        services.join_waitlist(course=slot.course, details=student_details(n))
    with commit():
        cancel_registration(registration=slot.seat_holders[0], reason="test")
    entry = WaitlistEntry.objects.get(student__email="waitera@example.org")
    assert entry.status == Status.OFFERED
    return slot, entry, offer_token("waitera@example.org")


# --- the course page -------------------------------------------------------------------------------------------------


def test_full_course_page_shows_the_join_form_with_any_or_one_slot(client):
    slot = full_slot()

    html = client.get(slot.course.get_absolute_url()).content.decode()

    assert "Join the waitlist" in html
    assert f'action="{join_url(slot.course)}"' in html
    assert 'id="waitlist_email"' in html
    assert "coming soon" not in html


def test_course_page_with_free_seats_shows_no_join_form(client):
    slot = priced_slot()

    html = client.get(slot.course.get_absolute_url()).content.decode()

    assert "registration-form" in html
    assert "waitlist-form" not in html


def test_course_page_shows_no_join_form_when_registration_is_closed(client):
    slot = full_slot()
    set_setting("registration_open", "false")

    html = client.get(slot.course.get_absolute_url()).content.decode()

    assert "Registration is closed." in html
    assert "waitlist-form" not in html


def test_course_page_prefills_both_forms_for_a_signed_in_student_only(client):
    slot = full_slot()
    student = StudentFactory(email="me@example.org", first_name="Zoë", phone="+1 415 555 0199")

    anonymous = client.get(slot.course.get_absolute_url()).content.decode()
    sign_in(client, student)
    signed_in = client.get(slot.course.get_absolute_url()).content.decode()

    assert 'value="me@example.org"' not in anonymous
    assert 'id="waitlist_email"' in signed_in and 'value="me@example.org"' in signed_in
    assert 'value="Zoë"' in signed_in


def test_course_page_registration_prefilled_for_a_signed_in_student_updates_their_profile(client):
    slot = priced_slot()
    student = StudentFactory(email="me@example.org", first_name="Old")
    sign_in(client, student)
    html = client.get(slot.course.get_absolute_url()).content.decode()
    assert 'value="me@example.org"' in html

    response = client.post(
        reverse("registrations:create", args=[slot.course.pk]),
        {
            "slot": slot.pk,
            "pricing_type": "full_package",
            "payment_method": "venmo",
            "email": "me@example.org",
            "first_name": "New",
            "last_name": "Lima",
        },
    )

    assert response.status_code == 302
    student.refresh_from_db()
    assert student.first_name == "New"  # verified: may overwrite


def test_signed_in_crew_member_sees_a_crew_only_course_and_may_join_its_waitlist(client):
    slot = full_slot(course=CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER))
    crew = CrewMemberFactory(email="crew@example.org")
    assert client.get(slot.course.get_absolute_url()).status_code == 404
    sign_in(client, crew)

    assert client.get(slot.course.get_absolute_url()).status_code == 200
    response = client.post(join_url(slot.course), join_data(email="crew@example.org"))

    assert response.status_code == 302
    assert WaitlistEntry.objects.get().student == crew


def test_registration_refused_as_full_shows_the_join_form_filled_in(client):
    slot = full_slot()

    response = client.post(
        reverse("registrations:create", args=[slot.course.pk]),
        {
            "slot": slot.pk,
            "pricing_type": "full_package",
            "payment_method": "venmo",
            "email": "late@example.org",
            "first_name": "Late",
            "last_name": "Comer",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "This class is full." in html
    assert 'id="waitlist_email"' in html and 'value="late@example.org"' in html
    assert not Registration.objects.filter(student__email="late@example.org").exists()


# --- joining ------------------------------------------------------------------------------------------------------


def test_join_redirects_to_the_entry_page_with_the_position_and_emails_it(client):
    slot = full_slot()
    WaitlistEntryFactory(course=slot.course, waitlist_position=1)

    response = client.post(join_url(slot.course), join_data(preferred_slot=slot.pk, website=""), follow=True)

    entry = WaitlistEntry.objects.get(student__email="waitera@example.org")
    assert response.redirect_chain == [(entry.get_absolute_url(), 302)]
    html = response.content.decode()
    assert "You're on the waitlist" in html
    assert "#2" in html
    assert entry.preferred_slot == slot
    assert EmailLog.objects.filter(kind="waitlist_joined", to_email="waitera@example.org").exists()


def test_join_twice_answers_already_on_the_list_without_a_second_entry(client):
    slot = full_slot()
    client.post(join_url(slot.course), join_data())

    response = client.post(join_url(slot.course), join_data(first_name="Someone else"))

    assert response.status_code == 200
    assert "already on the waitlist for this course; we emailed you" in response.content.decode()
    assert WaitlistEntry.objects.count() == 1
    assert WaitlistEntry.objects.get().student.first_name == "Waitera"


def test_join_shows_field_errors_next_to_the_fields_and_writes_nothing(client):
    slot = full_slot()

    response = client.post(join_url(slot.course), join_data(email="nope", first_name="x" * 101))

    form = response.context["waitlist_form"]
    assert set(form.errors) == {"email", "first_name"}
    assert not WaitlistEntry.objects.exists()


def test_join_ignores_extra_fields_and_rejects_a_slot_of_another_course(client):
    slot = full_slot()
    other = full_slot()

    response = client.post(join_url(slot.course), join_data(preferred_slot=other.pk, waitlist_position="1"))

    assert "preferred_slot" in response.context["waitlist_form"].errors
    assert not WaitlistEntry.objects.exists()


def test_join_honeypot_filled_is_refused(client):
    slot = full_slot()

    client.post(join_url(slot.course), join_data(website="http://spam"))

    assert not WaitlistEntry.objects.exists()


def test_join_of_a_crew_only_course_by_an_anonymous_visitor_is_404(client):
    slot = full_slot(course=CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER))
    CrewMemberFactory(email="waitera@example.org")

    response = client.post(join_url(slot.course), join_data())

    assert response.status_code == 404
    assert not WaitlistEntry.objects.exists()


def test_join_when_registration_is_closed_says_so(client):
    slot = full_slot()
    set_setting("registration_open", "false")

    response = client.post(join_url(slot.course), join_data())

    assert response.status_code == 200
    assert not WaitlistEntry.objects.exists()


def test_join_is_post_only_and_404_for_an_unknown_course(client):
    slot = full_slot()

    assert client.get(join_url(slot.course)).status_code == 405
    assert client.post(reverse("waitlist:join", args=[999999]), join_data()).status_code == 404


def test_join_without_csrf_token_is_refused():
    slot = full_slot()

    response = Client(enforce_csrf_checks=True).post(join_url(slot.course), join_data())

    assert response.status_code == 403
    assert not WaitlistEntry.objects.exists()


def test_join_is_rate_limited_per_client(client, settings):
    slot = full_slot()
    for n in range(20):
        client.post(join_url(slot.course), join_data(n))

    response = client.post(join_url(slot.course), join_data("last"))

    assert response.status_code == 429
    assert not WaitlistEntry.objects.filter(student__email="waiterlast@example.org").exists()


# --- the entry page -------------------------------------------------------------------------------------------------


def test_entry_page_shows_status_and_no_personal_data(client):
    entry = WaitlistEntryFactory(student=StudentFactory(first_name="Secret", phone="+1 415 555 0123"))

    html = client.get(entry.get_absolute_url()).content.decode()

    assert entry.course.name in html
    assert "Secret" not in html and "555 0123" not in html and entry.student.email not in html


def test_entry_page_of_an_unknown_id_is_404(client):
    assert client.get("/waitlist/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/waitlist/12/").status_code == 404


def test_leaving_from_the_entry_page_renumbers_and_is_idempotent(client):
    slot = full_slot()
    first = services.join_waitlist(course=slot.course, details=student_details("a"))
    second = services.join_waitlist(course=slot.course, details=student_details("b"))
    url = reverse("waitlist:leave", args=[first.public_id])

    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    client.post(url)

    assert "You have left the waitlist." in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.waitlist_position) == (Status.LEFT, 1)


# --- the offer page ------------------------------------------------------------------------------------------------


def test_offer_get_shows_class_price_and_expiry_and_changes_nothing(client, offered):
    slot, entry, token = offered

    def state():
        return WaitlistEntry.objects.get(pk=entry.pk).updated_at, Registration.objects.count(), EmailLog.objects.count()

    before = state()

    for _ in range(2):
        response = client.get(offer_url(token))

    html = response.content.decode()
    assert response.status_code == 200
    assert slot.course.name in html and "$120" in html and "Accept the seat" in html
    assert "holding this seat for you until" in html
    assert response["Cache-Control"].startswith("max-age=0")
    assert state() == before


def test_offer_accept_registers_and_redirects_to_the_payment_page(client, offered):
    slot, entry, token = offered

    response = client.post(offer_url(token), {"action": "accept", "payment_method": "venmo"})

    registration = Registration.objects.get(student=entry.student)
    assert response.status_code == 302
    assert response["Location"] == registration.get_absolute_url()
    assert registration.slot == slot
    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.ACCEPTED


def test_offer_reused_after_accepting_says_already_used_and_registers_once(client, offered):
    _slot, entry, token = offered
    client.post(offer_url(token), {"action": "accept", "payment_method": "venmo"})

    again = client.post(offer_url(token), {"action": "accept", "payment_method": "venmo"})
    page = client.get(offer_url(token))

    assert again.status_code == page.status_code == 410
    assert "already been used" in page.content.decode()
    assert Registration.objects.filter(student=entry.student).count() == 1


def test_offer_accept_needs_a_payment_method(client, offered):
    _slot, entry, token = offered

    response = client.post(offer_url(token), {"action": "accept"})

    assert response.status_code == 200
    assert response.context["form"].errors["payment_method"]
    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.OFFERED


def test_offer_accept_ignores_a_tampered_slot_or_course_and_uses_the_offer(client, offered):
    slot, entry, token = offered
    other = priced_slot(full_package="1.00")

    client.post(
        offer_url(token),
        {"action": "accept", "payment_method": "venmo", "slot": other.pk, "course": other.course.pk, "amount": "0"},
    )

    registration = Registration.objects.get(student=entry.student)
    assert (registration.slot, registration.course) == (slot, slot.course)
    assert str(registration.payment_amount) == "120.00"


def test_offer_of_course_a_shows_course_a_whatever_else_is_in_the_request(client, offered):
    slot, _entry, token = offered
    other = priced_slot()

    response = client.get(offer_url(token), {"course": other.course.pk})

    assert slot.course.name in response.content.decode()
    assert other.course.name not in response.content.decode()


def test_offer_decline_passes_the_seat_on_and_shows_a_friendly_page(client, offered, commit):
    _slot, entry, token = offered

    with commit():
        response = client.post(offer_url(token), {"action": "decline"}, follow=True)

    assert response.status_code == 200
    assert "offered the seat to the next person" in response.content.decode()
    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.DECLINED
    assert WaitlistEntry.objects.get(student__email="waiterb@example.org").status == Status.OFFERED


def test_offer_expired_shows_the_expiry_and_accepting_it_registers_nothing(client, offered, commit):
    _slot, entry, token = offered
    WaitlistEntry.objects.filter(pk=entry.pk).update(offer_expires_at=timezone.now() - datetime.timedelta(hours=1))

    page = client.get(offer_url(token))
    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.OFFERED  # GET changes nothing
    with commit():
        response = client.post(offer_url(token), {"action": "accept", "payment_method": "venmo"})

    assert page.status_code == response.status_code == 410
    assert "This offer has expired" in response.content.decode()
    assert not Registration.objects.filter(student=entry.student).exists()
    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.EXPIRED
    assert WaitlistEntry.objects.get(student__email="waiterb@example.org").status == Status.OFFERED


def test_offer_revoked_by_the_studio_says_withdrawn(client, offered):
    _slot, entry, token = offered
    offers.revoke_offers(entries=[entry])

    response = client.get(offer_url(token))

    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()


@pytest.mark.parametrize(
    "token",
    ["abc", "x" * 10_000, "%27%20OR%201%3D1%20--" + "x" * 40, "é" * 43, "0" * 43, "%00" * 43],
)
def test_offer_with_a_garbage_or_unknown_token_is_a_friendly_404(client, token):
    WaitlistEntryFactory(offer_token_hash=hashlib.sha256(b"0" * 43).hexdigest()[::-1])

    response = client.get(f"/waitlist/offer/{token}/")
    post = client.post(f"/waitlist/offer/{token}/", {"action": "accept", "payment_method": "venmo"})

    assert response.status_code == post.status_code == 404
    assert "offer link is not valid" in response.content.decode()
    assert not Registration.objects.exists()


def test_offer_url_with_a_path_in_the_token_is_404(client):
    assert client.get("/waitlist/offer/..%2F..%2Fetc%2Fpasswd/").status_code == 404


def test_offer_post_without_csrf_is_refused(offered):
    _slot, entry, token = offered

    response = Client(enforce_csrf_checks=True).post(offer_url(token), {"action": "accept", "payment_method": "venmo"})

    assert response.status_code == 403
    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.OFFERED


def test_offer_page_escapes_the_course_name(client, commit):
    slot = full_slot(course=CourseFactory(name="<script>alert(1)</script>"))
    services.join_waitlist(course=slot.course, details=student_details("a"))
    with commit():
        cancel_registration(registration=slot.seat_holders[0])

    html = client.get(offer_url(offer_token("waitera@example.org"))).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


def test_offer_page_is_rate_limited_per_client(client):
    for _ in range(30):
        client.get(offer_url("x" * 43))

    assert client.get(offer_url("x" * 43)).status_code == 429


def test_course_page_with_one_full_slot_next_to_a_free_one_offers_only_the_full_slot_to_wait_for(client):
    course = CourseFactory()
    full = full_slot(course=course)
    free = priced_slot(course=course, start_time=datetime.time(17), end_time=datetime.time(18))

    form = client.get(course.get_absolute_url()).context["waitlist_form"]

    choices = [value for value, _label in form.fields["preferred_slot"].choices]
    assert choices == [full.pk]
    assert form.fields["preferred_slot"].required
    response = client.post(join_url(course), join_data(preferred_slot=free.pk))
    assert "preferred_slot" in response.context["waitlist_form"].errors
    response = client.post(join_url(course), join_data(preferred_slot=full.pk))
    assert response.status_code == 302
