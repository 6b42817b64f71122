"""A student's data (README "A student's data"): everything the portal holds about one student, to hand over on
request, and erasing them on request.

Both compose every app (registrations, payments, attendance, waitlist, the email log), so they live on the top floor.
Erasing replaces the student's personal details with placeholders and voids their sign-in links and calendar feed;
the studio's financial and attendance records stay, anonymised, so no total changes. A student with a registration
still waiting for payment is not erased: the studio settles it first (confirm or cancel).
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from attendance.models import Absence, AttendanceRecord, MakeUp
from registrations import ledger
from registrations.models import CreditEntry, Registration
from students import services as student_services
from students.models import Student
from studio.emails import redact_emails_to
from studio.models import EmailLog
from waitlist import services as waitlist_services
from waitlist.models import WaitlistEntry


class CannotErase(Exception):
    """str(error) says why, for the owner."""


def _value(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(obj, fields: list[str], **extra) -> dict:
    return {**{name: _value(getattr(obj, name)) for name in fields}, **{k: _value(v) for k, v in extra.items()}}


def student_data(student: Student) -> dict:
    """Everything the portal holds about `student`, as plain data (dates in ISO, money as strings): the profile,
    registrations with their history, payments and refunds, account credit, attendance, excused absences and make-up
    classes, waitlist places and the emails sent to them."""
    registrations = (
        Registration.objects.filter(student=student)
        .select_related("course", "slot")
        .prefetch_related("events", "payments", "refunds")
        .order_by("created_at", "pk")
    )
    return {
        "profile": _row(
            student,
            [
                "email",
                "first_name",
                "last_name",
                "phone",
                "instagram_handle",
                "dance_experience",
                "student_type",
                "admin_classified",
                "classified_at",
                "profile_complete",
                "last_portal_login_at",
                "erased_at",
                "created_at",
                "updated_at",
            ],
        ),
        "registrations": [
            _row(
                registration,
                [
                    "reference",
                    "pricing_type",
                    "class_date",
                    "first_class_date",
                    "payment_status",
                    "payment_amount",
                    "payment_method",
                    "payment_due_at",
                    "payment_reported_at",
                    "confirmed_at",
                    "canceled_at",
                    "cancel_reason",
                    "created_at",
                ],
                course=registration.course.name,
                time_slot=str(registration.slot),
                history=[
                    _row(event, ["from_status", "to_status", "actor_label", "reason", "created_at"])
                    for event in registration.events.all()
                ],
                payments=[
                    _row(payment, ["amount", "method", "received_at", "transaction_id", "note"])
                    for payment in sorted(registration.payments.all(), key=lambda p: (p.received_at, p.pk))
                ],
                refunds=[
                    _row(refund, ["amount", "method", "reason", "created_at"])
                    for refund in sorted(registration.refunds.all(), key=lambda r: (r.created_at, r.pk))
                ],
            )
            for registration in registrations
        ],
        "account_credit": [
            _row(entry, ["kind", "reason", "amount", "class_date", "expires_at", "note", "created_at"])
            | {"registration": entry.registration.reference if entry.registration else None}
            for entry in CreditEntry.objects.filter(student=student).select_related("registration").order_by("pk")
        ],
        "attendance": [
            _row(record, ["status", "marked_at"], course=record.session.course.name, date=record.session.session_date)
            for record in AttendanceRecord.objects.filter(student=student)
            .select_related("session__course")
            .order_by("session__session_date", "pk")
        ],
        "excused_absences": [
            _row(
                absence,
                ["reported_at", "channel", "makeup_granted", "undone_at"],
                course=absence.session.course.name,
                date=absence.session.session_date,
            )
            for absence in Absence.objects.filter(student=student)
            .select_related("session__course")
            .order_by("session__session_date", "pk")
        ],
        "makeups": [
            _row(
                makeup,
                ["status", "booked_at", "canceled_at"],
                course=makeup.session.course.name,
                date=makeup.session.session_date,
                instead_of=f"{makeup.absence.session.course.name} {makeup.absence.session.session_date.isoformat()}",
            )
            for makeup in MakeUp.objects.filter(student=student)
            .select_related("session__course", "absence__session__course")
            .order_by("session__session_date", "pk")
        ],
        "waitlist": [
            _row(entry, ["status", "waitlist_position", "offered_at", "offer_expires_at", "responded_at", "created_at"])
            | {"course": entry.course.name}
            for entry in WaitlistEntry.objects.filter(student=student).select_related("course").order_by("pk")
        ],
        "emails": [
            _row(log, ["kind", "subject", "status", "created_at", "sent_at", "body_text"])
            for log in EmailLog.objects.filter(to_email=student.email).order_by("created_at", "pk")
        ],
    }


def erase_student(*, student: Student) -> Student:
    """Erase a student's personal data on their request: details replaced with placeholders, sign-in links and calendar
    feed voided, their waitlist places given up, the emails to them emptied; registrations, payments and attendance
    stay, anonymised. Raises CannotErase while a registration waits for payment (confirm or cancel it first)."""
    with transaction.atomic():
        student = Student.objects.select_for_update().get(pk=student.pk)
        if student.erased_at is not None:
            return student
        pending = Registration.objects.filter(student=student, payment_status=Registration.PaymentStatus.PENDING)
        if pending.exists():
            references = ", ".join(pending.values_list("reference", flat=True))
            raise CannotErase(
                _("%(name)s has a registration waiting for payment (%(references)s): confirm or cancel it first.")
                % {"name": student.full_name, "references": references}
            )
        address = student.email
        waitlist_services.remove_entries(
            entries=WaitlistEntry.objects.filter(student=student, status__in=WaitlistEntry.ACTIVE_STATUSES)
        )
        student = student_services.anonymise_student(student=student)
        redact_emails_to(address=address, placeholder=student.email)
        ledger.forget_payer_details(student=student)
    return student
