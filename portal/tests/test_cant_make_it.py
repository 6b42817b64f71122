"""The "can't make it" page of the signed link, the portal's classes coming up, the make-up picker and cancelling."""

import pytest
import time_machine
from django.urls import reverse

from attendance.absences import make_token, report_absence
from attendance.makeups import book_makeup
from attendance.models import Absence, ClassSession, MakeUp
from attendance.tests.helpers import HOUR, dated_class, paid, series, starts
from registrations import seats
from students.services import anonymise_student
from students.tests.factories import StudentFactory
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

PORTAL = reverse("portal:home")


def link(session, student):
    return reverse("portal:cant_make_it", args=[make_token(session=session, student=student)])


@pytest.fixture
def house():
    """House L2 (intermediate, 4 weekly classes from next week, full: 1 seat) with Ana paid; returns (slot, sessions,
    ana)."""
    slot, sessions = series(name="House L2", capacity=1)
    ana = paid(slot, student=StudentFactory(first_name="Ana", email="ana@example.org")).student
    return slot, sessions, ana


# --- the signed link -------------------------------------------------------------------------------------------------


def test_get_shows_the_class_and_what_will_happen_and_changes_nothing(client, house):
    slot, sessions, ana = house

    response = client.get(link(sessions[1], ana))

    html = response.content.decode()
    assert response.status_code == 200
    assert "House L2" in html and "Studio A" in html
    assert "Your seat for this class is given back: first to the waitlist, then to drop-ins." in html
    assert "You get a make-up class" in html
    assert 'name="action" value="report"' in html
    assert not Absence.objects.exists()
    assert response["Cache-Control"].startswith("max-age=0")


def test_post_records_the_excused_absence_and_shows_the_make_up(client, house):
    slot, sessions, ana = house

    response = client.post(link(sessions[1], ana), {"action": "report"}, follow=True)

    html = response.content.decode()
    absence = Absence.objects.get()
    assert (absence.session, absence.student, absence.channel, absence.makeup_granted) == (
        sessions[1],
        ana,
        Absence.Channel.EMAIL,
        True,
    )
    assert "Your seat went back, and you get a make-up." in html
    assert reverse("portal:makeup_picker", args=[absence.public_id]) in html
    assert "Undo: I can come after all" in html
    assert seats.seats_left(slot, class_date=sessions[1].session_date) == 1


def test_telling_twice_answers_clearly_and_changes_nothing(client, house):
    _slot, sessions, ana = house
    client.post(link(sessions[1], ana), {"action": "report"})

    response = client.post(link(sessions[1], ana), {"action": "report"})

    assert response.status_code == 409
    assert "You already told us you can&#x27;t make it. Nothing has changed." in response.content.decode()
    assert Absence.objects.count() == 1


def test_undo_from_the_link_gives_the_seat_back_to_the_student(client, house):
    slot, sessions, ana = house
    client.post(link(sessions[1], ana), {"action": "report"})

    response = client.post(link(sessions[1], ana), {"action": "undo"}, follow=True)

    assert "your seat is yours again" in response.content.decode()
    assert Absence.objects.get().undone_at is not None
    assert seats.seats_left(slot, class_date=sessions[1].session_date) == 0


def test_undo_once_the_seat_is_taken_answers_why(client, house):
    slot, sessions, ana = house
    client.post(link(sessions[1], ana), {"action": "report"})
    paid(slot, pricing_type="drop_in", class_date=sessions[1].session_date)

    response = client.post(link(sessions[1], ana), {"action": "undo"})

    assert response.status_code == 409
    assert "Your seat has gone to someone else" in response.content.decode()
    assert Absence.objects.get().undone_at is None


def test_after_the_cut_off_the_page_says_no_make_up_and_the_post_frees_the_seat(client, house):
    _slot, sessions, ana = house

    with time_machine.travel(starts(sessions[0]) - 3 * HOUR, tick=False):
        html = client.get(link(sessions[0], ana)).content.decode()
        client.post(link(sessions[0], ana), {"action": "report"})

    assert "A make-up class comes only when you tell us by" in html
    assert Absence.objects.get().makeup_granted is False


def test_a_class_that_has_started_gets_the_expired_link_page_and_the_post_changes_nothing(client, house):
    _slot, sessions, ana = house

    with time_machine.travel(starts(sessions[0]) + HOUR, tick=False):
        get = client.get(link(sessions[0], ana))
        post = client.post(link(sessions[0], ana), {"action": "report"})

    assert (get.status_code, post.status_code) == (410, 410)
    assert "This class has started" in get.content.decode()
    assert 'value="report"' not in get.content.decode()
    assert not Absence.objects.exists()


def test_a_canceled_class_answers_clearly_and_changes_nothing(client, house):
    _slot, sessions, ana = house
    ClassSession.objects.filter(pk=sessions[0].pk).update(is_canceled=True, canceled_at=sessions[0].created_at)

    response = client.post(link(sessions[0], ana), {"action": "report"})

    assert response.status_code == 410
    assert "This class is canceled" in response.content.decode()
    assert not Absence.objects.exists()


@pytest.mark.parametrize("token", ["garbage", "WzEsMl0:forged-signature", "a" * 300])
def test_a_tampered_link_gets_the_friendly_link_page(client, house, token):
    response = client.get(reverse("portal:cant_make_it", args=[token]))

    assert response.status_code == 404
    assert "This link doesn't work" in response.content.decode()
    assert client.post(reverse("portal:cant_make_it", args=[token]), {"action": "report"}).status_code == 404
    assert not Absence.objects.exists()


def test_an_erased_students_link_stops_working(client, house):
    _slot, sessions, ana = house
    url = link(sessions[0], ana)
    anonymise_student(student=ana)  # paid: still on the roster, anonymised

    response = client.get(url)

    assert response.status_code == 404
    assert "This link doesn't work" in response.content.decode()
    assert client.post(url, {"action": "report"}).status_code == 404
    assert not Absence.objects.exists()


def test_an_unknown_action_changes_nothing(client, house):
    _slot, sessions, ana = house

    response = client.post(link(sessions[0], ana), {"action": "delete-everything"})

    assert response.status_code == 400
    assert not Absence.objects.exists()


def test_the_link_needs_a_csrf_token(house):
    from django.test import Client

    _slot, sessions, ana = house
    response = Client(enforce_csrf_checks=True).post(link(sessions[0], ana), {"action": "report"})

    assert response.status_code == 403
    assert not Absence.objects.exists()


def test_names_are_escaped_on_the_page(client):
    slot, sessions = series(name="<script>alert(1)</script>")
    ana = paid(slot, student=StudentFactory(first_name="<b>Ana</b>")).student

    html = client.get(link(sessions[0], ana)).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "&lt;b&gt;Ana&lt;/b&gt;" in html


def test_a_signed_in_student_telling_us_from_the_portal_is_recorded_as_such(client, sign_in, house):
    _slot, sessions, ana = house
    sign_in(client, ana)

    client.post(link(sessions[0], ana), {"action": "report"})

    assert Absence.objects.get().channel == Absence.Channel.PORTAL


# --- the portal ------------------------------------------------------------------------------------------------------


def test_the_portal_lists_the_classes_coming_up_each_with_cant_make_it(client, sign_in, house):
    _slot, sessions, ana = house
    sign_in(client, ana)

    html = client.get(PORTAL).content.decode()

    assert "Coming up" in html
    for session in sessions:
        assert link(session, ana) in html
    assert html.count("Can't make it?<") == 4


def test_the_portal_offers_the_make_up_to_book_and_marks_the_excused_class(client, sign_in, house):
    _slot, sessions, ana = house
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    sign_in(client, ana)

    html = client.get(PORTAL).content.decode()

    assert "Make-up classes to book" in html
    assert reverse("portal:makeup_picker", args=[absence.public_id]) in html
    assert "Not going" in html
    assert html.count("Can't make it?<") == 3


def test_the_picker_needs_sign_in_and_shows_only_the_students_own_missed_classes(client, sign_in, house):
    _slot, sessions, ana = house
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    picker = reverse("portal:makeup_picker", args=[absence.public_id])

    assert client.get(picker)["Location"] == PORTAL
    sign_in(client, StudentFactory())
    assert client.get(picker).status_code == 404


def test_the_picker_lists_the_classes_and_books_one(client, sign_in, house, mailoutbox):
    _slot, sessions, ana = house
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    other_slot, other = series(name="House L1", difficulty="beginner")
    full_slot, full = series(name="Full L1", difficulty="beginner", capacity=1)
    paid(full_slot)
    sign_in(client, ana)
    picker = reverse("portal:makeup_picker", args=[absence.public_id])

    html = client.get(picker).content.decode()
    assert "Pick a make-up class" in html and "Instead of House L2" in html
    assert html.count('name="session" value=') == 4  # House L1's classes; Full L1's are shown full, without a button
    assert html.count(">Full<") == 4

    response = client.post(picker, {"session": other[1].pk}, follow=True)

    makeup = MakeUp.objects.get()
    assert (makeup.absence, makeup.session) == (absence, other[1])
    assert "Your make-up class is booked: House L1." in response.content.decode()
    assert EmailLog.objects.filter(kind="makeup_booked", to_email=ana.email).exists()
    assert seats.seats_left(other_slot, class_date=other[1].session_date) == other_slot.capacity - 1


@pytest.mark.parametrize(
    "posted",
    # "²" and "١" are digits to str.isdigit() (and "²" to no int()): a class id is ASCII 0-9 only.
    [{}, {"session": "abc"}, {"session": "99999999"}, {"session": "1" * 30}, {"session": "²"}, {"session": "١"}],
)
def test_a_picker_post_without_a_class_is_refused_next_to_the_list(client, sign_in, house, posted):
    _slot, sessions, ana = house
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    sign_in(client, ana)

    response = client.post(reverse("portal:makeup_picker", args=[absence.public_id]), posted)

    assert response.status_code == 400
    assert "Choose one of the classes below." in response.content.decode()
    assert not MakeUp.objects.exists()


def test_a_full_date_is_refused_with_a_message(client, sign_in, house):
    _slot, sessions, ana = house
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    full_slot, full = series(name="Full L1", difficulty="beginner", capacity=1)
    paid(full_slot)
    sign_in(client, ana)

    response = client.post(reverse("portal:makeup_picker", args=[absence.public_id]), {"session": full[0].pk})

    assert response.status_code == 409
    assert "This class is full on that date" in response.content.decode()
    assert not MakeUp.objects.exists()


def test_a_class_not_open_for_the_make_up_is_refused_with_a_message(client, sign_in, house):
    _slot, sessions, ana = house
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    advanced = series(name="House L3", difficulty="advanced")[1]
    sign_in(client, ana)

    response = client.post(reverse("portal:makeup_picker", args=[absence.public_id]), {"session": advanced[0].pk})

    assert response.status_code == 409
    assert "not open to make-ups" in response.content.decode()


def test_a_picker_without_a_make_up_says_why(client, sign_in, house):
    _slot, sessions, ana = house
    with time_machine.travel(starts(sessions[0]) - 3 * HOUR, tick=False):
        absence = report_absence(session=sessions[0], student=ana, channel=Absence.Channel.EMAIL)
    sign_in(client, ana)

    html = client.get(reverse("portal:makeup_picker", args=[absence.public_id])).content.decode()

    assert "This missed class has no make-up to book." in html
    assert 'name="session"' not in html


def test_a_booked_make_up_is_in_the_portal_and_can_be_cancelled_before_its_cut_off(client, sign_in, house):
    _slot, sessions, ana = house
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    _other_slot, other = series(name="House L1", difficulty="beginner")
    makeup = book_makeup(absence=absence, session=other[0])
    sign_in(client, ana)
    cancel = reverse("portal:cancel_makeup", args=[makeup.public_id])

    html = client.get(PORTAL).content.decode()
    assert cancel in html and "Make-up" in html

    response = client.post(cancel, follow=True)

    assert "The make-up is yours again" in response.content.decode()
    assert MakeUp.objects.get().status == MakeUp.Status.CANCELED
    assert "Make-up classes to book" in response.content.decode()


def test_cancelling_a_make_up_after_its_cut_off_is_refused_with_a_message(client, sign_in, house):
    _slot, sessions, ana = house
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    _other_slot, other = series(name="House L1", difficulty="beginner")
    makeup = book_makeup(absence=absence, session=other[0])
    sign_in(client, ana)

    with time_machine.travel(starts(other[0]) - 2 * HOUR, tick=False):
        response = client.post(reverse("portal:cancel_makeup", args=[makeup.public_id]), follow=True)

    assert "it is too late now" in response.content.decode()
    assert MakeUp.objects.get().status == MakeUp.Status.BOOKED


def test_someone_elses_make_up_cannot_be_cancelled(client, sign_in, house):
    _slot, sessions, ana = house
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    makeup = book_makeup(absence=absence, session=series(name="House L1", difficulty="beginner")[1][0])
    sign_in(client, StudentFactory())

    assert client.post(reverse("portal:cancel_makeup", args=[makeup.public_id])).status_code == 404
    assert MakeUp.objects.get().status == MakeUp.Status.BOOKED


def test_a_dated_class_link_works_the_same(client):
    slot, session = dated_class(capacity=1)
    ana = paid(slot, pricing_type="drop_in").student

    client.post(link(session, ana), {"action": "report"})

    assert seats.seats_left(slot) == 1
