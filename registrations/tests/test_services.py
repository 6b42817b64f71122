import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from courses.models import Course
from courses.tests.factories import CourseFactory, CourseSlotFactory, priced_slot
from registrations import services
from registrations.errors import (
    AlreadyRegistered,
    InvalidChoice,
    NotEligible,
    RegistrationClosed,
    RegistrationError,
    RegistrationLimitReached,
    SlotFull,
)
from registrations.models import Registration, RegistrationEvent
from registrations.services import register_student, report_payment
from registrations.tests.factories import RegistrationFactory
from students.models import Student
from students.services import StudentDetails
from students.tests.factories import CrewMemberFactory, StudentFactory
from studio.models import EmailLog, SystemSetting
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def set_setting(key, value):
    SystemSetting.objects.update_or_create(setting_key=key, defaults={"setting_value": value})


def details(email="ana@example.org", *, first_name="Ana", last_name="Lima", phone="+1 415 555 0100", **extra):
    return StudentDetails(email=email, first_name=first_name, last_name=last_name, phone=phone, **extra)


def register(slot, *, who=None, pricing_type="full_package", payment_method="venmo", course=None, **kwargs):
    return register_student(
        course=course or slot.course,
        slot=slot,
        pricing_type=pricing_type,
        payment_method=payment_method,
        details=who or details(),
        **kwargs,
    )


def offer(slot, *, expires_in=datetime.timedelta(hours=24)):
    return WaitlistEntryFactory(
        course=slot.course,
        status=WaitlistEntry.Status.OFFERED,
        waitlist_position=None,
        offer_slot=slot,
        offer_token_hash=f"hash-{slot.pk}-{WaitlistEntry.objects.count()}",
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + expires_in,
    )


def nothing_written():
    return Registration.objects.count() == 0 and Student.objects.count() == 0 and EmailLog.objects.count() == 0


# --- the happy path ------------------------------------------------------------------------------------------------


def test_register_student_creates_pending_registration_holding_the_seat_for_the_hold_hours():
    slot = priced_slot()
    before = timezone.now()

    registration = register(slot)

    assert registration.payment_status == Registration.PaymentStatus.PENDING
    assert registration.course == slot.course
    assert registration.pricing_type == "full_package"
    assert registration.class_date is None
    assert registration.payment_method == Registration.PaymentMethod.VENMO
    hold = registration.payment_due_at - before
    assert datetime.timedelta(hours=47, minutes=59) < hold <= datetime.timedelta(hours=48, seconds=5)
    assert registration.student.email == "ana@example.org"


def test_register_student_creates_a_general_student_with_profile_complete():
    registration = register(priced_slot())

    student = registration.student
    assert student.student_type == Student.StudentType.GENERAL
    assert (student.first_name, student.last_name, student.phone) == ("Ana", "Lima", "+1 415 555 0100")
    assert student.profile_complete is True


def test_register_student_without_phone_leaves_profile_incomplete():
    registration = register(priced_slot(), who=details(phone=""))

    assert registration.student.profile_complete is False


def test_register_student_takes_amount_from_the_price_row():
    slot = priced_slot(full_package="120.00", drop_in="35.00")

    registration = register(slot)

    registration.refresh_from_db()
    assert registration.payment_amount == Decimal("120.00")


def test_register_student_accepts_a_free_class():
    slot = priced_slot(full_package="0.00", drop_in=None)

    registration = register(slot)

    registration.refresh_from_db()
    assert registration.payment_amount == Decimal("0.00")


def test_register_student_records_an_event_from_nothing_to_pending_by_the_student():
    registration = register(priced_slot())

    events = list(registration.events.all())
    assert [(e.from_status, e.to_status, e.actor_label) for e in events] == [("", "pending", "student")]


def test_register_student_queues_the_registration_received_email():
    registration = register(priced_slot())

    log = EmailLog.objects.get()
    assert log.kind == "registration_received"
    assert log.to_email == "ana@example.org"
    assert log.dedupe_key == f"registration_received:{registration.pk}"


# --- open, eligibility, choices -------------------------------------------------------------------------------------


def test_register_student_refuses_when_registration_is_closed():
    slot = priced_slot()
    set_setting("registration_open", "off")

    with pytest.raises(RegistrationClosed):
        register(slot)

    assert nothing_written()


def test_register_student_refuses_a_general_student_on_a_crew_only_course():
    slot = priced_slot(course=CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER))
    StudentFactory(email="gen@example.org")

    with pytest.raises(NotEligible):
        register(slot, who=details("gen@example.org"))
    with pytest.raises(NotEligible):
        register(slot, who=details("new@example.org"))

    assert Registration.objects.count() == 0
    assert not Student.objects.filter(email="new@example.org").exists()


def test_register_student_lets_a_crew_member_into_a_crew_only_course():
    slot = priced_slot(course=CourseFactory(required_student_type=Course.RequiredStudentType.CREW_MEMBER))
    crew = CrewMemberFactory(email="crew@example.org")

    registration = register(slot, who=details("crew@example.org"), verified_student=crew)

    assert registration.student == crew
    crew.refresh_from_db()
    assert crew.student_type == Student.StudentType.CREW_MEMBER


def test_register_student_never_changes_the_student_type():
    crew = CrewMemberFactory(email="crew@example.org")

    register(priced_slot(), who=details("crew@example.org"))

    crew.refresh_from_db()
    assert crew.student_type == Student.StudentType.CREW_MEMBER


def test_register_student_refuses_a_slot_of_another_course():
    slot = priced_slot()
    other_course = CourseFactory()

    with pytest.raises(InvalidChoice) as error:
        register(slot, course=other_course)

    assert error.value.field == "slot"
    assert nothing_written()


@pytest.mark.parametrize("course_kwargs", [{"is_active": False}, {"start_date": TODAY - datetime.timedelta(days=30)}])
def test_register_student_refuses_an_inactive_or_past_course(course_kwargs):
    if "start_date" in course_kwargs:
        course_kwargs["end_date"] = TODAY - datetime.timedelta(days=1)
    slot = priced_slot(course=CourseFactory(**course_kwargs))

    with pytest.raises(InvalidChoice):
        register(slot)

    assert nothing_written()


def test_register_student_refuses_a_slot_whose_classes_are_all_past():
    # The course runs until next week but this slot's weekday has no class left.
    course = CourseFactory(start_date=TODAY - datetime.timedelta(days=6), end_date=TODAY + datetime.timedelta(days=1))
    slot = priced_slot(course=course, day_of_week=(TODAY - datetime.timedelta(days=1)).weekday())

    with pytest.raises(InvalidChoice) as error:
        register(slot)

    assert error.value.field == "slot"


@pytest.mark.parametrize("pricing_type", ["drop_in", "bogus"])
def test_register_student_refuses_a_pricing_type_without_a_price_row(pricing_type):
    slot = priced_slot(drop_in=None)

    with pytest.raises(InvalidChoice) as error:
        register(slot, pricing_type=pricing_type, class_date=slot.class_dates()[0])

    assert error.value.field == "pricing_type"
    assert nothing_written()


def test_register_student_refuses_an_unknown_payment_method():
    with pytest.raises(InvalidChoice) as error:
        register(priced_slot(), payment_method="cash")

    assert error.value.field == "payment_method"


# --- class dates ----------------------------------------------------------------------------------------------------


def test_register_student_requires_a_class_date_for_a_drop_in_on_a_series():
    slot = priced_slot()

    with pytest.raises(InvalidChoice) as error:
        register(slot, pricing_type="drop_in")

    assert error.value.field == "class_date"


def test_register_student_stores_the_class_date_of_a_drop_in_on_a_series():
    slot = priced_slot()
    second_class = slot.class_dates()[1]

    registration = register(slot, pricing_type="drop_in", class_date=second_class)

    assert registration.class_date == second_class
    assert registration.payment_amount == Decimal("35.00")


def test_register_student_refuses_a_date_that_is_not_a_class_date():
    slot = priced_slot()

    with pytest.raises(InvalidChoice) as error:
        register(slot, pricing_type="drop_in", class_date=slot.class_dates()[0] + datetime.timedelta(days=1))

    assert error.value.field == "class_date"


def test_register_student_refuses_a_class_date_in_the_past():
    course = CourseFactory(start_date=TODAY - datetime.timedelta(days=14), end_date=TODAY + datetime.timedelta(days=14))
    slot = priced_slot(course=course)
    past = [day for day in slot.class_dates() if day < TODAY][0]

    with pytest.raises(InvalidChoice) as error:
        register(slot, pricing_type="drop_in", class_date=past)

    assert error.value.field == "class_date"


def test_register_student_refuses_a_class_date_on_a_full_package():
    slot = priced_slot()

    with pytest.raises(InvalidChoice) as error:
        register(slot, class_date=slot.class_dates()[0])

    assert error.value.field == "class_date"


def dated_slot(**kwargs):
    course = CourseFactory(course_type=Course.CourseType.DROP_IN, end_date=TODAY + datetime.timedelta(days=7))
    return priced_slot(course=course, full_package=None, **kwargs)


def test_register_student_stores_no_class_date_for_a_drop_in_on_a_dated_course():
    slot = dated_slot()

    without_date = register(slot, pricing_type="drop_in")
    with_date = register(slot, pricing_type="drop_in", class_date=slot.practice_date, who=details("bo@example.org"))

    assert without_date.class_date is None
    assert with_date.class_date is None


def test_register_student_refuses_another_date_on_a_dated_course():
    slot = dated_slot()

    with pytest.raises(InvalidChoice) as error:
        register(slot, pricing_type="drop_in", class_date=slot.practice_date + datetime.timedelta(days=1))

    assert error.value.field == "class_date"


# --- seats ----------------------------------------------------------------------------------------------------------


def test_register_student_refuses_a_full_slot():
    slot = priced_slot(capacity=1)
    RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.COMPLETED)

    with pytest.raises(SlotFull):
        register(slot)

    assert Registration.objects.count() == 1
    assert not Student.objects.filter(email="ana@example.org").exists()


def test_register_student_takes_a_seat_whose_hold_ran_out_without_any_sweep():
    slot = priced_slot(capacity=1)
    stale = RegistrationFactory(slot=slot, payment_due_at=timezone.now() - datetime.timedelta(minutes=1))

    registration = register(slot)

    assert registration.payment_status == Registration.PaymentStatus.PENDING
    stale.refresh_from_db()
    assert stale.payment_status == Registration.PaymentStatus.PENDING  # someone else's row: left for the sweep


def test_register_student_with_zero_hold_hours_holds_nothing():
    set_setting("payment_hold_hours", "0")
    slot = priced_slot(capacity=1)

    first = register(slot)
    second = register(slot, who=details("bo@example.org"))

    assert first.payment_due_at <= timezone.now()
    assert second.payment_status == Registration.PaymentStatus.PENDING


def test_register_student_counts_an_outstanding_waitlist_offer_as_a_taken_seat():
    slot = priced_slot(capacity=1)
    offer(slot)

    with pytest.raises(SlotFull):
        register(slot)


def test_register_student_ignores_an_expired_waitlist_offer():
    slot = priced_slot(capacity=1)
    offer(slot, expires_in=-datetime.timedelta(minutes=1))

    assert register(slot).pk


def test_register_student_refuses_a_walk_up_while_someone_waits_for_the_slot():
    slot = priced_slot(capacity=2)
    RegistrationFactory(slot=slot)
    WaitlistEntryFactory(course=slot.course)  # no preferred slot: waits for any

    with pytest.raises(SlotFull):
        register(slot)


def test_register_student_counts_only_waiting_entries_for_this_slot_or_any_slot():
    slot = priced_slot(capacity=2)
    other_slot = priced_slot(course=slot.course)
    RegistrationFactory(slot=slot)
    WaitlistEntryFactory(course=slot.course, preferred_slot=other_slot)
    WaitlistEntryFactory(course=slot.course, status=WaitlistEntry.Status.LEFT, waitlist_position=None)

    assert register(slot).pk


def test_register_student_allows_a_walk_up_when_seats_outnumber_the_waiting():
    slot = priced_slot(capacity=3)
    RegistrationFactory(slot=slot)
    WaitlistEntryFactory(course=slot.course, preferred_slot=slot)

    assert register(slot).pk


def test_register_student_drop_in_takes_a_seat_on_its_date_only():
    slot = priced_slot(capacity=1)
    first, second = slot.class_dates()[:2]
    RegistrationFactory(slot=slot, pricing_type="drop_in", class_date=first)

    assert register(slot, pricing_type="drop_in", class_date=second).class_date == second
    with pytest.raises(SlotFull):
        register(slot, pricing_type="drop_in", class_date=first, who=details("bo@example.org"))
    with pytest.raises(SlotFull):
        register(slot, who=details("cy@example.org"))


def test_register_student_full_package_takes_a_seat_on_every_date():
    slot = priced_slot(capacity=1)
    RegistrationFactory(slot=slot)

    with pytest.raises(SlotFull):
        register(slot, pricing_type="drop_in", class_date=slot.class_dates()[-1])


# --- duplicates and limits ------------------------------------------------------------------------------------------


def test_register_student_refuses_a_second_active_registration_and_emails_the_link():
    slot = priced_slot()
    first = register(slot, who=details(phone=""))
    EmailLog.objects.all().delete()

    with pytest.raises(AlreadyRegistered) as error:
        register(slot, who=details(phone="+1 415 555 0199"))

    assert "emailed you the link" in str(error.value)
    assert Registration.objects.count() == 1
    assert RegistrationEvent.objects.count() == 1
    first.student.refresh_from_db()
    assert first.student.phone == ""  # nothing written, not even a blank filled
    log = EmailLog.objects.get()
    assert (log.kind, log.to_email) == ("already_registered", "ana@example.org")
    assert first.get_absolute_url() in log.body_text


def test_register_student_refuses_a_drop_in_on_a_slot_held_as_a_full_package_and_vice_versa():
    slot = priced_slot()
    register(slot)
    with pytest.raises(AlreadyRegistered):
        register(slot, pricing_type="drop_in", class_date=slot.class_dates()[0])

    other = priced_slot()
    register(other, pricing_type="drop_in", class_date=other.class_dates()[0])
    with pytest.raises(AlreadyRegistered):
        register(other)


def test_register_student_allows_drop_ins_on_two_different_dates():
    slot = priced_slot()
    first, second = slot.class_dates()[:2]

    register(slot, pricing_type="drop_in", class_date=first)
    register(slot, pricing_type="drop_in", class_date=second)

    assert Registration.objects.count() == 2
    with pytest.raises(AlreadyRegistered):
        register(slot, pricing_type="drop_in", class_date=first)


def test_register_student_is_not_blocked_by_a_canceled_registration():
    slot = priced_slot()
    student = StudentFactory(email="ana@example.org")
    RegistrationFactory(slot=slot, student=student, payment_status=Registration.PaymentStatus.CANCELED)

    assert register(slot).payment_status == Registration.PaymentStatus.PENDING


def test_register_student_expires_its_own_run_out_hold_and_registers_again():
    slot = priced_slot()
    student = StudentFactory(email="ana@example.org")
    stale = RegistrationFactory(slot=slot, student=student, payment_due_at=timezone.now() - datetime.timedelta(hours=1))

    fresh = register(slot)

    stale.refresh_from_db()
    assert stale.payment_status == Registration.PaymentStatus.EXPIRED
    assert [(e.from_status, e.to_status, e.actor_label) for e in stale.events.all()] == [
        ("pending", "expired", "system")
    ]
    assert fresh.payment_status == Registration.PaymentStatus.PENDING


def test_register_student_turns_a_unique_constraint_race_into_already_registered(monkeypatch):
    slot = priced_slot()
    register(slot)
    EmailLog.objects.all().delete()
    # The check misses, as when the other request commits right after it: the unique constraint refuses the insert.
    monkeypatch.setattr(services, "_refuse_duplicate", lambda **kwargs: None)

    with pytest.raises(AlreadyRegistered):
        register(slot)

    assert Registration.objects.count() == 1
    assert EmailLog.objects.get().kind == "already_registered"


def test_register_student_enforces_max_registrations_per_student():
    set_setting("max_registrations_per_student", "2")
    register(priced_slot())
    register(priced_slot())

    with pytest.raises(RegistrationLimitReached):
        register(priced_slot())

    assert Registration.objects.count() == 2


def test_register_student_limit_ignores_canceled_and_run_out_registrations():
    set_setting("max_registrations_per_student", "1")
    student = StudentFactory(email="ana@example.org")
    RegistrationFactory(student=student, payment_status=Registration.PaymentStatus.CANCELED)
    RegistrationFactory(student=student, payment_due_at=timezone.now() - datetime.timedelta(hours=1))

    assert register(priced_slot()).pk


# --- students: one per email, privacy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Ana@Example.org", "  ana@example.ORG  "),
        ("\u00a0ana@example.org\u200b", "ANA@EXAMPLE.ORG"),
        ("anne@BÜCHER.example", "anne@bücher.example"),
    ],
)
def test_register_student_maps_email_variants_to_one_student(first, second):
    one = register(priced_slot(), who=details(first))
    two = register(priced_slot(), who=details(second))

    assert one.student == two.student
    assert Student.objects.count() == 1
    assert one.student.email == second.strip().lower()


def test_register_student_refuses_a_non_ascii_local_part_with_an_email_field_error():
    # Django's EmailValidator accepts only ASCII before the @; ÄNNE and änne are refused alike, never split in two.
    for address in ["ÄNNE@example.org", "änne@example.org"]:
        with pytest.raises(RegistrationError) as error:
            register(priced_slot(), who=details(address))
        assert error.value.field == "email"

    assert Student.objects.count() == 0


def test_register_student_unverified_submission_does_not_overwrite_the_stored_profile():
    stored = StudentFactory(email="ana@example.org", first_name="Ana", last_name="Lima", phone="+1 415 555 0100")

    register(priced_slot(), who=details(first_name="Mallory", last_name="Evil", phone="+1 999 999 9999"))

    stored.refresh_from_db()
    assert (stored.first_name, stored.last_name, stored.phone) == ("Ana", "Lima", "+1 415 555 0100")


def test_register_student_unverified_submission_fills_blank_fields():
    stored = StudentFactory(email="ana@example.org", phone="", instagram_handle="")
    assert not stored.profile_complete

    register(priced_slot(), who=details(phone="+1 415 555 0123", instagram_handle="ana.dances"))

    stored.refresh_from_db()
    assert (stored.phone, stored.instagram_handle) == ("+1 415 555 0123", "ana.dances")
    assert stored.profile_complete is True


def test_register_student_verified_student_may_overwrite_the_profile():
    stored = StudentFactory(email="ana@example.org", first_name="Ana", last_name="Lima")

    register(priced_slot(), who=details(first_name="Anna", last_name="Lima-Silva"), verified_student=stored)

    stored.refresh_from_db()
    assert (stored.first_name, stored.last_name) == ("Anna", "Lima-Silva")


def test_register_student_refuses_a_verified_student_with_another_email():
    stored = StudentFactory(email="ana@example.org")

    with pytest.raises(RegistrationError) as error:
        register(priced_slot(), who=details("bo@example.org"), verified_student=stored)

    assert error.value.field == "email"
    assert Registration.objects.count() == 0


# --- free text ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "A" * 300),
        ("last_name", "B" * 101),
        ("phone", "1" * 31),
        ("instagram_handle", "x" * 32),
        ("first_name", "Ana\x00"),
        ("last_name", "Li\x07ma"),
        ("first_name", "Eve\r\nBcc: victim@example.org"),
        ("first_name", "   "),
        ("email", "not-an-email"),
        ("email", "mailto:ana@example.org"),
        ("email", "ana@example.org, bo@example.org"),
    ],
)
def test_register_student_refuses_bad_free_text_with_a_field_error(field, value):
    who = details(**{field: value})

    with pytest.raises(RegistrationError) as error:
        register(priced_slot(), who=who)

    assert error.value.field == field
    assert str(error.value)
    assert nothing_written()


@pytest.mark.parametrize("name", ["Zoë 💃", "محمد", "O'Brien & Sons", "<script>alert(1)</script>", "張偉"])
def test_register_student_stores_names_as_typed(name):
    registration = register(priced_slot(), who=details(first_name=f"  {name} "))

    registration.student.refresh_from_db()
    assert registration.student.first_name == name


# --- report_payment -------------------------------------------------------------------------------------------------


def test_report_payment_records_time_and_method_and_changes_no_status():
    registration = RegistrationFactory()

    reported = report_payment(registration=registration, method="zelle")

    registration.refresh_from_db()
    assert registration.payment_status == Registration.PaymentStatus.PENDING
    assert registration.payment_reported_method == "zelle"
    assert registration.payment_reported_at is not None
    assert reported.payment_reported_at == registration.payment_reported_at
    assert registration.events.count() == 0


def test_report_payment_twice_updates_the_time():
    registration = RegistrationFactory()
    first = report_payment(registration=registration, method="venmo").payment_reported_at

    second = report_payment(registration=registration, method="venmo").payment_reported_at

    assert second >= first
    assert Registration.objects.get().payment_reported_method == "venmo"


@pytest.mark.parametrize(
    "status",
    [Registration.PaymentStatus.COMPLETED, Registration.PaymentStatus.CANCELED, Registration.PaymentStatus.EXPIRED],
)
def test_report_payment_refuses_a_registration_that_is_not_pending(status):
    registration = RegistrationFactory(payment_status=status)

    with pytest.raises(RegistrationError):
        report_payment(registration=registration, method="venmo")

    registration.refresh_from_db()
    assert registration.payment_reported_at is None


def test_report_payment_refuses_an_unknown_method():
    registration = RegistrationFactory()

    with pytest.raises(InvalidChoice):
        report_payment(registration=registration, method="bitcoin")


def test_register_student_uses_the_stored_slot_not_a_stale_copy():
    slot = priced_slot(capacity=5)
    stale_copy = type(slot).objects.get(pk=slot.pk)
    type(slot).objects.filter(pk=slot.pk).update(capacity=1)
    RegistrationFactory(slot=slot)

    with pytest.raises(SlotFull):
        register(stale_copy)


def test_course_slot_factory_dates_fit_these_tests():
    slot = CourseSlotFactory()
    assert len(slot.class_dates()) == 4
    assert slot.class_dates()[0] > TODAY
