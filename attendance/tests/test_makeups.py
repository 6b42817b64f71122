"""Make-up classes: which classes may be picked, booking a seat on a date, the confirmation, cancelling."""

import pytest
import time_machine
from django.utils import timezone

from attendance.absences import report_absence, undo_absence
from attendance.makeups import (
    AlreadyInClass,
    ClassFull,
    MakeupAlreadyBooked,
    NoMakeup,
    NotOpenForMakeup,
    OutsideWindow,
    TooLateToCancel,
    book_makeup,
    cancel_makeup,
    makeup_choices,
    makeup_problem,
    open_for_makeup,
    open_makeups,
)
from attendance.models import Absence, MakeUp
from attendance.selectors import session_roster
from attendance.services import cancel_session, generate_class_sessions
from attendance.tests.factories import AbsenceFactory, MakeUpFactory
from attendance.tests.helpers import DAY, HOUR, dated_class, paid, series, set_setting, starts
from courses.models import Course
from registrations import seats
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from registrations.transitions import cancel_registration, expire_run_out_holds, reopen_registration
from students.tests.factories import CrewMemberFactory
from studio.models import EmailLog
from waitlist.services import join_waitlist
from waitlist.tests.factories import student_details

pytestmark = pytest.mark.django_db

Policy = Course.MakeupPolicy


@pytest.fixture
def missed():
    """Ana (paid, intermediate House L2, Tuesdays) told us she can't make the second class: a make-up to book."""
    slot, sessions = series(name="House L2", difficulty="intermediate")
    ana = paid(slot).student
    absence = report_absence(session=sessions[1], student=ana, channel=Absence.Channel.EMAIL)
    absence.slot, absence.sessions = slot, sessions
    return absence


def sessions_of(choices):
    return [choice.session for choice in choices]


# --- which classes ---------------------------------------------------------------------------------------------------


def test_the_level_rule_takes_the_same_course_and_classes_of_the_same_or_a_lower_level(missed):
    _slot, same_course_other_slot = series(name="House L2 (Thu)", difficulty="intermediate")
    same_course = missed.slot.course
    other_slot = missed.slot.course.slots.create(
        capacity=5, day_of_week=(missed.slot.day_of_week + 2) % 7, start_time="18:00", end_time="19:00"
    )
    generate_class_sessions(course=same_course)
    beginner = series(name="House L1", difficulty="beginner")[1]
    all_levels = series(name="Open Floor", difficulty="all_levels")[1]
    advanced = series(name="House L3", difficulty="advanced")[1]

    offered = set(sessions_of(makeup_choices(missed)))

    assert set(other_slot.sessions.all()) <= offered  # the same course, another slot
    assert set(same_course_other_slot) <= offered  # another course, the same level
    assert set(beginner) <= offered and set(all_levels) <= offered  # lower levels
    assert not offered & set(advanced)
    assert not offered & set(missed.sessions)  # her own classes: she has a seat in them already


def test_a_course_closed_to_make_ups_or_open_only_to_its_own_students_is_left_out(missed):
    own_only = series(name="Choreo Lab", difficulty="beginner", makeup_policy=Policy.COURSE)[1]
    closed = series(name="Showcase Prep", difficulty="beginner", makeup_policy=Policy.CLOSED)[1]

    offered = set(sessions_of(makeup_choices(missed)))

    assert not offered & set(own_only)
    assert not offered & set(closed)


def test_open_for_makeup_follows_the_target_courses_policy():
    missed_session = series(name="House L2", difficulty="intermediate")[1][0]
    same = missed_session.course.sessions.exclude(pk=missed_session.pk).first()
    lower = series(name="House L1", difficulty="beginner")[1][0]
    own_only = series(name="Lab", difficulty="beginner", makeup_policy=Policy.COURSE)[1][0]
    closed_same_course = series(name="Closed", makeup_policy=Policy.CLOSED)[1]

    assert open_for_makeup(missed=missed_session, target=same)
    assert open_for_makeup(missed=missed_session, target=lower)
    assert not open_for_makeup(missed=lower, target=missed_session)  # a beginner does not make up in intermediate
    assert not open_for_makeup(missed=missed_session, target=own_only)
    assert not open_for_makeup(missed=closed_same_course[0], target=closed_same_course[1])


def test_only_classes_within_the_window_that_have_not_started_are_offered(missed):
    set_setting("makeup_window_days", 10)
    near = series(name="Near", difficulty="beginner", starts_in_days=10)[1]  # 3 days after the missed class …

    offered = set(sessions_of(makeup_choices(missed)))

    missed_day = missed.session.session_date
    assert offered and all(abs((s.session_date - missed_day).days) <= 10 for s in offered)
    assert near[0] in offered and near[-1] not in offered  # … its last class is 24 days after


def test_canceled_inactive_and_crew_only_classes_are_left_out(missed):
    canceled = series(name="Canceled one", difficulty="beginner")[1]
    cancel_session(session=canceled[0])
    inactive = series(name="Old", difficulty="beginner", is_active=False)[1]
    crew = series(name="Crew", difficulty="beginner", required_student_type="crew_member")[1]

    offered = set(sessions_of(makeup_choices(missed)))

    assert canceled[0] not in offered and canceled[1] in offered
    assert not offered & set(inactive)
    assert not offered & set(crew)


def test_a_crew_member_may_make_up_in_a_crew_class():
    slot, sessions = series(name="House L2")
    crew_member = CrewMemberFactory()
    paid(slot, student=crew_member)
    absence = report_absence(session=sessions[0], student=crew_member, channel=Absence.Channel.PORTAL)
    crew = series(name="Crew", difficulty="beginner", required_student_type="crew_member")[1]

    assert set(crew) <= set(sessions_of(makeup_choices(absence)))


def test_full_classes_are_listed_with_no_seat_left(missed):
    full_slot, full = series(name="Full L1", difficulty="beginner", capacity=1)
    paid(full_slot)

    choices = {choice.session: choice.seats_left for choice in makeup_choices(missed)}

    assert choices[full[0]] == 0
    assert all(seats_left > 0 for session, seats_left in choices.items() if session.slot != full_slot)


def test_the_picker_runs_a_fixed_number_of_queries(missed, django_assert_max_num_queries):
    for n in range(6):
        slot, _sessions = series(name=f"Level {n}", difficulty="beginner")
        paid(slot)

    with django_assert_max_num_queries(11):
        choices = makeup_choices(missed)

    assert len(choices) == 6 * 4


# --- booking ---------------------------------------------------------------------------------------------------------


def test_booking_takes_a_seat_on_that_date_puts_the_student_on_the_roster_and_emails_them(missed, mailoutbox):
    slot, sessions = series(name="House L1", difficulty="beginner", capacity=2)
    paid(slot)

    makeup = book_makeup(absence=missed, session=sessions[0])

    assert (makeup.status, makeup.student, makeup.session) == (MakeUp.Status.BOOKED, missed.student, sessions[0])
    assert seats.seats_left(slot, class_date=sessions[0].session_date) == 0
    assert seats.seats_left(slot, class_date=sessions[1].session_date) == 1
    entry = session_roster(sessions[0]).entry_for(missed.student.pk)
    assert entry.makeup == makeup and entry.is_paid
    log = EmailLog.objects.get(kind="makeup_booked")
    assert (log.to_email, log.dedupe_key, log.about) == (missed.student.email, f"makeup_booked:{makeup.pk}", makeup)
    assert "House L1" in log.subject and "House L2" in log.body_text
    assert makeup_problem(missed).__class__ is MakeupAlreadyBooked
    assert open_makeups(missed.student) == []


def test_a_full_date_is_refused_and_nothing_is_written(missed):
    slot, sessions = series(name="House L1", difficulty="beginner", capacity=1)
    paid(slot)

    with pytest.raises(ClassFull):
        book_makeup(absence=missed, session=sessions[0])

    assert not MakeUp.objects.exists()


def test_a_seat_free_on_every_date_goes_to_the_students_waiting_first(missed):
    slot, sessions = series(name="House L1", difficulty="beginner", capacity=2)
    paid(slot)
    set_setting("waitlist_auto_offer", "no")
    paid_two = paid(slot)
    join_waitlist(course=slot.course, details=student_details("wendy"))
    cancel_registration(registration=paid_two, reason="Moved away")  # one seat free on every date, Wendy waits

    with pytest.raises(ClassFull):
        book_makeup(absence=missed, session=sessions[0])


def test_a_make_up_outside_the_window_is_refused(missed):
    set_setting("makeup_window_days", 7)
    far = series(name="Far", difficulty="beginner", starts_in_days=7 + 7 + 8)[1]

    with pytest.raises(OutsideWindow, match="between"):
        book_makeup(absence=missed, session=far[0])


def test_a_make_up_once_its_window_is_over_is_refused(missed):
    later = series(name="Later", difficulty="beginner", starts_in_days=40)[1]

    with time_machine.travel(starts(missed.session) + 31 * DAY, tick=False):
        with pytest.raises(OutsideWindow, match="had to be by"):
            book_makeup(absence=missed, session=later[0])
        assert open_makeups(missed.student) == []


def test_beyond_the_allowance_there_is_no_make_up_to_book(missed):
    third = report_absence(session=missed.sessions[2], student=missed.student, channel=Absence.Channel.EMAIL)
    fourth = report_absence(session=missed.sessions[3], student=missed.student, channel=Absence.Channel.EMAIL)
    other = series(name="House L1", difficulty="beginner")[1]

    assert (third.makeup_granted, fourth.makeup_granted) == (True, False)
    with pytest.raises(NoMakeup):
        book_makeup(absence=fourth, session=other[0])
    assert [a.pk for a in open_makeups(missed.student)] == [missed.pk, third.pk]


def test_one_make_up_per_missed_class(missed):
    other = series(name="House L1", difficulty="beginner")[1]
    book_makeup(absence=missed, session=other[0])

    with pytest.raises(MakeupAlreadyBooked):
        book_makeup(absence=missed, session=other[1])

    assert MakeUp.objects.count() == 1


@pytest.mark.parametrize("target", ["missed", "started", "canceled", "higher", "own_class"])
def test_a_class_that_is_not_open_for_this_make_up_is_refused(missed, target):
    _other_slot, other = series(name="House L1", difficulty="beginner")
    when = None
    if target == "missed":
        session = missed.session
    elif target == "started":
        session, when = other[0], starts(other[0]) + HOUR
    elif target == "canceled":
        session = other[0]
        cancel_session(session=session)
    elif target == "higher":
        session = series(name="House L3", difficulty="advanced")[1][0]
    else:
        session = missed.sessions[2]
    error = AlreadyInClass if target == "own_class" else NotOpenForMakeup

    with time_machine.travel(when or timezone.now(), tick=False), pytest.raises(error):
        book_makeup(absence=missed, session=session)

    assert not MakeUp.objects.exists()


def test_an_undone_absence_or_one_without_a_make_up_has_nothing_to_book(missed):
    undo_absence(absence=missed)
    other = series(name="House L1", difficulty="beginner")[1]

    with pytest.raises(NoMakeup):
        book_makeup(absence=missed, session=other[0])


def test_a_make_up_whose_registration_was_canceled_is_not_counted_or_bookable(missed):
    other_slot, other = series(name="House L1", difficulty="beginner", capacity=1)
    book_makeup(absence=missed, session=other[0])

    cancel_registration(registration=missed.registration, reason="Refunded")

    assert seats.seats_left(other_slot, class_date=other[0].session_date) == 1
    assert session_roster(other[0]).entries == []


# --- cancelling ------------------------------------------------------------------------------------------------------


def test_cancelling_before_the_cut_off_gives_the_seat_back_and_returns_the_make_up(missed):
    slot, sessions = series(name="House L1", difficulty="beginner", capacity=1)
    makeup = book_makeup(absence=missed, session=sessions[0])

    assert cancel_makeup(makeup=makeup) is True

    makeup.refresh_from_db()
    assert (makeup.status, makeup.canceled_by_studio) == (MakeUp.Status.CANCELED, False)
    assert seats.seats_left(slot, class_date=sessions[0].session_date) == 1
    assert makeup_problem(missed) is None
    assert book_makeup(absence=missed, session=sessions[1]).status == MakeUp.Status.BOOKED
    assert cancel_makeup(makeup=makeup) is False  # twice: nothing more


def test_a_student_cannot_cancel_after_the_cut_off_but_the_studio_can(missed):
    sessions = series(name="House L1", difficulty="beginner")[1]
    makeup = book_makeup(absence=missed, session=sessions[0])

    with time_machine.travel(starts(sessions[0]) - 3 * HOUR, tick=False):
        with pytest.raises(TooLateToCancel):
            cancel_makeup(makeup=makeup)
        assert cancel_makeup(makeup=makeup, by_studio=True) is True


def test_cancelling_the_class_cancels_its_make_ups_and_tells_the_student(missed, django_capture_on_commit_callbacks):
    sessions = series(name="House L1", difficulty="beginner")[1]
    makeup = book_makeup(absence=missed, session=sessions[0])

    with django_capture_on_commit_callbacks(execute=True):
        cancel_session(session=sessions[0])

    makeup.refresh_from_db()
    assert (makeup.status, makeup.canceled_by_studio) == (MakeUp.Status.CANCELED, True)
    log = EmailLog.objects.get(kind="session_canceled", to_email=missed.student.email)
    assert "make-up is yours again" in log.body_text
    assert makeup_problem(missed) is None


def test_a_make_up_in_a_dated_class_takes_its_seat_and_cancelling_offers_it_to_the_waitlist(
    missed, django_capture_on_commit_callbacks
):
    slot, session = dated_class(capacity=1, name="Heels Workshop")
    slot.difficulty_level = "beginner"
    slot.save()
    makeup = book_makeup(absence=missed, session=session)
    assert seats.seats_left(slot) == 0
    join_waitlist(course=slot.course, details=student_details("wendy"))

    with django_capture_on_commit_callbacks(execute=True):
        cancel_makeup(makeup=makeup)

    assert slot.course.waitlist_entries.get().status == "offered"


def test_paid_registrations_only_earn_make_ups():
    slot, sessions = series()
    pending = RegistrationFactory(slot=slot)
    absence = report_absence(session=sessions[0], student=pending.student, channel=Absence.Channel.EMAIL)

    assert absence.makeup_granted is False
    assert pending.payment_status == Registration.PaymentStatus.PENDING


# --- a registration that ends takes its make-ups with it ------------------------------------------------------------


def test_re_opening_a_canceled_registration_does_not_bring_its_make_up_back_over_capacity(
    missed, django_capture_on_commit_callbacks
):
    """Ana books a make-up into a one-seat class; the studio cancels her registration; someone else takes that seat;
    the studio re-opens her registration: the class still has one student, and her make-up is canceled."""
    other_slot, other = series(name="House L1", difficulty="beginner", capacity=1)
    makeup = book_makeup(absence=missed, session=other[0])

    with django_capture_on_commit_callbacks(execute=True):
        cancel_registration(registration=missed.registration, reason="Injured")
    makeup.refresh_from_db()
    assert (makeup.status, makeup.canceled_by_studio) == (MakeUp.Status.CANCELED, True)
    assert seats.seats_left(other_slot, class_date=other[0].session_date) == 1
    bo = paid(other_slot)  # the seat goes to someone else
    reopen_registration(registration=missed.registration, actor=None)

    counts = seats.seat_counts([other_slot])[other_slot.pk]
    assert counts.taken(other[0].session_date) == 1
    assert [entry.student for entry in session_roster(other[0]).entries] == [bo.student]
    assert makeup_problem(missed).__class__ is NoMakeup  # re-opened and unpaid: booked again once paid


def test_a_canceled_registrations_make_up_seat_goes_to_the_make_up_classs_waitlist(
    missed, django_capture_on_commit_callbacks
):
    slot, session = dated_class(capacity=1, name="Heels Workshop")
    slot.difficulty_level = "beginner"
    slot.save()
    book_makeup(absence=missed, session=session)
    join_waitlist(course=slot.course, details=student_details("wendy"))

    with django_capture_on_commit_callbacks(execute=True):
        cancel_registration(registration=missed.registration, reason="Injured")

    assert slot.course.waitlist_entries.get().status == "offered"


def test_a_make_up_class_already_held_stays_booked_when_its_registration_is_canceled(missed):
    _slot, other = series(name="House L1", difficulty="beginner")
    makeup = book_makeup(absence=missed, session=other[0])

    with time_machine.travel(starts(other[0]) + 2 * HOUR, tick=False):
        cancel_registration(registration=missed.registration, reason="Moved away")

    makeup.refresh_from_db()
    assert makeup.status == MakeUp.Status.BOOKED  # it took place: the studio's record


def test_a_registration_whose_hold_expires_takes_its_make_up_with_it():
    slot, sessions = series()
    other_slot, other = series(name="House L1", difficulty="beginner", capacity=1)
    pending = RegistrationFactory(slot=slot)
    absence = AbsenceFactory(session=sessions[1], registration=pending)
    makeup = MakeUpFactory(absence=absence, session=other[0])

    with time_machine.travel(timezone.now() + 49 * HOUR, tick=False):
        assert expire_run_out_holds() == 1

    makeup.refresh_from_db()
    assert (makeup.status, makeup.canceled_by_studio) == (MakeUp.Status.CANCELED, True)


def test_a_make_up_is_booked_only_for_a_paid_registration(missed):
    """A re-opened registration waits for payment: a make-up booked meanwhile would come back over capacity if its
    hold ran out and the studio then confirmed it."""
    other = series(name="House L1", difficulty="beginner")[1]
    cancel_registration(registration=missed.registration, reason="Mistake")
    reopen_registration(registration=missed.registration, actor=None)

    with pytest.raises(NoMakeup, match="waiting for payment"):
        book_makeup(absence=missed, session=other[0])
    assert open_makeups(missed.student) == []
