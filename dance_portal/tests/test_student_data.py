"""A student's data: everything the portal holds about them, downloadable and readable; erased on request with the
studio's records kept, anonymised, and the totals unchanged."""

import json
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse

from attendance.tests.factories import AttendanceRecordFactory
from dance_portal.student_data import CannotErase, erase_student, student_data
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.models import Student
from students.services import SignInLinkError, ensure_calendar_token, make_sign_in_token, redeem_sign_in_link
from studio.models import EmailLog
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db


def a_student_with_a_history():
    registration = RegistrationFactory(
        payment_status=Registration.PaymentStatus.COMPLETED, payment_amount=Decimal("120.00")
    )
    student = registration.student
    AttendanceRecordFactory(student=student)
    WaitlistEntryFactory(student=student)
    EmailLog.objects.create(kind="payment_confirmed", to_email=student.email, subject="Paid", body_text="Hi Ana")
    return student, registration


def test_the_data_holds_profile_registrations_attendance_waitlist_and_emails():
    student, registration = a_student_with_a_history()

    data = student_data(student)

    assert data["profile"]["email"] == student.email
    assert data["registrations"][0]["reference"] == registration.reference
    assert data["registrations"][0]["payment_amount"] == "120.00"
    assert len(data["attendance"]) == 1 and len(data["waitlist"]) == 1
    assert data["emails"][0]["body_text"] == "Hi Ana"
    assert data["excused_absences"] == data["makeups"] == []
    json.dumps(data)  # plain data, ready to hand over


def test_the_owner_downloads_it_as_json_and_reads_it_as_a_page(admin_client):
    student, registration = a_student_with_a_history()

    download = admin_client.get(reverse("admin:students_student_data_json", args=[student.pk]))
    page = admin_client.get(reverse("admin:students_student_data", args=[student.pk]))

    assert download["Content-Disposition"] == f'attachment; filename="student-{student.pk}.json"'
    assert json.loads(download.content)["registrations"][0]["reference"] == registration.reference
    assert registration.reference in page.content.decode()


def test_erasing_replaces_the_details_voids_links_and_keeps_the_records_and_totals():
    student, registration = a_student_with_a_history()
    link = make_sign_in_token(student)
    ensure_calendar_token(student=student)
    revenue = Registration.objects.filter(payment_status="completed").aggregate(total=Sum("payment_amount"))

    erase_student(student=student)

    student.refresh_from_db()
    assert student.erased_at is not None
    assert "@" in student.email and "Ana" not in student.first_name and student.phone == ""
    assert student.calendar_token is None
    with pytest.raises(SignInLinkError):
        redeem_sign_in_link(token=link)
    assert Registration.objects.filter(pk=registration.pk, student=student).exists()
    assert student.attendance_records.count() == 1
    assert Registration.objects.filter(payment_status="completed").aggregate(total=Sum("payment_amount")) == revenue
    assert not WaitlistEntry.objects.filter(student=student, status__in=WaitlistEntry.ACTIVE_STATUSES).exists()
    email = EmailLog.objects.get(kind="payment_confirmed")
    assert email.to_email == student.email and "Hi Ana" not in email.body_text


def test_a_student_with_a_registration_waiting_for_payment_is_not_erased():
    registration = RegistrationFactory()  # pending
    email = registration.student.email

    with pytest.raises(CannotErase, match="confirm or cancel it first"):
        erase_student(student=registration.student)

    assert Student.objects.get(pk=registration.student_id).email == email


def test_the_admin_erases_after_a_confirmation_page_and_says_why_when_it_cannot(admin_client):
    student, _registration = a_student_with_a_history()
    pending = RegistrationFactory()
    url = reverse("admin:students_student_erase", args=[student.pk])

    question = admin_client.get(url)
    done = admin_client.post(url, follow=True)
    refused = admin_client.post(reverse("admin:students_student_erase", args=[pending.student_id]), follow=True)

    assert "It cannot be undone." in question.content.decode()
    assert "personal data is erased" in done.content.decode()
    assert "confirm or cancel it first" in refused.content.decode()
    assert Student.objects.get(pk=pending.student_id).erased_at is None


def test_an_instructor_can_neither_read_nor_erase_a_students_data(client, django_user_model):
    from django.contrib.auth.models import Group

    student, _registration = a_student_with_a_history()
    instructor = django_user_model.objects.create_user(username="door", is_staff=True)
    instructor.groups.add(Group.objects.get(name="Instructor"))
    client.force_login(instructor)

    assert client.get(reverse("admin:students_student_data_json", args=[student.pk])).status_code == 403
    assert client.post(reverse("admin:students_student_erase", args=[student.pk])).status_code == 403
    assert Student.objects.get(pk=student.pk).erased_at is None


def test_the_data_holds_the_students_payments_refunds_and_account_credit():
    from registrations.models import Refund
    from registrations.tests.factories import CreditGrantFactory, PaymentFactory

    student, registration = a_student_with_a_history()
    PaymentFactory(registration=registration, transaction_id="3891")
    Refund.objects.create(registration=registration, amount=Decimal("20.00"), method="venmo", reason="Missed one")
    CreditGrantFactory(student=student, amount=Decimal("15.00"), registration=registration)

    data = student_data(student)

    (paid,) = data["registrations"][0]["payments"]
    assert (paid["amount"], paid["transaction_id"]) == ("120.00", "3891")
    assert data["registrations"][0]["refunds"][0]["reason"] == "Missed one"
    assert data["account_credit"] == [
        {
            "kind": "granted",
            "reason": "overpayment",
            "amount": "15.00",
            "class_date": None,
            "expires_at": None,
            "note": "",
            "created_at": data["account_credit"][0]["created_at"],
            "registration": registration.reference,
        }
    ]
    json.dumps(data)


def test_erasing_forgets_what_the_payments_notes_say_about_the_payer_and_keeps_the_amounts():
    from registrations.models import Payment
    from registrations.tests.factories import PaymentFactory

    student, registration = a_student_with_a_history()
    PaymentFactory(registration=registration, note="Ana Lima: DRP-7K3QAB house class", transaction_id="3891")

    erase_student(student=student)

    payment = Payment.objects.get()
    assert (payment.note, payment.amount, payment.transaction_id) == ("", Decimal("120.00"), "3891")


def test_erasing_forgets_the_payers_name_in_the_registration_its_history_and_the_statement_lines():
    from registrations import transitions
    from registrations.models import RegistrationEvent, StatementImport

    registration = RegistrationFactory(payment_amount=Decimal("120.00"))
    student, other = registration.student, RegistrationFactory()
    payer = "Ana Lima: DRP-7K3QAB house class"
    transitions.confirm_payment(registration=registration, actor=None, note=payer, transaction_id="3891")
    line = {"row": 2, "status": "matched", "transaction_id": "3891", "amount": "120.00", "candidate_ids": []}
    statement = StatementImport.objects.create(
        kind="venmo",
        lines=[
            {**line, "name": "Ana Lima", "note": "DRP-7K3QAB house class", "registration_id": registration.pk},
            {
                **line,
                "row": 3,
                "transaction_id": "",
                "name": "A Lima",
                "note": "hi",
                "candidate_ids": [registration.pk],
            },
            {
                **line,
                "row": 4,
                "transaction_id": "77",
                "name": "Bruno Costa",
                "note": "salsa",
                "registration_id": other.pk,
            },
        ],
    )

    erase_student(student=student)

    registration.refresh_from_db()
    statement.refresh_from_db()
    assert registration.transaction_note == ""
    reasons = list(RegistrationEvent.objects.filter(registration=registration).values_list("reason", flat=True))
    assert reasons and not any("Ana Lima" in reason for reason in reasons)
    assert [(line["name"], line["note"], line["amount"]) for line in statement.lines] == [
        ("(erased)", "", "120.00"),
        ("(erased)", "", "120.00"),
        ("Bruno Costa", "salsa", "120.00"),  # another student's line stays
    ]


def test_the_data_holds_the_excused_absences_and_make_up_classes():
    from attendance.tests.factories import MakeUpFactory

    makeup = MakeUpFactory()

    data = student_data(makeup.student)

    assert [absence["makeup_granted"] for absence in data["excused_absences"]] == [True]
    assert [(entry["status"], entry["date"]) for entry in data["makeups"]] == [
        ("booked", makeup.session.session_date.isoformat())
    ]
    json.dumps(data)
