"""Can't make it: the signed link's token, the excused absence and its seat, the make-up it earns, undo."""

import datetime

import pytest
import time_machine
from django.core import signing

from attendance import absences
from attendance.absences import (
    AlreadyExcused,
    ClassCanceled,
    ClassStarted,
    NotRegistered,
    UndoRefused,
    absence_state,
    make_token,
    makeups_left,
    read_token,
    report_absence,
    undo_absence,
)
from attendance.makeups import book_makeup
from attendance.models import Absence, ClassSession
from attendance.selectors import session_roster
from attendance.services import cancel_session
from attendance.tests.helpers import DAY, HOUR, dated_class, paid, series, set_setting, starts
from courses.models import CatalogVersion
from registrations import seats
from registrations.errors import SlotFull
from registrations.models import Registration
from registrations.services import register_student
from registrations.tests.factories import RegistrationFactory
from registrations.transitions import cancel_registration
from students.services import StudentDetails
from students.tests.factories import StudentFactory
from waitlist.models import WaitlistEntry
from waitlist.services import join_waitlist
from waitlist.tests.factories import student_details

pytestmark = pytest.mark.django_db

EMAIL = Absence.Channel.EMAIL


def tell(session, student, channel=EMAIL):
    return report_absence(session=session, student=student, channel=channel)


# --- the signed link -------------------------------------------------------------------------------------------------


def test_a_token_names_its_class_and_student_and_nothing_else_reads_as_one():
    slot, sessions = series()
    student = paid(slot).student

    token = make_token(session=sessions[1], student=student)

    assert read_token(token) == (sessions[1], student)
    assert len(token) < absences.TOKEN_MAX_LENGTH


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "x" * 500,
        "' OR 1=1 --",
        signing.dumps([1, 1], salt="students.portal.sign_in_link"),  # a signature made for something else
        signing.dumps("1:1", salt=absences.TOKEN_SALT),  # the right salt, the wrong shape
        signing.dumps([1, True], salt=absences.TOKEN_SALT),
        signing.dumps([999999, 999999], salt=absences.TOKEN_SALT),  # rows that do not exist
    ],
)
def test_a_tampered_garbled_or_foreign_token_reads_as_nothing(token):
    assert read_token(token) is None


def test_a_token_with_its_ids_swapped_fails_its_signature():
    slot, sessions = series()
    student = paid(slot).student
    payload, signature = make_token(session=sessions[0], student=student).split(":", 1)
    forged = signing.b64_encode(f"[{sessions[1].pk},{student.pk}]".encode()).decode()

    assert read_token(f"{forged}:{signature}") is None


# --- telling us ------------------------------------------------------------------------------------------------------


def test_cant_make_it_gives_the_seat_back_on_that_date_only_and_earns_a_make_up():
    slot, sessions = series(capacity=2)
    ana, _ben = paid(slot).student, paid(slot).student
    version = CatalogVersion.objects.filter(course=slot.course).values_list("version", flat=True).first() or 0

    absence = tell(sessions[1], ana)

    assert (absence.registration.student, absence.makeup_granted, absence.undone_at) == (ana, True, None)
    assert seats.seats_left(slot, class_date=sessions[1].session_date) == 1
    assert seats.seats_left(slot, class_date=sessions[2].session_date) == 0
    assert seats.seats_left(slot) == 0  # a full package needs every date
    assert CatalogVersion.objects.get(course=slot.course).version > version  # cached pages show the seat


def test_the_seat_given_back_on_a_series_is_a_drop_in_seat_at_once_even_with_a_waitlist():
    slot, sessions = series(capacity=1)
    ana = paid(slot).student
    join_waitlist(course=slot.course, details=student_details("wendy"))
    tell(sessions[1], ana)

    # The waiting student wants the whole series, which has no seat: the one-date seat is a drop-in's.
    assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.WAITING
    registration = register_student(
        course=slot.course,
        slot=slot,
        pricing_type="drop_in",
        payment_method="venmo",
        class_date=sessions[1].session_date,
        details=StudentDetails(email="dee@example.org", first_name="Dee", last_name="Drop"),
    )
    assert registration.class_date == sessions[1].session_date
    with pytest.raises(SlotFull):
        register_student(
            course=slot.course,
            slot=slot,
            pricing_type="drop_in",
            payment_method="venmo",
            class_date=sessions[2].session_date,
            details=StudentDetails(email="eve@example.org", first_name="Eve", last_name="Drop"),
        )


def test_on_a_dated_class_the_seat_given_back_goes_to_the_waitlist_first(django_capture_on_commit_callbacks):
    slot, session = dated_class(capacity=1)
    ana = paid(slot, pricing_type="drop_in").student
    join_waitlist(course=slot.course, details=student_details("wendy"))

    with django_capture_on_commit_callbacks(execute=True):
        tell(session, ana)

    entry = WaitlistEntry.objects.get()
    assert (entry.status, entry.offer_slot) == (WaitlistEntry.Status.OFFERED, slot)
    assert seats.seats_left(slot) == 0  # the offer holds the seat


def test_told_after_the_cut_off_the_seat_is_freed_but_no_make_up_is_given():
    slot, sessions = series(capacity=1)
    ana = paid(slot).student

    with time_machine.travel(starts(sessions[0]) - 11 * HOUR, tick=False):
        absence = tell(sessions[0], ana)
        assert seats.seats_left(slot, class_date=sessions[0].session_date) == 1

    assert absence.makeup_granted is False


def test_the_cut_off_is_a_studio_setting():
    set_setting("makeup_cutoff_hours", 48)
    slot, sessions = series()
    ana = paid(slot).student

    with time_machine.travel(starts(sessions[0]) - 47 * HOUR, tick=False):
        assert tell(sessions[0], ana).makeup_granted is False
    with time_machine.travel(starts(sessions[1]) - 49 * HOUR, tick=False):
        assert tell(sessions[1], ana).makeup_granted is True


def test_a_registration_earns_as_many_make_ups_as_the_studio_allows():
    slot, sessions = series()
    ana = paid(slot).student

    granted = [tell(session, ana).makeup_granted for session in sessions[:3]]

    assert granted == [True, True, False]  # makeups_per_registration = 2
    assert absence_state(sessions[3], ana).earns_makeup is False


def test_no_make_ups_when_the_studio_gives_none():
    set_setting("makeups_per_registration", 0)
    slot, sessions = series()
    ana = paid(slot).student

    assert tell(sessions[0], ana).makeup_granted is False


def test_an_unpaid_registration_gives_its_seat_back_without_a_make_up():
    slot, sessions = series(capacity=1)
    ana = RegistrationFactory(slot=slot).student  # pending, its hold running

    absence = tell(sessions[0], ana)

    assert absence.makeup_granted is False
    assert seats.seats_left(slot, class_date=sessions[0].session_date) == 1


def test_a_class_that_has_started_cannot_be_given_back():
    slot, sessions = series()
    ana = paid(slot).student

    with time_machine.travel(starts(sessions[0]) + 5 * datetime.timedelta(minutes=1), tick=False):
        with pytest.raises(ClassStarted):
            tell(sessions[0], ana)

    assert not Absence.objects.exists()


def test_a_canceled_class_cannot_be_given_back():
    slot, sessions = series()
    ana = paid(slot).student
    cancel_session(session=sessions[0])

    with pytest.raises(ClassCanceled):
        tell(sessions[0], ana)

    assert not Absence.objects.exists()


def test_telling_twice_changes_nothing():
    slot, sessions = series(capacity=1)
    ana = paid(slot).student
    first = tell(sessions[0], ana)

    with pytest.raises(AlreadyExcused):
        tell(sessions[0], ana)

    assert list(Absence.objects.all()) == [first]
    assert seats.seats_left(slot, class_date=sessions[0].session_date) == 1


@pytest.mark.parametrize("who", ["stranger", "canceled", "late_joiner", "other_date_drop_in"])
def test_only_a_student_with_a_seat_in_that_class_can_give_it_back(who):
    slot, sessions = series()
    if who == "stranger":
        student = StudentFactory()
    elif who == "canceled":
        student = RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.CANCELED).student
    elif who == "late_joiner":  # joined from the third class: the first is not theirs
        student = paid(slot, first_class_date=sessions[2].session_date).student
    else:
        student = paid(slot, pricing_type="drop_in", class_date=sessions[1].session_date).student

    with pytest.raises(NotRegistered):
        tell(sessions[0], student)

    assert not Absence.objects.exists()


def test_an_absence_stops_giving_the_seat_back_once_its_registration_is_canceled():
    slot, sessions = series(capacity=1)
    registration = paid(slot)
    tell(sessions[0], registration.student)

    cancel_registration(registration=registration, reason="Moved away")

    # The canceled registration frees every date itself; its absence no longer frees that date a second time.
    assert seats.seats_left(slot, class_date=sessions[0].session_date) == 1
    assert seats.seats_left(slot) == 1


def test_the_roster_keeps_the_excused_student_marked_as_excused():
    slot, sessions = series()
    ana = paid(slot).student
    tell(sessions[0], ana)

    [entry] = session_roster(sessions[0]).entries

    assert (entry.student, entry.is_excused) == (ana, True)
    assert session_roster(sessions[1]).entries[0].is_excused is False


# --- undo ------------------------------------------------------------------------------------------------------------


def test_undo_takes_the_seat_back_while_it_is_free():
    slot, sessions = series(capacity=1)
    ana = paid(slot).student
    absence = tell(sessions[0], ana)

    undone = undo_absence(absence=absence)

    assert undone.undone_at is not None
    assert seats.seats_left(slot, class_date=sessions[0].session_date) == 0
    assert session_roster(sessions[0]).entries[0].is_excused is False
    assert absence_state(sessions[0], ana).earns_makeup is True  # the make-up went back with it
    tell(sessions[0], ana)  # and can be told again


def test_undo_is_refused_once_the_seat_has_gone_to_someone_else():
    slot, sessions = series(capacity=1)
    ana = paid(slot).student
    absence = tell(sessions[0], ana)
    paid(slot, pricing_type="drop_in", class_date=sessions[0].session_date)

    with pytest.raises(UndoRefused, match="gone to someone else"):
        undo_absence(absence=absence)

    assert Absence.objects.get().undone_at is None


def test_undo_is_refused_after_the_cut_off():
    slot, sessions = series()
    absence = tell(sessions[0], paid(slot).student)

    with time_machine.travel(starts(sessions[0]) - 2 * HOUR, tick=False), pytest.raises(UndoRefused, match="too late"):
        undo_absence(absence=absence)

    assert Absence.objects.get().undone_at is None


def test_undo_is_refused_while_a_make_up_is_booked_for_it():
    slot, sessions = series()
    absence = tell(sessions[0], paid(slot).student)
    _other, other_sessions = series(name="House L1", difficulty="beginner")
    book_makeup(absence=absence, session=other_sessions[0])

    with pytest.raises(UndoRefused, match="cancel the make-up first"):
        undo_absence(absence=absence)


def test_undo_twice_changes_nothing_the_second_time():
    slot, sessions = series()
    absence = tell(sessions[0], paid(slot).student)
    undo_absence(absence=absence)

    with pytest.raises(UndoRefused, match="undone already"):
        undo_absence(absence=absence)


def test_undo_of_a_class_canceled_meanwhile_is_refused():
    slot, sessions = series()
    absence = tell(sessions[0], paid(slot).student)
    ClassSession.objects.filter(pk=sessions[0].pk).update(is_canceled=True, canceled_at=sessions[0].created_at)

    with pytest.raises(ClassCanceled):
        undo_absence(absence=absence)


# --- what the page shows ---------------------------------------------------------------------------------------------


def test_the_state_says_what_telling_us_now_would_do():
    slot, sessions = series()
    ana = paid(slot).student

    state = absence_state(sessions[0], ana)
    assert (state.problem, state.absence, state.earns_makeup) == (None, None, True)
    assert makeups_left(state.registration) == 2
    with time_machine.travel(starts(sessions[0]) - HOUR, tick=False):
        late = absence_state(sessions[0], ana)
        assert (late.problem, late.earns_makeup, late.before_cutoff) == (None, False, False)
    with time_machine.travel(starts(sessions[0]) + HOUR, tick=False):
        assert absence_state(sessions[0], ana).problem.reason == "started"
    assert absence_state(sessions[0], StudentFactory()).problem.reason == "not_registered"


def test_the_state_of_a_told_class_offers_undo_until_the_cut_off():
    slot, sessions = series()
    ana = paid(slot).student
    absence = tell(sessions[0], ana)

    state = absence_state(sessions[0], ana)

    assert (state.absence, state.may_undo, state.booked_makeup) == (absence, True, None)
    with time_machine.travel(starts(sessions[0]) - DAY + 13 * HOUR, tick=False):
        assert absence_state(sessions[0], ana).may_undo is False
