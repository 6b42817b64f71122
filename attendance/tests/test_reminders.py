"""Class reminders: once per student and class, only for the classes a registration covers, with the signed link."""

import re
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from attendance.absences import check_reminder_resend, read_token, reminder_link_secret, report_absence
from attendance.makeups import book_makeup
from attendance.models import Absence
from attendance.reminders import send_class_reminders
from attendance.services import cancel_session
from attendance.tests.helpers import HOUR, paid, series, set_setting, starts
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.services import anonymise_student
from students.tests.factories import StudentFactory
from studio.emails import LINK_SECRET_MARK, ResendRefused, resend_email
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

LINK = re.compile(r"/me/cant-make-it/([^/\s]+)/")


def reminders():
    return EmailLog.objects.filter(kind="class_reminder").order_by("pk")


def test_a_reminder_goes_to_each_student_once_however_often_the_command_runs():
    slot, sessions = series()
    ana, ben = paid(slot).student, paid(slot).student

    with time_machine.travel(starts(sessions[0]) - 20 * HOUR, tick=False):
        assert send_class_reminders() == 2
        assert send_class_reminders() == 0
    with time_machine.travel(starts(sessions[0]) - 1 * HOUR, tick=False):
        assert send_class_reminders() == 0

    assert sorted(log.to_email for log in reminders()) == sorted([ana.email, ben.email])
    assert {log.about for log in reminders()} == {sessions[0]}


def test_the_reminder_says_when_and_where_and_has_a_working_cant_make_it_link(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://studio.example.org"
    slot, sessions = series(name="House L2 <b>")
    ana = paid(slot).student

    with time_machine.travel(starts(sessions[0]) - 20 * HOUR, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            send_class_reminders()

    log = reminders().get()
    (message,) = mailoutbox
    assert log.subject.startswith("Reminder: House L2 <b> · ")
    assert "7–8:30 pm" in log.body_text and "Studio A" in log.body_text
    assert "House L2 &lt;b&gt;" in log.body_html
    assert "https://studio.example.org/me/cant-make-it/" in message.body
    assert read_token(LINK.search(message.body).group(1)) == (sessions[0], ana)
    assert "you get a make-up class" in log.body_text


def test_the_email_log_keeps_the_reminder_without_its_link(mailoutbox, django_capture_on_commit_callbacks):
    slot, sessions = series()
    paid(slot)

    with time_machine.travel(starts(sessions[0]) - 20 * HOUR, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            send_class_reminders()

    log = reminders().get()
    (message,) = mailoutbox
    html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    token = LINK.search(message.body).group(1)
    assert f"/me/cant-make-it/{token}/" in html
    for stored in (log.subject, log.body_text, log.body_html):
        assert token not in stored
    assert f"/me/cant-make-it/{LINK_SECRET_MARK}/" in log.body_text
    assert f"/me/cant-make-it/{LINK_SECRET_MARK}/" in log.body_html


def test_a_resent_reminder_has_the_working_link_until_the_class_starts(mailoutbox, django_capture_on_commit_callbacks):
    slot, sessions = series()
    ana = paid(slot).student
    with time_machine.travel(starts(sessions[0]) - 20 * HOUR, tick=False):
        send_class_reminders()
        with django_capture_on_commit_callbacks(execute=True):
            resend_email(log=reminders().get())

        assert read_token(LINK.search(mailoutbox[-1].body).group(1)) == (sessions[0], ana)

    with time_machine.travel(starts(sessions[0]) + HOUR, tick=False):
        with pytest.raises(ResendRefused, match="has started"):
            resend_email(log=reminders().first())
    assert reminders().count() == 2


def test_a_reminder_sent_after_the_cut_off_promises_no_make_up():
    set_setting("class_reminder_hours", 6)
    set_setting("makeup_cutoff_hours", 12)
    slot, sessions = series()
    paid(slot)

    with time_machine.travel(starts(sessions[0]) - 5 * HOUR, tick=False):
        send_class_reminders()

    log = reminders().get()
    assert "make-up" not in log.body_text and "make-up" not in log.body_html
    assert "/me/cant-make-it/" in log.body_text  # the seat can still be given back


def test_a_reminder_is_not_resent_to_an_address_no_student_has():
    slot, sessions = series()
    ana = paid(slot).student
    with time_machine.travel(starts(sessions[0]) - 20 * HOUR, tick=False):
        send_class_reminders()
        ana.email = "ana.new@example.org"
        ana.save(update_fields=["email"])

        with pytest.raises(ResendRefused, match="No student has this address"):
            resend_email(log=reminders().get())
    assert reminders().count() == 1


def test_a_reminder_link_is_never_made_for_someone_who_took_over_the_address_without_a_seat_in_the_class(
    mailoutbox, django_capture_on_commit_callbacks
):
    """Ana's address changes and Bo registers with her old one: her reminder, delivered late or resent, must not send
    Bo a link that names Bo for Ana's class."""
    slot, sessions = series()
    ana = paid(slot).student
    old_address = ana.email
    with time_machine.travel(starts(sessions[0]) - 20 * HOUR, tick=False):
        with django_capture_on_commit_callbacks(execute=False) as queued:
            send_class_reminders()
        ana.email = "ana.new@example.org"
        ana.save(update_fields=["email"])
        paid(series(name="Salsa")[0], student=StudentFactory(first_name="Bo", email=old_address))

        assert reminder_link_secret(sessions[0], old_address) is None
        for callback in queued:
            callback()  # the delivery, after the address changed hands
        with pytest.raises(ResendRefused, match="no seat in this class"):
            resend_email(log=reminders().get())

    assert mailoutbox == []
    assert reminders().get().status == EmailLog.Status.FAILED
    assert reminders().count() == 1


def test_a_reminder_is_resent_to_a_student_who_still_has_a_seat_or_a_make_up_in_the_class():
    slot, sessions = series(name="House L2")
    ana = paid(slot).student
    absence = report_absence(session=sessions[0], student=ana, channel=Absence.Channel.EMAIL)
    other = series(name="House L1", difficulty="beginner", starts_in_days=8)[1]
    book_makeup(absence=absence, session=other[0])
    ben = paid(slot).student

    with time_machine.travel(starts(sessions[0]) - 20 * HOUR, tick=False):
        check_reminder_resend(sessions[1], ben.email)
        assert read_token(reminder_link_secret(sessions[1], ben.email)) == (sessions[1], ben)
        check_reminder_resend(other[0], ana.email)  # her make-up class: no link in it, the address is hers
        with pytest.raises(ResendRefused, match="no seat in this class"):
            check_reminder_resend(other[0], ben.email)


def test_no_reminder_before_the_lead_time_or_once_the_class_has_started():
    slot, sessions = series()
    paid(slot)

    with time_machine.travel(starts(sessions[0]) - 25 * HOUR, tick=False):
        assert send_class_reminders() == 0
    with time_machine.travel(starts(sessions[0]) + HOUR, tick=False):
        assert send_class_reminders() == 0


def test_the_lead_time_is_a_setting_and_zero_turns_reminders_off():
    slot, sessions = series()
    paid(slot)
    set_setting("class_reminder_hours", 0)

    with time_machine.travel(starts(sessions[0]) - HOUR, tick=False):
        assert send_class_reminders() == 0
    set_setting("class_reminder_hours", 48)
    with time_machine.travel(starts(sessions[0]) - 47 * HOUR, tick=False):
        assert send_class_reminders() == 1


def test_no_reminder_for_a_canceled_class_a_canceled_registration_or_an_excused_student():
    slot, sessions = series()
    RegistrationFactory(slot=slot, payment_status=Registration.PaymentStatus.CANCELED)
    excused = paid(slot).student
    report_absence(session=sessions[0], student=excused, channel=Absence.Channel.EMAIL)
    other_slot, other = series(name="Salsa")
    paid(other_slot)
    cancel_session(session=other[0])

    with time_machine.travel(starts(sessions[0]) - 20 * HOUR, tick=False):
        assert send_class_reminders() == 0


def test_an_erased_student_still_on_the_roster_gets_no_reminder(mailoutbox, django_capture_on_commit_callbacks):
    slot, sessions = series()
    erased = anonymise_student(student=paid(slot).student)
    ben = paid(slot).student

    with time_machine.travel(starts(sessions[0]) - 20 * HOUR, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            send_class_reminders()

    assert [message.to for message in mailoutbox] == [[ben.email]]
    assert reminders().get(to_email=erased.email).status == EmailLog.Status.SKIPPED


def test_only_the_classes_a_registration_covers_are_reminded():
    slot, sessions = series()
    late_joiner = paid(slot, first_class_date=sessions[2].session_date).student
    drop_in = paid(slot, pricing_type="drop_in", class_date=sessions[1].session_date).student

    for session in sessions:
        with time_machine.travel(starts(session) - 20 * HOUR, tick=False):
            send_class_reminders()

    sent = [(log.about.session_date, log.to_email) for log in reminders()]
    assert sent == [
        (sessions[1].session_date, drop_in.email),
        (sessions[2].session_date, late_joiner.email),
        (sessions[3].session_date, late_joiner.email),
    ]


def test_a_make_up_student_is_reminded_with_the_portal_to_cancel_and_an_unpaid_one_with_how_to_pay():
    slot, sessions = series(name="House L2")
    ana = paid(slot).student
    absence = report_absence(session=sessions[0], student=ana, channel=Absence.Channel.EMAIL)
    other_slot, other = series(name="House L1", difficulty="beginner", starts_in_days=8)
    book_makeup(absence=absence, session=other[0])
    unpaid = RegistrationFactory(slot=other_slot, payment_due_at=starts(other[0])).student  # holding till class

    with time_machine.travel(starts(other[0]) - 20 * HOUR, tick=False):
        assert send_class_reminders() == 2

    by_email = {log.to_email: log for log in reminders()}
    makeup_mail = by_email[ana.email]
    assert makeup_mail.subject.startswith("Reminder: your make-up class, House L1")
    assert "/me/cant-make-it/" not in makeup_mail.body_text and "/me/" in makeup_mail.body_text
    unpaid_mail = by_email[unpaid.email]
    assert "Your payment is not confirmed yet" in unpaid_mail.body_text
    assert "/me/cant-make-it/" in unpaid_mail.body_text
    assert "make-up class" not in unpaid_mail.body_text  # unpaid: no make-up earned


def test_the_command_reports_how_many_it_sent_and_cron_runs_it():
    slot, sessions = series()
    paid(slot)
    out = StringIO()

    with time_machine.travel(starts(sessions[0]) - 20 * HOUR, tick=False):
        call_command("send_class_reminders", stdout=out)

    assert out.getvalue().strip() == "Reminded 1."
    crontab = (Path(__file__).resolve().parents[2] / "deploy" / "crontab").read_text()
    assert re.search(r"^\*/10 \* \* \* \* .*manage\.py send_class_reminders", crontab, re.MULTILINE)
