import datetime
import hashlib
from decimal import Decimal

import pytest
from django.utils import timezone

from courses.models import Course
from courses.tests.factories import CourseFactory, priced_slot
from registrations import seats
from registrations.errors import InvalidChoice, NotEligible, RegistrationClosed, RegistrationError, SlotFull
from registrations.models import Registration
from registrations.services import register_student
from registrations.tests.factories import RegistrationFactory
from registrations.transitions import cancel_registration
from students.models import Student
from students.services import StudentDetails
from students.tests.factories import CrewMemberFactory, StudentFactory
from studio.models import EmailLog, SystemSetting
from waitlist import offers, services
from waitlist.models import WaitlistEntry
from waitlist.services import AlreadyOnWaitlist, OfferUnavailable, SeatsAvailable
from waitlist.tests.factories import WaitlistEntryFactory, full_slot, offer_token, student_details

pytestmark = pytest.mark.django_db

Status = WaitlistEntry.Status


def set_setting(key, value):
    SystemSetting.objects.update_or_create(setting_key=key, defaults={"setting_value": value})


def join(slot_or_course, n=1, **kwargs) -> WaitlistEntry:
    course = slot_or_course if isinstance(slot_or_course, Course) else slot_or_course.course
    return services.join_waitlist(course=course, details=student_details(n), **kwargs)


def positions(course) -> list[tuple[str, int]]:
    """(email, position) of the course's active entries in position order."""
    return list(
        WaitlistEntry.objects.filter(course=course, status__in=WaitlistEntry.ACTIVE_STATUSES)
        .order_by("waitlist_position")
        .values_list("student__email", "waitlist_position")
    )


def assert_positions(course, emails: list[str]) -> None:
    """The active entries are exactly `emails`, at 1..n in that order; finished entries have no position."""
    assert positions(course) == [(email, n) for n, email in enumerate(emails, start=1)]
    finished = WaitlistEntry.objects.filter(course=course).exclude(status__in=WaitlistEntry.ACTIVE_STATUSES)
    assert not finished.filter(waitlist_position__isnull=False).exists()


def free_a_seat(slot, commit):
    """Cancel one of the slot's registrations (the studio does it) and run what the commit triggers."""
    with commit():
        cancel_registration(registration=slot.seat_holders.pop(0), reason="test")


def expire(entry):
    WaitlistEntry.objects.filter(pk=entry.pk).update(offer_expires_at=timezone.now() - datetime.timedelta(minutes=1))


def offered_to(email):
    return WaitlistEntry.objects.get(student__email=email, status__in=WaitlistEntry.ACTIVE_STATUSES)


# --- joining -----------------------------------------------------------------------------------------------------------


def test_join_waitlist_puts_students_at_the_end_in_order_and_emails_their_position(commit):
    slot = full_slot()

    with commit():
        first, second = join(slot, 1), join(slot, 2)

    assert (first.waitlist_position, second.waitlist_position) == (1, 2)
    assert first.status == Status.WAITING
    email = EmailLog.objects.get(kind="waitlist_joined", to_email="waiter2@example.org")
    assert "#2" in email.subject
    assert second.get_absolute_url() in email.body_text


def test_join_waitlist_creates_a_general_student_who_only_fills_blanks_of_a_known_one():
    slot = full_slot()
    known = StudentFactory(email="waiter1@example.org", first_name="Stored", phone="")

    join(slot, 1)
    join(slot, 2, preferred_slot=slot)

    known.refresh_from_db()
    assert known.first_name == "Stored"  # an unverified form never overwrites
    created = Student.objects.get(email="waiter2@example.org")
    assert created.student_type == Student.StudentType.GENERAL


def test_join_waitlist_twice_answers_already_on_the_list_and_emails_the_owner_only(commit):
    slot = full_slot()
    entry = join(slot, 1)

    with pytest.raises(AlreadyOnWaitlist), commit():
        join(slot, 1)

    assert WaitlistEntry.objects.filter(course=slot.course).count() == 1
    again = EmailLog.objects.filter(kind="waitlist_joined", to_email="waiter1@example.org").order_by("pk")
    assert again.count() == 2
    assert "already on the waitlist" in again.last().subject
    assert entry.get_absolute_url() in again.last().body_text


def test_join_waitlist_case_variant_of_the_same_email_is_the_same_student():
    slot = full_slot()
    join(slot, 1)

    with pytest.raises(AlreadyOnWaitlist):
        services.join_waitlist(course=slot.course, details=student_details(1, email="  WAITER1@Example.ORG "))


def test_join_waitlist_refuses_when_registration_is_closed():
    slot = full_slot()
    set_setting("registration_open", "false")

    with pytest.raises(RegistrationClosed):
        join(slot)
    assert not WaitlistEntry.objects.exists()


def test_join_waitlist_of_a_crew_only_course_refuses_a_general_student_and_accepts_a_crew_member():
    slot = full_slot(course=CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER))
    crew = CrewMemberFactory(email="crew@example.org")

    with pytest.raises(NotEligible):
        join(slot, 1)
    entry = services.join_waitlist(course=slot.course, details=student_details(email=crew.email))

    assert entry.student == crew
    assert not Student.objects.filter(email="waiter1@example.org").exists()


def test_join_waitlist_refuses_while_a_walk_up_seat_is_free():
    slot = priced_slot(capacity=2)
    RegistrationFactory(slot=slot)

    with pytest.raises(SeatsAvailable):
        join(slot)


def test_join_waitlist_for_a_full_preferred_slot_is_allowed_next_to_a_free_one():
    course = CourseFactory()
    full = full_slot(course=course)
    priced_slot(course=course, start_time=datetime.time(17), end_time=datetime.time(18))

    entry = join(course, preferred_slot=full)

    assert entry.preferred_slot == full
    with pytest.raises(SeatsAvailable):
        join(course, 2)  # "any slot" while one has seats: register instead


def test_join_waitlist_rejects_a_preferred_slot_of_another_course():
    slot = full_slot()

    with pytest.raises(InvalidChoice) as error:
        join(slot, preferred_slot=full_slot())
    assert error.value.field == "preferred_slot"


@pytest.mark.parametrize(
    ("field", "value"),
    [("first_name", "Ana\x00"), ("last_name", "x" * 101), ("email", "not-an-email"), ("phone", "+1\r\nBcc: x")],
)
def test_join_waitlist_rejects_bad_details_with_the_field_and_writes_nothing(field, value):
    slot = full_slot()

    with pytest.raises(RegistrationError) as error:
        services.join_waitlist(course=slot.course, details=student_details(**{field: value}))

    assert error.value.field == field
    assert not WaitlistEntry.objects.exists()


def test_join_waitlist_of_a_verified_student_must_use_their_email_and_updates_their_profile():
    slot = full_slot()
    student = StudentFactory(email="me@example.org", first_name="Old")

    with pytest.raises(RegistrationError):
        services.join_waitlist(course=slot.course, details=student_details(1), verified_student=student)
    services.join_waitlist(
        course=slot.course, details=student_details(email="me@example.org", first_name="New"), verified_student=student
    )

    student.refresh_from_db()
    assert student.first_name == "New"


def test_join_waitlist_stores_names_with_accents_emoji_and_markup_as_typed():
    slot = full_slot()

    entry = services.join_waitlist(
        course=slot.course, details=student_details(first_name="<script>Zoë 💃", last_name="O'Brien & Sons")
    )

    assert (entry.student.first_name, entry.student.last_name) == ("<script>Zoë 💃", "O'Brien & Sons")
    email = EmailLog.objects.get(kind="waitlist_joined")
    assert "&lt;script&gt;Zoë 💃" in email.body_html
    assert "<script>Zoë 💃" not in email.body_html
    assert "Hi <script>Zoë 💃," in email.body_text  # plain text shows it literally


# --- positions -----------------------------------------------------------------------------------------------------


def test_positions_close_the_gap_when_someone_in_the_middle_leaves():
    slot = full_slot()
    a, b, c = join(slot, "a"), join(slot, "b"), join(slot, "c")

    services.leave_waitlist(entry=b)

    assert_positions(slot.course, ["waitera@example.org", "waiterc@example.org"])
    b.refresh_from_db()
    assert (b.status, b.waitlist_position) == (Status.LEFT, None)
    del a, c


def test_positions_after_leaving_twice_change_nothing_more():
    slot = full_slot()
    a, b = join(slot, "a"), join(slot, "b")

    services.leave_waitlist(entry=a)
    services.leave_waitlist(entry=a)

    assert_positions(slot.course, ["waiterb@example.org"])
    del b


def test_positions_after_the_studio_removes_the_first_entry(commit):
    slot = full_slot()
    a, b, c = join(slot, "a"), join(slot, "b"), join(slot, "c")

    assert services.remove_entries(entries=[a]) == 1

    a.refresh_from_db()
    assert a.status == Status.REMOVED
    assert_positions(slot.course, ["waiterb@example.org", "waiterc@example.org"])
    del b, c


def test_positions_are_per_course():
    one, two = full_slot(), full_slot()
    join(one, "a")
    join(two, "b")
    join(one, "c")

    assert_positions(one.course, ["waitera@example.org", "waiterc@example.org"])
    assert_positions(two.course, ["waiterb@example.org"])


def test_move_up_and_down_swap_neighbours_and_stop_at_the_ends():
    slot = full_slot()
    a, b, c = join(slot, "a"), join(slot, "b"), join(slot, "c")

    assert services.move_entry(entry=c, up=True)
    assert_positions(slot.course, ["waitera@example.org", "waiterc@example.org", "waiterb@example.org"])
    assert services.move_entry(entry=a, up=False)
    assert_positions(slot.course, ["waiterc@example.org", "waitera@example.org", "waiterb@example.org"])
    assert not services.move_entry(entry=c, up=True)
    assert not services.move_entry(entry=b, up=False)
    assert_positions(slot.course, ["waiterc@example.org", "waitera@example.org", "waiterb@example.org"])


def test_positions_after_accept_decline_and_expiry(commit):
    slot = full_slot(capacity=3)
    for n in "abcde":
        join(slot, n)
    for _ in range(3):
        free_a_seat(slot, commit)
    a, b, c = offered_to("waitera@example.org"), offered_to("waiterb@example.org"), offered_to("waiterc@example.org")
    assert {a.status, b.status, c.status} == {Status.OFFERED}
    assert_positions(slot.course, [f"waiter{n}@example.org" for n in "abcde"])

    with commit():
        offers.accept_offer(entry=a, payment_method="venmo")
    assert_positions(slot.course, [f"waiter{n}@example.org" for n in "bcde"])
    with commit():
        offers.decline_offer(entry=b)
    # b's seat went to d, the next waiting.
    assert offered_to("waiterd@example.org").status == Status.OFFERED
    assert_positions(slot.course, [f"waiter{n}@example.org" for n in "cde"])
    expire(c)
    with commit():
        assert offers.expire_offers() == 1
    assert_positions(slot.course, [f"waiter{n}@example.org" for n in "de"])
    assert offered_to("waitere@example.org").status == Status.OFFERED


def test_renumbering_never_repeats_a_position_even_when_positions_had_gaps():
    slot = full_slot()
    for n, position in zip("abc", [3, 7, 9], strict=True):
        student = StudentFactory(email=f"waiter{n}@example.org")
        WaitlistEntryFactory(course=slot.course, student=student, waitlist_position=position)

    services.leave_waitlist(entry=WaitlistEntry.objects.get(waitlist_position=7))

    assert_positions(slot.course, ["waitera@example.org", "waiterc@example.org"])


# --- seats go to the waitlist first ----------------------------------------------------------------------------------


def test_walk_up_cannot_take_a_freed_seat_while_someone_waits(commit):
    slot = full_slot()
    set_setting("waitlist_auto_offer", "false")
    join(slot, "a")
    free_a_seat(slot, commit)

    assert seats.seats_left(slot) == 1
    with pytest.raises(SlotFull):
        register_student(
            course=slot.course,
            slot=slot,
            pricing_type="full_package",
            payment_method="venmo",
            details=StudentDetails(email="walkup@example.org", first_name="Walk", last_name="Up"),
        )


def test_walk_up_cannot_take_a_seat_held_by_an_outstanding_offer(commit):
    slot = full_slot()
    join(slot, "a")
    free_a_seat(slot, commit)
    assert offered_to("waitera@example.org").status == Status.OFFERED

    assert seats.seats_left(slot) == 0
    with pytest.raises(SlotFull):
        register_student(
            course=slot.course,
            slot=slot,
            pricing_type="full_package",
            payment_method="venmo",
            details=StudentDetails(email="walkup@example.org", first_name="Walk", last_name="Up"),
        )


def test_walk_up_may_take_the_seat_once_the_waitlist_is_empty(commit):
    slot = full_slot()
    entry = join(slot, "a")
    free_a_seat(slot, commit)
    with commit():
        offers.decline_offer(entry=WaitlistEntry.objects.get(pk=entry.pk))

    registration = register_student(
        course=slot.course,
        slot=slot,
        pricing_type="full_package",
        payment_method="venmo",
        details=StudentDetails(email="walkup@example.org", first_name="Walk", last_name="Up"),
    )
    assert registration.payment_status == Registration.PaymentStatus.PENDING


# --- automatic offers -------------------------------------------------------------------------------------------------


def test_offer_freed_seats_offers_the_next_waiting_student_a_hashed_single_token_by_email(commit, mailoutbox):
    slot = full_slot()
    join(slot, "a")
    join(slot, "b")

    free_a_seat(slot, commit)

    a = offered_to("waitera@example.org")
    assert a.status == Status.OFFERED
    assert a.offer_slot == slot
    assert a.notification_sent
    token = offer_token("waitera@example.org")
    assert len(token) >= 43
    assert a.offer_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in a.offer_token_hash
    assert a.offer_expires_at - a.offered_at == datetime.timedelta(hours=48)
    assert offered_to("waiterb@example.org").status == Status.WAITING
    email = EmailLog.objects.get(kind="waitlist_offer")
    # The log keeps the email without the token; the email sent carries it.
    assert token not in email.body_text + email.body_html
    assert "/waitlist/offer/LINK-SECRET-REMOVED/" in email.body_text
    sent = next(message for message in mailoutbox if message.to == ["waitera@example.org"])
    assert "http://" in sent.body and f"/waitlist/offer/{token}/" in sent.body


def test_offer_freed_seats_expires_after_waitlist_offer_hours(commit):
    slot = full_slot()
    set_setting("waitlist_offer_hours", "6")
    join(slot, "a")

    free_a_seat(slot, commit)

    a = offered_to("waitera@example.org")
    assert a.offer_expires_at - a.offered_at == datetime.timedelta(hours=6)


def test_offer_freed_seats_offers_as_many_seats_as_are_free(commit):
    slot = full_slot(capacity=3)
    for n in "abcd":
        join(slot, n)
    Registration.objects.filter(slot=slot).update(
        payment_status=Registration.PaymentStatus.CANCELED, canceled_at=timezone.now()
    )

    offered = offers.offer_freed_seats(slot=slot)

    assert [entry.student.email for entry in offered] == [f"waiter{n}@example.org" for n in "abc"]
    assert seats.seats_left(slot) == 0
    assert offers.offer_freed_seats(slot=slot) == []


def test_offer_freed_seats_skips_students_waiting_for_another_slot():
    course = CourseFactory()
    slot = full_slot(course=course)
    other = full_slot(course=course, start_time=datetime.time(17), end_time=datetime.time(18))
    join(course, "a", preferred_slot=other)
    join(course, "b", preferred_slot=slot)
    Registration.objects.filter(slot=slot).update(
        payment_status=Registration.PaymentStatus.CANCELED, canceled_at=timezone.now()
    )

    offered = offers.offer_freed_seats(slot=slot)

    assert [entry.student.email for entry in offered] == ["waiterb@example.org"]
    assert offered_to("waitera@example.org").status == Status.WAITING


def test_offer_freed_seats_does_nothing_when_auto_offer_is_off():
    slot = full_slot()
    join(slot, "a")
    set_setting("waitlist_auto_offer", "off")
    Registration.objects.filter(slot=slot).update(
        payment_status=Registration.PaymentStatus.CANCELED, canceled_at=timezone.now()
    )

    assert offers.offer_freed_seats(slot=slot) == []
    assert offered_to("waitera@example.org").status == Status.WAITING


def test_offer_freed_seats_does_nothing_once_the_last_class_has_started():
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    course = CourseFactory(course_type=Course.CourseType.DROP_IN, start_date=yesterday, end_date=yesterday)
    slot = priced_slot(course=course, capacity=1)
    WaitlistEntryFactory(course=course)

    assert offers.offer_freed_seats(slot=slot) == []


def test_offer_freed_seats_passes_over_a_student_who_has_since_registered_for_the_slot():
    slot = full_slot(capacity=2)
    a = join(slot, "a")
    join(slot, "b")
    slot.seat_holders[0].student = a.student
    Registration.objects.filter(pk=slot.seat_holders[0].pk).update(student=a.student)
    Registration.objects.filter(pk=slot.seat_holders[1].pk).update(
        payment_status=Registration.PaymentStatus.CANCELED, canceled_at=timezone.now()
    )

    offered = offers.offer_freed_seats(slot=slot)

    assert [entry.student.email for entry in offered] == ["waiterb@example.org"]


def test_canceling_a_registration_offers_its_seat_after_the_commit(commit):
    slot = full_slot()
    join(slot, "a")

    with commit() as callbacks:
        cancel_registration(registration=slot.seat_holders[0], reason="test")
        assert offered_to("waitera@example.org").status == Status.WAITING  # not before the commit

    assert callbacks
    assert offered_to("waitera@example.org").status == Status.OFFERED


# --- accept / decline / expire -----------------------------------------------------------------------------------------


def offer_one(commit, *, waiting=("a",), capacity=1, **slot_kwargs):
    slot = full_slot(capacity=capacity, **slot_kwargs)
    for n in waiting:
        join(slot, n)
    free_a_seat(slot, commit)
    return slot, offered_to(f"waiter{waiting[0]}@example.org")


def test_accept_offer_registers_the_student_pending_into_the_held_seat_of_a_full_looking_slot(commit):
    slot, entry = offer_one(commit)
    assert seats.seats_left(slot) == 0  # the offer holds the seat

    with commit():
        registration = offers.accept_offer(entry=entry, payment_method="zelle")

    assert registration.student == entry.student
    assert (registration.slot, registration.pricing_type) == (slot, "full_package")
    assert registration.payment_status == Registration.PaymentStatus.PENDING
    assert registration.payment_amount == Decimal("120.00")
    assert registration.payment_method == "zelle"
    assert registration.payment_due_at > timezone.now()
    entry.refresh_from_db()
    assert (entry.status, entry.waitlist_position) == (Status.ACCEPTED, None)
    assert entry.responded_at is not None
    assert seats.seats_left(slot) == 0
    assert Registration.objects.filter(slot=slot, payment_status__in=Registration.ACTIVE_STATUSES).count() == 1
    assert EmailLog.objects.filter(kind="registration_received", to_email=entry.student.email).exists()


def test_accept_offer_twice_is_refused_as_used_and_registers_once(commit):
    _slot, entry = offer_one(commit)
    offers.accept_offer(entry=entry, payment_method="venmo")

    with pytest.raises(OfferUnavailable) as error:
        offers.accept_offer(entry=entry, payment_method="venmo")

    assert error.value.reason == OfferUnavailable.USED
    assert Registration.objects.filter(student=entry.student).count() == 1


def test_accept_offer_of_a_dated_class_uses_its_drop_in_price(commit):
    course = CourseFactory(course_type=Course.CourseType.DROP_IN)
    _slot, entry = offer_one(commit, course=course, full_package=None, drop_in="25.00")

    registration = offers.accept_offer(entry=entry, payment_method="venmo")

    assert (registration.pricing_type, registration.payment_amount, registration.class_date) == (
        "drop_in",
        Decimal("25.00"),
        None,
    )


def test_accept_offer_after_expiry_is_refused_and_passes_the_seat_to_the_next(commit):
    _slot, entry = offer_one(commit, waiting=("a", "b"))
    expire(entry)

    with pytest.raises(OfferUnavailable) as error, commit():
        offers.accept_offer(entry=entry, payment_method="venmo")

    assert error.value.reason == OfferUnavailable.EXPIRED
    entry.refresh_from_db()
    assert entry.status == Status.EXPIRED
    assert offered_to("waiterb@example.org").status == Status.OFFERED
    assert not Registration.objects.filter(student=entry.student).exists()
    assert EmailLog.objects.filter(kind="offer_expired", to_email="waitera@example.org").exists()


def test_accept_offer_refuses_a_student_no_longer_crew_for_a_crew_only_course(commit):
    course = CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER)
    slot = full_slot(course=course)
    crew = CrewMemberFactory(email="crew@example.org")
    services.join_waitlist(course=course, details=student_details(email=crew.email))
    free_a_seat(slot, commit)
    entry = offered_to("crew@example.org")
    Student.objects.filter(pk=crew.pk).update(student_type=Student.StudentType.GENERAL)

    with pytest.raises(NotEligible):
        offers.accept_offer(entry=entry, payment_method="venmo")
    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.OFFERED


def test_accept_offer_refuses_while_registration_is_closed_and_keeps_the_offer(commit):
    _slot, entry = offer_one(commit)
    set_setting("registration_open", "no")

    with pytest.raises(RegistrationClosed):
        offers.accept_offer(entry=entry, payment_method="venmo")
    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.OFFERED


def test_accept_offer_refuses_an_unknown_payment_method(commit):
    _slot, entry = offer_one(commit)

    with pytest.raises(InvalidChoice):
        offers.accept_offer(entry=entry, payment_method="cash")


def test_decline_offer_passes_the_seat_on_and_cannot_be_accepted_afterwards(commit):
    _slot, entry = offer_one(commit, waiting=("a", "b"))

    with commit():
        assert offers.decline_offer(entry=entry)

    entry.refresh_from_db()
    assert (entry.status, entry.waitlist_position) == (Status.DECLINED, None)
    assert offered_to("waiterb@example.org").status == Status.OFFERED
    assert not offers.decline_offer(entry=entry)
    with pytest.raises(OfferUnavailable) as error:
        offers.accept_offer(entry=entry, payment_method="venmo")
    assert error.value.reason == OfferUnavailable.DECLINED


def test_leaving_with_an_open_offer_passes_the_seat_on(commit):
    _slot, entry = offer_one(commit, waiting=("a", "b"))

    with commit():
        services.leave_waitlist(entry=entry)

    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.LEFT
    assert offered_to("waiterb@example.org").status == Status.OFFERED


def test_roll_over_chain_a_declines_b_is_offered_b_expires_c_is_offered(commit):
    slot, a = offer_one(commit, waiting=("a", "b", "c"))

    with commit():
        offers.decline_offer(entry=a)
    b = offered_to("waiterb@example.org")
    assert b.status == Status.OFFERED
    expire(b)
    with commit():
        assert offers.expire_offers() == 1

    c = offered_to("waiterc@example.org")
    assert c.status == Status.OFFERED
    assert WaitlistEntry.objects.get(pk=b.pk).status == Status.EXPIRED
    assert EmailLog.objects.filter(kind="offer_expired", to_email="waiterb@example.org").count() == 1
    assert [log.to_email for log in EmailLog.objects.filter(kind="waitlist_offer").order_by("pk")] == [
        "waitera@example.org",
        "waiterb@example.org",
        "waiterc@example.org",
    ]
    assert_positions(slot.course, ["waiterc@example.org"])
    assert seats.seats_left(slot) == 0


def test_expire_offers_leaves_open_offers_alone_and_is_idempotent(commit):
    _slot, entry = offer_one(commit)

    assert offers.expire_offers() == 0
    expire(entry)
    with commit():
        assert offers.expire_offers() == 1
        assert offers.expire_offers() == 0

    assert EmailLog.objects.filter(kind="offer_expired").count() == 1


def test_counts_ignore_an_expired_offer_before_the_sweep_runs(commit):
    slot, entry = offer_one(commit)
    set_setting("waitlist_auto_offer", "off")
    expire(entry)

    assert WaitlistEntry.objects.get(pk=entry.pk).status == Status.OFFERED
    assert seats.seats_left(slot) == 1


# --- studio actions ----------------------------------------------------------------------------------------------------


def test_send_offers_offers_only_free_seats_in_position_order(commit):
    slot = full_slot(capacity=2)
    set_setting("waitlist_auto_offer", "false")
    entries = [join(slot, n) for n in "abc"]
    Registration.objects.filter(pk=slot.seat_holders[0].pk).update(
        payment_status=Registration.PaymentStatus.CANCELED, canceled_at=timezone.now()
    )

    offered, skipped = offers.send_offers(entries=list(reversed(entries)))

    assert [entry.student.email for entry in offered] == ["waitera@example.org"]
    assert len(skipped) == 2 and all("full" in str(reason) for reason in skipped)


def test_send_offers_over_capacity_offers_even_a_full_slot(commit):
    slot = full_slot()
    entry = join(slot, "a")

    offered, skipped = offers.send_offers(entries=[entry], over_capacity=True)

    assert [e.pk for e in offered] == [entry.pk]
    assert skipped == []
    entry.refresh_from_db()
    assert entry.status == Status.OFFERED
    # The offer holder may accept although the slot is over capacity: the seat is theirs.
    registration = offers.accept_offer(entry=entry, payment_method="venmo")
    assert registration.payment_status == Registration.PaymentStatus.PENDING


def test_send_offers_skips_entries_that_are_not_waiting(commit):
    _slot, entry = offer_one(commit)

    offered, skipped = offers.send_offers(entries=[entry], over_capacity=True)

    assert offered == [] and len(skipped) == 1


def test_send_offers_without_a_preferred_slot_needs_a_free_seat_or_a_single_slot():
    course = CourseFactory()
    full_slot(course=course)
    full_slot(course=course, start_time=datetime.time(17), end_time=datetime.time(18))
    entry = join(course, "a")

    offered, skipped = offers.send_offers(entries=[entry], over_capacity=True)

    assert offered == []
    assert "preferred time slot" in str(skipped[0])


def test_revoke_offer_puts_the_entry_back_to_waiting_at_its_place_and_kills_the_link(commit):
    slot, entry = offer_one(commit, waiting=("a", "b"))
    token = offer_token("waitera@example.org")

    assert offers.revoke_offers(entries=[entry]) == 1

    entry.refresh_from_db()
    assert (entry.status, entry.waitlist_position, entry.offer_slot) == (Status.WAITING, 1, None)
    assert offered_to("waiterb@example.org").status == Status.WAITING  # the studio decides who is next
    assert offers.entry_for_token(token) == entry
    with pytest.raises(OfferUnavailable) as error:
        offers.accept_offer(entry=entry, payment_method="venmo")
    assert error.value.reason == OfferUnavailable.WITHDRAWN
    assert seats.seats_left(slot) == 1
    assert offers.revoke_offers(entries=[entry]) == 0


# --- tokens ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    ["", "abc", "x" * 10_000, "' OR 1=1 --" + "x" * 40, "é" * 43, "0" * 64, "a" * 39],
)
def test_entry_for_token_returns_none_for_garbage(token):
    WaitlistEntryFactory(offer_token_hash=hashlib.sha256(b"a" * 39).hexdigest())

    assert offers.entry_for_token(token) is None


# --- what the student is told became of the seat ------------------------------------------------------------------------


def test_an_expired_offer_with_nobody_else_waiting_says_the_seat_went_back_to_the_class(commit, client):
    slot = full_slot()
    entry = join(slot, "a")
    free_a_seat(slot, commit)
    expire(entry)

    with commit():
        offers.expire_offers()

    email = EmailLog.objects.get(kind="offer_expired")
    assert "Nobody else was waiting" in email.body_text
    assert "next person" not in email.body_text


def test_an_expired_offer_says_the_seat_was_offered_to_the_next_person_when_it_was(commit):
    slot = full_slot()
    first, second = join(slot, "a"), join(slot, "b")
    free_a_seat(slot, commit)
    expire(first)

    with commit():
        offers.expire_offers()

    # The email goes out with the expiry, before the seat is offered on: someone waits, so it goes to them next.
    assert "It goes to the next person on the waitlist." in EmailLog.objects.get(kind="offer_expired").body_text
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.status == Status.OFFERED
    assert offers.seat_after_offer(first) == "offered"  # what the offer page says from then on


def test_the_page_of_a_declined_offer_says_the_seat_went_back_when_nobody_waits(commit, client):
    slot = full_slot()
    entry = join(slot, "a")
    free_a_seat(slot, commit)
    token = offer_token(entry.student.email)
    with commit():
        client.post(f"/waitlist/offer/{token}/", {"action": "decline"})

    html = client.get(f"/waitlist/offer/{token}/").content.decode()

    assert "Nobody else was waiting, so the seat went back to the class" in html
