import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from courses.tests.factories import CourseFactory, priced_slot
from registrations.errors import AlreadyRegistered
from registrations.models import Registration
from registrations.services import register_student, send_registration_received
from registrations.tests.factories import RegistrationFactory
from students.services import StudentDetails
from students.tests.factories import StudentFactory
from studio.emails import erased_address, is_erased_address, is_rendered, render_logged, resend_email, send_email
from studio.models import EmailLog, SystemSetting
from studio.tasks import deliver_email

pytestmark = pytest.mark.django_db


def set_setting(key, value):
    SystemSetting.objects.update_or_create(setting_key=key, defaults={"setting_value": value})


def register(slot, *, email="ana@example.org", first_name="Ana", payment_method="venmo"):
    return register_student(
        course=slot.course,
        slot=slot,
        pricing_type="full_package",
        payment_method=payment_method,
        details=StudentDetails(email=email, first_name=first_name, last_name="Lima", phone="+1 415 555 0100"),
    )


def html_of(message):
    (alternative,) = message.alternatives
    assert alternative.mimetype == "text/html"
    return alternative.content


@pytest.fixture
def venmo():
    set_setting("venmo_username", "Studio-Pay")


# --- registration received ------------------------------------------------------------------------------------------


def test_registration_received_is_sent_only_after_the_transaction_commits(
    django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        registration = register(priced_slot())

    assert mailoutbox == []
    assert EmailLog.objects.get().status == EmailLog.Status.QUEUED
    for callback in callbacks:
        callback()

    (message,) = mailoutbox
    assert message.to == ["ana@example.org"]
    log = EmailLog.objects.get()
    assert log.status == EmailLog.Status.SENT
    assert log.sent_at is not None
    assert log.dedupe_key == f"registration_received:{registration.pk}"


def test_registration_received_is_recorded_with_the_registration_and_rendered_after_the_commit(
    django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        registration = register(priced_slot())

    # In the registration's transaction: the row, with whom and what it is about and its key; no text yet.
    log = EmailLog.objects.get()
    assert (log.kind, log.to_email, log.about, log.status) == (
        "registration_received",
        "ana@example.org",
        registration,
        EmailLog.Status.QUEUED,
    )
    assert not is_rendered(log) and log.subject == log.body_html == ""
    for callback in callbacks:
        callback()

    log.refresh_from_db()
    assert is_rendered(log) and registration.reference in log.subject and registration.reference in log.body_text
    (message,) = mailoutbox
    assert (message.subject, message.body) == (log.subject, log.body_text)


def test_an_email_whose_process_died_after_the_commit_is_rendered_when_it_is_sent(
    django_capture_on_commit_callbacks, mailoutbox
):
    """The process died between the commit and its after-commit work: the row is there, unrendered, and the worker (or a
    resend) renders it from the registration when it sends it."""
    with django_capture_on_commit_callbacks(execute=False):  # the callbacks never run
        registration = register(priced_slot())
    log = EmailLog.objects.get()

    deliver_email.call(log.pk)

    log.refresh_from_db()
    assert log.status == EmailLog.Status.SENT
    (message,) = mailoutbox
    assert registration.reference in message.subject and registration.get_absolute_url() in message.body


def test_a_resend_of_an_email_not_rendered_yet_renders_it_first(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=False):
        registration = register(priced_slot())
    log = EmailLog.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        copy = resend_email(log=log)

    log.refresh_from_db()
    assert registration.reference in log.body_text
    assert (copy.subject, copy.body_text, copy.body_html) == (log.subject, log.body_text, log.body_html)
    assert [message.body for message in mailoutbox] == [log.body_text]


def test_an_email_rendered_twice_at_once_keeps_the_first_rendering(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        register(priced_slot())
    first, second = EmailLog.objects.get(), EmailLog.objects.get()
    render_logged(first)
    EmailLog.objects.filter(pk=first.pk).update(body_text="the first rendering\n")
    second_text = render_logged(second).body_text  # it had read the row before the first was stored

    assert second_text == "the first rendering\n"  # what is sent is what the log keeps
    assert EmailLog.objects.get().body_text == "the first rendering\n"  # not overwritten


def test_an_email_that_cannot_be_rendered_is_marked_failed_with_the_reason(mailoutbox):
    log = EmailLog.objects.create(kind="registration_received", to_email="a@example.org", subject="", body_text="")

    deliver_email.call(log.pk)

    log.refresh_from_db()
    assert log.status == EmailLog.Status.FAILED
    assert "cannot be written" in log.error
    assert mailoutbox == []


def test_registration_received_is_not_sent_when_the_registration_rolls_back(django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            register(priced_slot())
            raise RuntimeError("the view's outer transaction failed")

    assert callbacks == []
    assert mail.outbox == []
    assert EmailLog.objects.count() == 0


def test_registration_received_carries_amount_reference_payment_note_and_link(
    venmo, settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.SITE_URL = "https://dance.example"
    course = CourseFactory(name="House Foundations L1")
    with django_capture_on_commit_callbacks(execute=True):
        registration = register(priced_slot(course=course, full_package="120.00"))

    (message,) = mailoutbox
    link = "https://dance.example" + registration.get_absolute_url()
    assert registration.reference in message.subject
    assert "House Foundations L1" in message.subject
    for body in (message.body, html_of(message)):
        assert "$120.00" in body
        assert registration.reference in body
        assert link in body
        assert "@Studio-Pay" in body
        assert "Venmo" in body
    assert "https://venmo.com/Studio-Pay?txn=pay&amount=120.00&note=" in message.body
    assert "https://venmo.com/Studio-Pay?txn=pay&amp;amount=120.00&amp;note=" in html_of(message)
    assert "We hold your seat until" in message.body


def test_registration_received_for_zelle_shows_the_zelle_details(django_capture_on_commit_callbacks, mailoutbox):
    set_setting("zelle_recipient_name", "Dance Studio LLC")
    set_setting("zelle_phone", "+1 415 555 0100")
    with django_capture_on_commit_callbacks(execute=True):
        registration = register(priced_slot(), payment_method="zelle")

    (message,) = mailoutbox
    assert "Zelle" in message.body
    assert "Dance Studio LLC" in message.body
    assert "+1 415 555 0100" in message.body
    assert f"{registration.reference} " in message.body  # the memo
    assert "venmo.com" not in message.body


def test_registration_received_with_zero_hold_promises_no_held_seat(django_capture_on_commit_callbacks, mailoutbox):
    set_setting("payment_hold_hours", "0")
    with django_capture_on_commit_callbacks(execute=True):
        register(priced_slot())

    assert "We hold your seat" not in mailoutbox[0].body


def test_registration_received_renders_times_in_the_studio_time_zone(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.TIME_ZONE = "America/Los_Angeles"
    registration = RegistrationFactory(
        slot=priced_slot(
            course=CourseFactory(start_date=datetime.date(2030, 9, 2), end_date=datetime.date(2030, 9, 30)),
            day_of_week=1,  # Tuesdays
        ),
        payment_due_at=datetime.datetime(2030, 9, 2, 2, 0, tzinfo=datetime.UTC),  # 7 PM the day before in LA
    )

    with timezone.override("UTC"), django_capture_on_commit_callbacks(execute=True):
        send_registration_received(registration)

    body = mailoutbox[0].body
    assert "We hold your seat until Sun, Sep 1, 2030, 7 pm." in body
    assert "Tuesdays 7–8:30 pm, Sep 3 – Sep 24" in body


def test_registration_received_goes_out_once_per_registration(django_capture_on_commit_callbacks, mailoutbox):
    registration = RegistrationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        send_registration_received(registration)
        send_registration_received(registration)

    assert len(mailoutbox) == 1
    assert EmailLog.objects.filter(kind="registration_received").count() == 1


# --- already registered ---------------------------------------------------------------------------------------------


def test_already_registered_email_links_to_the_existing_registration(
    settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.SITE_URL = "https://dance.example"
    slot = priced_slot()
    with django_capture_on_commit_callbacks(execute=True):
        first = register(slot)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AlreadyRegistered):
        register(slot, email="  ANA@example.org ")

    (message,) = mailoutbox
    assert message.to == ["ana@example.org"]
    assert "already registered" in message.subject
    link = "https://dance.example" + first.get_absolute_url()
    assert link in message.body
    assert link in html_of(message)
    assert EmailLog.objects.filter(kind="already_registered", status=EmailLog.Status.SENT).count() == 1


# --- notifications off, escaping, headers ---------------------------------------------------------------------------


def test_emails_are_recorded_as_skipped_and_not_sent_when_notifications_are_off(
    django_capture_on_commit_callbacks, mailoutbox
):
    set_setting("email_notifications_enabled", "off")
    slot = priced_slot()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        register(slot)
        with pytest.raises(AlreadyRegistered):
            register(slot)

    assert callbacks == []
    assert mailoutbox == []
    assert sorted(EmailLog.objects.values_list("kind", "status")) == [
        ("already_registered", "skipped"),
        ("registration_received", "skipped"),
    ]
    # Never delivered, so rendered at once: the log shows what would have gone out.
    assert all(is_rendered(log) for log in EmailLog.objects.all())


def test_a_script_name_is_escaped_in_html_and_literal_in_text(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        register(priced_slot(), first_name="<script>alert(1)</script> O'Brien & Sons")

    (message,) = mailoutbox
    assert "Hi <script>alert(1)</script> O'Brien & Sons," in message.body
    html = html_of(message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Brien &amp; Sons" in html


def test_cr_lf_in_names_never_reaches_a_header(django_capture_on_commit_callbacks, mailoutbox):
    student = StudentFactory(email="eve@example.org", first_name="Eve\r\nBcc: victim@example.org")
    course = CourseFactory(name="House\r\nBcc: victim@example.org")
    registration = RegistrationFactory(student=student, slot=priced_slot(course=course))

    with django_capture_on_commit_callbacks(execute=True):
        send_registration_received(registration)

    (message,) = mailoutbox
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.to == ["eve@example.org"]
    assert message.bcc == []
    assert message.recipients() == ["eve@example.org"]
    headers = message.message().as_string().split("\n\n", 1)[0]
    assert "\nBcc:" not in headers
    assert "victim@example.org" not in message.message()["To"]
    assert EmailLog.objects.get().status == EmailLog.Status.SENT


# --- send_email / deliver_email -------------------------------------------------------------------------------------


def test_send_email_with_a_used_dedupe_key_returns_none():
    context = {"registration": RegistrationFactory()}
    context["student"] = context["registration"].student
    context["course"] = context["registration"].course

    first = send_email(kind="already_registered", to="a@example.org", context=context, dedupe_key="k:1")
    second = send_email(kind="already_registered", to="a@example.org", context=context, dedupe_key="k:1")

    assert first is not None
    assert second is None
    assert EmailLog.objects.count() == 1


# --- never to an erased student --------------------------------------------------------------------------------------


def test_an_erased_address_is_recognised_by_its_placeholder_alone():
    assert erased_address(42) == "erased-42@erased.invalid"
    assert is_erased_address(erased_address(42)) and is_erased_address("Erased-7@ERASED.invalid")
    assert not is_erased_address("ana@example.org") and not is_erased_address("erased@example.invalid")


def test_an_email_to_an_erased_student_is_recorded_as_skipped_and_never_sent(
    django_capture_on_commit_callbacks, mailoutbox
):
    registration = RegistrationFactory(student=StudentFactory(email=erased_address(7)))
    context = {"registration": registration, "student": registration.student, "course": registration.course}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        log = send_email(kind="already_registered", to=registration.student.email, context=context)
        copy = resend_email(log=log)

    assert (log.status, copy.status) == (EmailLog.Status.SKIPPED, EmailLog.Status.SKIPPED)
    assert callbacks == [] and mailoutbox == []


def test_an_email_rendered_after_the_commit_to_an_erased_student_is_rendered_now_and_skipped(
    django_capture_on_commit_callbacks, mailoutbox
):
    registration = RegistrationFactory(student=StudentFactory(email=erased_address(8)))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send_registration_received(registration)  # queue_email: its text is otherwise written by the delivery

    log = EmailLog.objects.get()
    assert log.status == EmailLog.Status.SKIPPED and is_rendered(log)
    assert callbacks == [] and mailoutbox == []


def test_an_email_queued_before_its_student_was_erased_is_skipped_at_delivery(
    django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=False):
        register(priced_slot())
    EmailLog.objects.update(to_email=erased_address(1), body_text="(erased)", body_html="")  # erased meanwhile

    assert deliver_email.call(EmailLog.objects.get().pk) == "skipped"
    assert EmailLog.objects.get().status == EmailLog.Status.SKIPPED
    assert mailoutbox == []


def test_deliver_email_records_a_failure_with_its_error(monkeypatch, django_capture_on_commit_callbacks):
    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        register(priced_slot())

    log = EmailLog.objects.get()
    assert log.status == EmailLog.Status.FAILED
    assert "smtp down" in log.error
    assert log.sent_at is None
    assert Registration.objects.count() == 1  # the registration still stands


def test_deliver_email_sends_a_row_once(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        register(priced_slot())
    log = EmailLog.objects.get()

    deliver_email.call(log.pk)

    assert len(mailoutbox) == 1


def test_deliver_email_is_queued_through_the_task_backend(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        register(priced_slot(full_package="0"))

    (message,) = mailoutbox
    assert "nothing to pay" in message.body
    assert Decimal("0") == Registration.objects.get().payment_amount


def test_already_registered_goes_out_at_most_once_an_hour_per_registration(
    django_capture_on_commit_callbacks, mailoutbox
):
    slot = priced_slot()
    register(slot)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            with pytest.raises(AlreadyRegistered):
                register(slot)

    assert [message.subject for message in mailoutbox] == ["You are already registered for " + slot.course.name]
    assert EmailLog.objects.filter(kind="already_registered").count() == 1
