"""The studio's transitions: create, cancel, confirm, re-open, admin override, the hold sweep."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from courses.models import Course
from courses.tests.factories import CourseFactory, priced_slot
from registrations import seats, transitions
from registrations.errors import AlreadyRegistered, InvalidChoice, RegistrationCanceled, RegistrationError, SlotFull
from registrations.models import Registration, RegistrationEvent
from registrations.services import admin_register_student, create_registration
from registrations.tests.factories import PaymentFactory, RegistrationFactory
from registrations.transitions import (
    cancel_registration,
    confirm_payment,
    confirm_payments,
    expire_holds,
    reopen_registration,
)
from students.tests.factories import CrewMemberFactory, StudentFactory
from studio.models import EmailLog, SystemSetting
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(username="owner", first_name="Olga", last_name="Owner", is_staff=True)


def set_setting(key, value):
    SystemSetting.objects.update_or_create(setting_key=key, defaults={"setting_value": value})


def run_out(registration):
    """A registration made three days ago whose hold ran out an hour ago (and was never swept)."""
    now = timezone.now()
    Registration.objects.filter(pk=registration.pk).update(
        created_at=now - datetime.timedelta(days=3), payment_due_at=now - datetime.timedelta(hours=1)
    )
    registration.refresh_from_db()
    return registration


def history(registration):
    return [(e.from_status, e.to_status, e.actor_label) for e in registration.events.order_by("pk")]


def emails(kind):
    return list(EmailLog.objects.filter(kind=kind))


# --- create_registration ---------------------------------------------------------------------------------------------


def test_create_registration_takes_the_amount_from_the_price_row_and_holds_the_seat():
    slot = priced_slot(full_package="120.00")
    student = StudentFactory()

    with transaction.atomic():
        registration = create_registration(
            student=student, slot=seats.lock_slot(slot), pricing_type="full_package", payment_method="zelle"
        )

    registration.refresh_from_db()
    assert registration.payment_amount == Decimal("120.00")
    assert registration.payment_status == PaymentStatus.PENDING
    assert registration.payment_due_at > timezone.now() + datetime.timedelta(hours=47)
    assert history(registration) == [("", "pending", "student")]
    assert [log.dedupe_key for log in emails("registration_received")] == [f"registration_received:{registration.pk}"]


def test_create_registration_uses_a_given_amount_and_records_the_actor(owner):
    slot = priced_slot()

    with transaction.atomic():
        registration = create_registration(
            student=StudentFactory(),
            slot=slot,
            pricing_type="full_package",
            payment_method="venmo",
            amount=Decimal("60.00"),
            actor=owner,
            actor_label="Olga Owner",
            reason="Half price",
            admin_override=True,
        )

    event = registration.events.get()
    assert registration.payment_amount == Decimal("60.00")
    assert registration.admin_override is True
    assert (event.actor, event.actor_label, event.reason) == (owner, "Olga Owner", "Half price")


def test_create_registration_refuses_a_second_active_registration_for_the_same_seat():
    existing = RegistrationFactory(slot=priced_slot())

    with pytest.raises(AlreadyRegistered), transaction.atomic():
        create_registration(
            student=existing.student, slot=existing.slot, pricing_type="full_package", payment_method="venmo"
        )

    assert Registration.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_create_registration_outside_a_transaction_is_a_programming_error():
    with pytest.raises(RuntimeError):
        create_registration(
            student=StudentFactory(), slot=priced_slot(), pricing_type="full_package", payment_method="venmo"
        )


# --- cancel_registration ---------------------------------------------------------------------------------------------


def test_cancel_by_the_studio_records_who_when_why_emails_and_frees_the_seat(owner):
    slot = priced_slot(capacity=1)
    registration = RegistrationFactory(slot=slot, payment_status=PaymentStatus.COMPLETED)

    assert cancel_registration(registration=registration, actor=owner, reason="Moved to Tuesday") is True

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.CANCELED
    assert (registration.canceled_by, registration.cancel_reason) == (owner, "Moved to Tuesday")
    assert registration.canceled_at is not None
    assert history(registration) == [("completed", "canceled", "Olga Owner")]
    assert registration.events.get().reason == "Moved to Tuesday"
    (log,) = emails("registration_canceled")
    assert "Moved to Tuesday" in log.body_text
    assert seats.seats_left(slot) == 1


def test_cancel_twice_changes_nothing_and_sends_one_email(owner):
    registration = RegistrationFactory()
    cancel_registration(registration=registration, actor=owner, reason="Asked to")

    assert cancel_registration(registration=registration, actor=owner, reason="Again") is False

    registration.refresh_from_db()
    assert registration.cancel_reason == "Asked to"
    assert registration.events.count() == 1
    assert len(emails("registration_canceled")) == 1


def test_a_student_may_cancel_only_a_pending_registration():
    paid = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    pending = RegistrationFactory()

    with pytest.raises(RegistrationError):
        cancel_registration(registration=paid, by_student=True)
    assert cancel_registration(registration=pending, by_student=True) is True

    paid.refresh_from_db()
    pending.refresh_from_db()
    assert paid.payment_status == PaymentStatus.COMPLETED
    assert history(pending) == [("pending", "canceled", "student")]
    assert pending.canceled_by is None


def test_cancel_of_an_expired_registration_is_refused(owner):
    registration = RegistrationFactory(payment_status=PaymentStatus.EXPIRED)

    with pytest.raises(RegistrationError):
        cancel_registration(registration=registration, actor=owner, reason="x")

    assert not RegistrationEvent.objects.exists()


def test_cancel_offers_the_freed_seat_to_the_waitlist_after_the_commit(owner, django_capture_on_commit_callbacks):
    slot = priced_slot(capacity=1)
    registration = RegistrationFactory(slot=slot)
    waiting = WaitlistEntryFactory(course=slot.course, waitlist_position=1)

    with django_capture_on_commit_callbacks(execute=True):
        cancel_registration(registration=registration, actor=owner, reason="Injured")

    waiting.refresh_from_db()
    assert waiting.status == WaitlistEntry.Status.OFFERED
    assert waiting.offer_slot == slot


# --- confirm_payment ------------------------------------------------------------------------------------------------


def test_confirm_records_who_when_method_and_note_and_emails_once(owner):
    registration = RegistrationFactory(slot=priced_slot(), payment_method="venmo")

    assert confirm_payment(registration=registration, actor=owner, method="zelle", note="Zelle #A1B2") is True

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.COMPLETED
    assert (registration.confirmed_by, registration.payment_method) == (owner, "zelle")
    assert registration.transaction_note == "Zelle #A1B2"
    assert registration.confirmed_at is not None
    assert history(registration) == [("pending", "completed", "Olga Owner")]
    assert "Zelle #A1B2" in registration.events.get().reason
    assert [log.dedupe_key for log in emails("payment_confirmed")] == [f"payment_confirmed:{registration.pk}"]


def test_confirm_twice_changes_nothing_and_sends_one_email(owner, django_user_model):
    registration = RegistrationFactory()
    confirm_payment(registration=registration, actor=owner, note="first")
    other_admin = django_user_model.objects.create_user(username="other", is_staff=True)

    assert confirm_payment(registration=registration, actor=other_admin, note="second") is False

    registration.refresh_from_db()
    assert (registration.confirmed_by, registration.transaction_note) == (owner, "first")
    assert registration.events.count() == 1
    assert len(emails("payment_confirmed")) == 1


def test_confirm_of_a_canceled_registration_is_refused(owner):
    registration = RegistrationFactory(payment_status=PaymentStatus.CANCELED)

    with pytest.raises(RegistrationCanceled, match="re-open it first"):
        confirm_payment(registration=registration, actor=owner)

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.CANCELED
    assert not emails("payment_confirmed")


@pytest.mark.parametrize("status", ["expired", "pending"])
def test_confirm_of_a_run_out_hold_takes_a_free_seat(owner, status):
    registration = run_out(RegistrationFactory(slot=priced_slot(capacity=1), payment_status=status))

    assert confirm_payment(registration=registration, actor=owner) is True

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.COMPLETED
    assert registration.admin_override is False
    assert history(registration) == [(status, "completed", "Olga Owner")]


@pytest.mark.parametrize("status", ["expired", "pending"])
def test_confirm_of_a_run_out_hold_in_a_full_slot_is_refused(owner, status):
    slot = priced_slot(capacity=1)
    registration = run_out(RegistrationFactory(slot=slot, payment_status=status))
    RegistrationFactory(slot=slot)  # took the seat after the hold ran out

    with pytest.raises(SlotFull):
        confirm_payment(registration=registration, actor=owner)

    registration.refresh_from_db()
    assert registration.payment_status == status
    assert not emails("payment_confirmed")


def test_confirm_over_capacity_is_the_one_way_past_a_full_slot_and_is_recorded(owner):
    slot = priced_slot(capacity=1)
    registration = run_out(RegistrationFactory(slot=slot, payment_status=PaymentStatus.EXPIRED))
    RegistrationFactory(slot=slot)

    assert confirm_payment(registration=registration, actor=owner, over_capacity=True) is True

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.COMPLETED
    assert registration.admin_override is True
    assert "over capacity" in registration.events.get().reason


def test_confirm_of_a_pending_registration_with_a_running_hold_never_needs_a_free_seat(owner):
    slot = priced_slot(capacity=1)
    registration = RegistrationFactory(slot=slot)  # holds the only seat

    assert confirm_payment(registration=registration, actor=owner) is True


def test_confirm_of_an_expired_registration_is_refused_when_the_student_registered_again(owner):
    slot = priced_slot(capacity=5)
    old = RegistrationFactory(slot=slot, payment_status=PaymentStatus.EXPIRED)
    RegistrationFactory(slot=slot, student=old.student)

    with pytest.raises(AlreadyRegistered):
        confirm_payment(registration=old, actor=owner)


def test_confirm_payments_reports_each_registration_and_one_refusal_does_not_undo_the_others(owner):
    paid = RegistrationFactory(payment_status=PaymentStatus.COMPLETED)
    pending = RegistrationFactory()
    canceled = RegistrationFactory(payment_status=PaymentStatus.CANCELED)

    outcome = confirm_payments(registrations=[paid, pending, canceled], actor=owner)

    assert outcome.done == [pending]
    assert outcome.unchanged == [paid]
    assert [r for r, _error in outcome.refused] == [canceled]
    pending.refresh_from_db()
    assert pending.payment_status == PaymentStatus.COMPLETED


def test_confirm_refuses_an_unknown_method(owner):
    registration = RegistrationFactory()

    with pytest.raises(InvalidChoice):
        confirm_payment(registration=registration, actor=owner, method="cash")


# --- reopen_registration --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["canceled", "expired"])
def test_reopen_makes_it_pending_with_a_new_hold_when_a_seat_is_free(owner, status):
    registration = RegistrationFactory(
        payment_status=status, payment_due_at=timezone.now() - datetime.timedelta(days=3), cancel_reason="x"
    )

    assert reopen_registration(registration=registration, actor=owner, reason="Paid late, agreed") is True

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.PENDING
    assert registration.payment_due_at > timezone.now() + datetime.timedelta(hours=47)
    assert registration.cancel_reason == ""
    assert history(registration) == [(status, "pending", "Olga Owner")]


def test_reopen_is_refused_when_the_slot_is_full(owner):
    slot = priced_slot(capacity=1)
    registration = RegistrationFactory(slot=slot, payment_status=PaymentStatus.CANCELED)
    RegistrationFactory(slot=slot)

    with pytest.raises(SlotFull):
        reopen_registration(registration=registration, actor=owner)

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.CANCELED


def test_reopen_of_an_active_registration_changes_nothing(owner):
    registration = RegistrationFactory()

    assert reopen_registration(registration=registration, actor=owner) is False
    assert not registration.events.exists()


# --- admin_register_student -----------------------------------------------------------------------------------------


def admin_register(owner, *, slot, student=None, **kwargs):
    return admin_register_student(
        student=student or StudentFactory(),
        slot=slot,
        pricing_type=kwargs.pop("pricing_type", "full_package"),
        payment_method=kwargs.pop("payment_method", "venmo"),
        actor=owner,
        **kwargs,
    )


def test_admin_registers_a_general_student_on_a_crew_only_course_with_the_override_recorded(owner):
    slot = priced_slot(course=CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER))

    registration = admin_register(owner, slot=slot)

    assert registration.admin_override is True
    assert registration.payment_amount == Decimal("120.00")
    event = registration.events.get()
    assert (event.to_status, event.actor, event.actor_label) == ("pending", owner, "Olga Owner")
    assert "Crew-only rule waived" in event.reason
    assert emails("registration_received")


def test_admin_registering_a_crew_member_on_a_crew_course_is_no_override(owner):
    slot = priced_slot(course=CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER))

    registration = admin_register(owner, slot=slot, student=CrewMemberFactory())

    assert registration.admin_override is False


def test_admin_register_in_a_full_slot_needs_over_capacity(owner):
    slot = priced_slot(capacity=1)
    RegistrationFactory(slot=slot)

    with pytest.raises(SlotFull) as error:
        admin_register(owner, slot=slot)
    registration = admin_register(owner, slot=slot, over_capacity=True)

    assert error.value.field == "over_capacity"
    assert registration.admin_override is True
    assert "over capacity" in registration.events.get().reason
    assert Registration.objects.filter(slot=slot, payment_status=PaymentStatus.PENDING).count() == 2


def test_admin_register_with_another_amount_needs_a_reason(owner):
    slot = priced_slot()

    with pytest.raises(RegistrationError) as error:
        admin_register(owner, slot=slot, amount=Decimal("50.00"))
    registration = admin_register(owner, slot=slot, amount=Decimal("50.00"), reason="Scholarship")

    assert error.value.field == "reason"
    assert registration.payment_amount == Decimal("50.00")
    assert registration.admin_override is True
    assert "Scholarship" in registration.events.get().reason
    assert Registration.objects.count() == 1


def test_admin_register_with_the_slot_price_as_amount_needs_no_reason(owner):
    registration = admin_register(owner, slot=priced_slot(full_package="120.00"), amount=Decimal("120.00"))

    assert registration.admin_override is False


def test_admin_register_refuses_a_negative_amount_and_a_missing_price(owner):
    with pytest.raises(RegistrationError) as negative:
        admin_register(owner, slot=priced_slot(), amount=Decimal("-1"), reason="x")
    with pytest.raises(InvalidChoice) as missing:
        admin_register(owner, slot=priced_slot(drop_in=None), pricing_type="drop_in")

    assert (negative.value.field, missing.value.field) == ("amount", "amount")
    assert not Registration.objects.exists()


def test_admin_register_ignores_registration_closed_but_not_a_duplicate(owner):
    set_setting("registration_open", "off")
    slot = priced_slot()
    student = StudentFactory()
    admin_register(owner, slot=slot, student=student)

    with pytest.raises(AlreadyRegistered):
        admin_register(owner, slot=slot, student=student)

    assert Registration.objects.count() == 1


def test_admin_register_drop_in_on_a_series_needs_one_of_its_dates(owner):
    slot = priced_slot()
    wrong = slot.class_dates()[0] + datetime.timedelta(days=1)

    with pytest.raises(InvalidChoice):
        admin_register(owner, slot=slot, pricing_type="drop_in", class_date=wrong)
    registration = admin_register(owner, slot=slot, pricing_type="drop_in", class_date=slot.class_dates()[1])

    assert registration.payment_amount == Decimal("35.00")
    assert registration.class_date == slot.class_dates()[1]


# --- the hold sweep ---------------------------------------------------------------------------------------------------


def test_hold_sweep_reminds_at_half_the_hold_once_and_expires_at_the_end(django_capture_on_commit_callbacks):
    start = timezone.now()
    registration = RegistrationFactory(payment_due_at=start + datetime.timedelta(hours=48))

    with time_machine.travel(start + datetime.timedelta(hours=23), tick=False):
        early = expire_holds()
    with time_machine.travel(start + datetime.timedelta(hours=25), tick=False):
        halfway = expire_holds()
        again = expire_holds()
    with time_machine.travel(start + datetime.timedelta(hours=49), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            end = expire_holds()
        after = expire_holds()

    assert (early.reminded, early.expired) == (0, 0)
    assert (halfway.reminded, halfway.expired) == (1, 0)
    assert (again.reminded, again.expired) == (0, 0)
    assert (end.reminded, end.expired) == (0, 1)
    assert (after.reminded, after.expired) == (0, 0)
    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.EXPIRED
    assert history(registration) == [("pending", "expired", "system")]
    assert len(emails("hold_expiring")) == 1
    assert len(emails("hold_expired")) == 1


def test_hold_sweep_does_not_remind_a_student_who_reported_paying():
    start = timezone.now()
    RegistrationFactory(payment_due_at=start + datetime.timedelta(hours=10), payment_reported_at=start)

    assert expire_holds().reminded == 0


def test_hold_sweep_leaves_paid_canceled_and_zero_hour_holds_alone():
    past = timezone.now() - datetime.timedelta(hours=1)
    RegistrationFactory(payment_status=PaymentStatus.COMPLETED, payment_due_at=past)
    RegistrationFactory(payment_status=PaymentStatus.CANCELED, payment_due_at=past)
    zero = RegistrationFactory()
    # payment_hold_hours = 0: the hold ends when the registration is made; it never held a seat.
    Registration.objects.filter(pk=zero.pk).update(payment_due_at=zero.created_at)

    assert expire_holds().expired == 0
    zero.refresh_from_db()
    assert zero.payment_status == PaymentStatus.PENDING


def test_hold_sweep_offers_the_seats_it_frees_to_the_waitlist(django_capture_on_commit_callbacks):
    slot = priced_slot(capacity=1)
    run_out(RegistrationFactory(slot=slot))
    waiting = WaitlistEntryFactory(course=slot.course, waitlist_position=1)

    with django_capture_on_commit_callbacks(execute=True):
        expire_holds()

    waiting.refresh_from_db()
    assert waiting.status == WaitlistEntry.Status.OFFERED


def test_seat_counts_never_depend_on_the_sweep_having_run():
    slot = priced_slot(capacity=1)
    registration = RegistrationFactory(slot=slot)

    with time_machine.travel(registration.payment_due_at + datetime.timedelta(minutes=1), tick=False):
        assert seats.seats_left(slot) == 1


def test_hold_expired_email_tells_a_student_who_reported_paying_that_the_studio_will_check():
    registration = run_out(RegistrationFactory(payment_reported_at=timezone.now() - datetime.timedelta(hours=2)))

    expire_holds()

    (log,) = emails("hold_expired")
    assert registration.reference in log.subject
    assert "the studio will check it" in log.body_text


def test_reopening_emails_the_payment_instructions_again_each_time(django_capture_on_commit_callbacks, mailoutbox):
    from django.contrib.auth.models import User

    owner = User.objects.create_superuser(username="owner-reopen", password=None)
    registration = RegistrationFactory(payment_status=Registration.PaymentStatus.CANCELED)

    with django_capture_on_commit_callbacks(execute=True):
        transitions.reopen_registration(registration=registration, actor=owner)
    transitions.cancel_registration(registration=registration, actor=owner, reason="again")
    with django_capture_on_commit_callbacks(execute=True):
        transitions.reopen_registration(registration=registration, actor=owner)

    received = EmailLog.objects.filter(kind="registration_received", about_id=registration.pk)
    assert received.count() == 2
    assert registration.reference in received.first().body_text
    assert "Pay with" in received.first().body_text


def test_reopening_a_free_registration_confirms_it_at_once():
    from django.contrib.auth.models import User

    owner = User.objects.create_superuser(username="owner-free", password=None)
    registration = RegistrationFactory(
        payment_status=Registration.PaymentStatus.CANCELED, payment_amount=0, payment_method=""
    )

    transitions.reopen_registration(registration=registration, actor=owner)

    registration.refresh_from_db()
    assert registration.payment_status == Registration.PaymentStatus.COMPLETED
    assert EmailLog.objects.filter(kind="registration_confirmed", about_id=registration.pk).exists()


def test_reopening_a_registration_whose_money_is_still_on_it_confirms_it_with_nothing_to_pay(owner):
    registration = RegistrationFactory(payment_status=PaymentStatus.COMPLETED, payment_amount=Decimal("120.00"))
    PaymentFactory(registration=registration, amount=Decimal("120.00"))
    cancel_registration(registration=registration, actor=owner, reason="By mistake", settle="keep")

    reopen_registration(registration=registration, actor=owner)

    registration.refresh_from_db()
    assert registration.payment_status == PaymentStatus.COMPLETED  # not pending, asking for $120 it has received
    assert registration.payment_due_at is None
    assert not EmailLog.objects.filter(kind="registration_received").exists()
    assert "We received your payment" in EmailLog.objects.get(kind="payment_confirmed").body_text
