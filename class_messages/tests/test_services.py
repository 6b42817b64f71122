"""Message a class (README "The studio's admin"): its roster as the other apps compute it, one email per student through
the queue, the student's choice to stop such messages, and nothing sent on bad input."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from attendance.tests.factories import ClassSessionFactory
from class_messages import selectors, services
from class_messages.models import Audience, ClassMessage, MessageOptOut
from class_messages.selectors import Target
from class_messages.tests.factories import ClassMessageFactory
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.services import anonymise_student
from students.tests.factories import StudentFactory
from studio.models import EmailLog
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db

PaymentStatus = Registration.PaymentStatus
PAST = timezone.now() - datetime.timedelta(hours=1)


@pytest.fixture
def house():
    """A course with two slots: on the first, a paid, a pending (holding), a pending whose hold ran out, a canceled
    and a drop-in for a class already past; on the second, one paid; and a waitlist."""
    course = CourseFactory(name="House L1", start_date=timezone.localdate() - datetime.timedelta(days=14))
    tuesday, thursday = CourseSlotFactory(course=course), CourseSlotFactory(course=course, day_of_week=3)
    people = {
        name: StudentFactory(first_name=name, last_name="Lima", email=f"{name.lower()}@example.org")
        for name in ["Paid", "Pending", "Lapsed", "Canceled", "Past", "Thursday", "Waiting", "Offered"]
    }
    RegistrationFactory(student=people["Paid"], slot=tuesday, payment_status=PaymentStatus.COMPLETED)
    RegistrationFactory(student=people["Pending"], slot=tuesday)
    RegistrationFactory(student=people["Lapsed"], slot=tuesday, payment_due_at=PAST)
    RegistrationFactory(student=people["Canceled"], slot=tuesday, payment_status=PaymentStatus.CANCELED)
    RegistrationFactory(
        student=people["Past"],
        slot=tuesday,
        pricing_type="drop_in",
        class_date=tuesday.class_dates()[0],
        payment_status=PaymentStatus.COMPLETED,
    )
    RegistrationFactory(student=people["Thursday"], slot=thursday, payment_status=PaymentStatus.COMPLETED)
    WaitlistEntryFactory(student=people["Waiting"], course=course, preferred_slot=thursday)
    WaitlistEntryFactory(
        student=people["Offered"],
        course=course,
        status=WaitlistEntry.Status.OFFERED,
        offer_slot=tuesday,
        offer_expires_at=timezone.now() + datetime.timedelta(days=1),
        offered_at=timezone.now(),
        offer_token_hash="0" * 64,
    )
    return course, tuesday, thursday, people


def names(students):
    return [student.first_name for student in students]


# --- who it goes to --------------------------------------------------------------------------------------------------


def test_a_courses_roster_is_its_paid_or_seat_holding_students_but_not_past_drop_ins(house):
    course, *_rest = house
    target = Target.of(course)

    assert names(selectors.roster(target, audience=Audience.PAID)) == ["Paid", "Thursday"]
    assert sorted(names(selectors.roster(target, audience=Audience.PAID_AND_PENDING))) == [
        "Paid",
        "Pending",
        "Thursday",
    ]


def test_a_slots_roster_and_waitlist_are_its_own(house):
    _course, tuesday, thursday, _people = house

    assert names(selectors.roster(Target.of(tuesday), audience=Audience.PAID)) == ["Paid"]
    assert names(selectors.waiting(Target.of(tuesday))) == ["Offered"]
    assert names(selectors.waiting(Target.of(thursday))) == ["Waiting"]


def test_a_sessions_roster_is_the_doors_roster(house):
    _course, tuesday, _thursday, people = house
    session = ClassSessionFactory(slot=tuesday, session_date=tuesday.class_dates()[0])

    paid = selectors.roster(Target.of(session), audience=Audience.PAID)
    everyone = selectors.roster(Target.of(session), audience=Audience.PAID_AND_PENDING)

    # The drop-in for that date is on that session's roster, as the door shows it.
    assert sorted(names(paid)) == ["Paid", "Past"]
    assert sorted(names(everyone)) == ["Paid", "Past", "Pending"]


def test_recipients_count_each_student_once_and_leave_out_who_stopped_messages(house):
    course, _tuesday, _thursday, people = house
    RegistrationFactory(student=people["Waiting"], slot=house[2], payment_status=PaymentStatus.COMPLETED)
    MessageOptOut.objects.create(student=people["Thursday"])

    sending = selectors.recipients(Target.of(course), audience=Audience.PAID, include_waitlist=True)

    assert names(sending.students) == ["Offered", "Paid", "Waiting"]
    assert names(sending.opted_out) == ["Thursday"]
    assert sending.count == 3


def test_recipients_leave_out_an_erased_student_who_stays_on_the_roster(house):
    course, _tuesday, _thursday, people = house
    anonymise_student(student=people["Thursday"])  # paid: their registration stays, anonymised

    sending = selectors.recipients(Target.of(course), audience=Audience.PAID, include_waitlist=False)

    assert names(sending.students) == ["Paid"]
    assert [student.pk for student in sending.erased] == [people["Thursday"].pk]
    assert sending.opted_out == [] and sending.count == 1


# --- sending -----------------------------------------------------------------------------------------------------------


def test_send_emails_each_student_once_through_the_queue_about_the_class_and_records_it(
    house, django_user_model, django_capture_on_commit_callbacks, mailoutbox
):
    course, tuesday, _thursday, _people = house
    owner = django_user_model.objects.create_user(username="owner")

    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_class_message(
            target=Target.of(tuesday),
            audience=Audience.PAID_AND_PENDING,
            include_waitlist=True,
            subject="  Room\r\nchange ",
            body="Tonight we dance in Studio B.\nBring <water> & shoes.",
            sent_by=owner,
        )

    assert (message.course, message.slot, message.session) == (course, tuesday, None)
    assert (message.subject, message.recipient_count, message.sent_by) == ("Room change", 3, owner)
    logs = EmailLog.objects.filter(kind="class_message").order_by("to_email")
    assert [log.to_email for log in logs] == ["offered@example.org", "paid@example.org", "pending@example.org"]
    assert {log.about for log in logs} == {tuesday}
    assert {log.status for log in logs} == {EmailLog.Status.SENT}
    assert len(mailoutbox) == 3
    paid = next(log for log in logs if log.to_email == "paid@example.org")
    assert paid.subject == "Room change"
    assert paid.body_text.startswith("Hi Paid,\n\nTonight we dance in Studio B.\nBring <water> & shoes.")
    assert "Bring &lt;water&gt; &amp; shoes." in paid.body_html
    assert "/messages/stop/" in paid.body_text and "/messages/stop/" in paid.body_html


def test_a_student_who_stopped_class_messages_gets_none_but_still_gets_payment_emails(
    house, django_capture_on_commit_callbacks
):
    course, _tuesday, _thursday, people = house
    services.stop_class_messages(student=people["Paid"])
    pending = Registration.objects.get(student=people["Pending"])

    with django_capture_on_commit_callbacks(execute=True):
        services.send_class_message(
            target=Target.of(course),
            audience=Audience.PAID,
            include_waitlist=False,
            subject="Hi",
            body="x",
            sent_by=None,
        )
        from registrations.transitions import confirm_payment

        confirm_payment(registration=pending, actor=None)

    assert not EmailLog.objects.filter(kind="class_message", to_email="paid@example.org").exists()
    confirmed = EmailLog.objects.get(kind="payment_confirmed")
    assert confirmed.to_email == "pending@example.org"
    # Class messages only: no other email carries the link.
    assert "/messages/stop/" not in confirmed.body_text + confirmed.body_html


def test_a_message_to_a_class_never_goes_to_an_erased_student(house, django_capture_on_commit_callbacks, mailoutbox):
    course, _tuesday, _thursday, people = house
    erased = anonymise_student(student=people["Thursday"])

    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_class_message(
            target=Target.of(course),
            audience=Audience.PAID,
            include_waitlist=False,
            subject="Hi",
            body="x",
            sent_by=None,
        )

    assert message.recipient_count == 1
    assert not EmailLog.objects.filter(to_email=erased.email).exists()
    assert [message.to for message in mailoutbox] == [["paid@example.org"]]


@pytest.mark.parametrize(
    "subject, body, field",
    [
        ("", "Tonight in Studio B.", "subject"),
        ("   ", "Tonight in Studio B.", "subject"),
        ("Room change", "", "body"),
        ("Room change", " \n\t ", "body"),
        ("Room change", "x" * 100_000, "body"),
        ("x" * 151, "Tonight in Studio B.", "subject"),
    ],
)
def test_an_empty_or_oversized_message_is_refused_and_nothing_is_sent(house, subject, body, field):
    course, *_rest = house

    with pytest.raises(ValidationError) as error:
        services.send_class_message(
            target=Target.of(course),
            audience=Audience.PAID,
            include_waitlist=False,
            subject=subject,
            body=body,
            sent_by=None,
        )

    assert field in error.value.message_dict
    assert not ClassMessage.objects.exists() and not EmailLog.objects.exists()


def test_the_oversized_message_says_how_long_it_is():
    with pytest.raises(ValidationError) as error:
        services.clean_message(subject="Hi", body="x" * 100_000)

    assert error.value.message_dict["body"] == ["Keep the message under 5000 characters (this one has 100000)."]


def test_a_message_nobody_would_get_is_refused_and_nothing_is_recorded():
    course = CourseFactory()

    with pytest.raises(ValidationError, match="Nobody would get this message"):
        services.send_class_message(
            target=Target.of(course),
            audience=Audience.PAID,
            include_waitlist=True,
            subject="Hi",
            body="x",
            sent_by=None,
        )

    assert not ClassMessage.objects.exists()


def test_an_unknown_audience_is_refused(house):
    with pytest.raises(ValidationError) as error:
        services.send_class_message(
            target=Target.of(house[0]),
            audience="everyone",
            include_waitlist=False,
            subject="Hi",
            body="x",
            sent_by=None,
        )

    assert "audience" in error.value.message_dict


# --- stopping them -----------------------------------------------------------------------------------------------------


def test_unsubscribe_links_name_their_student_and_refuse_anything_tampered():
    student = StudentFactory()
    token = services.unsubscribe_url(student).rstrip("/").rsplit("/", 1)[1]

    assert services.student_for_unsubscribe_token(token) == student
    assert services.student_for_unsubscribe_token(token[:-2]) is None
    assert services.student_for_unsubscribe_token("x" * 10_000) is None
    assert services.student_for_unsubscribe_token("") is None
    assert services.student_for_unsubscribe_token("1") is None


def test_stopping_and_resuming_class_messages_is_idempotent():
    student = StudentFactory()

    assert services.stop_class_messages(student=student) is True
    assert services.stop_class_messages(student=student) is False
    assert services.receives_class_messages(student) is False
    assert services.resume_class_messages(student=student) is True
    assert services.resume_class_messages(student=student) is False
    assert services.receives_class_messages(student) is True


# --- the database's rules ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [{"audience": "everyone"}, {"recipient_count": 0}, {"session_id": None, "slot_id": None}],
    ids=["audience", "nobody", "session-without-slot"],
)
def test_the_database_refuses_a_bad_message_row(fields):
    session = ClassSessionFactory()
    if "session_id" in fields:
        fields = {"session": session, "slot": None}
    with pytest.raises(IntegrityError):
        ClassMessageFactory(course=session.course, **fields)
