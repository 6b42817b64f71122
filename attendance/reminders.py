"""Class reminders (README "Can't make it: reminders, excused absences and make-up classes"): an email to every
student on a class's roster `class_reminder_hours` before it starts, with when and where and the "Can't make it?" link.

Sent by `manage.py send_class_reminders`, which cron runs every few minutes: once per student and class however often
it runs (the email's dedupe key), never for a canceled class, a canceled registration (the roster holds only
registrations holding a seat, for the classes they cover) or a student who already told us they can't come.
"""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from attendance.absences import earns_makeup, make_token, makeup_cutoff
from attendance.models import ClassSession
from attendance.selectors import RosterEntry, session_ends_at, session_roster, session_starts_at
from registrations.models import Registration
from studio.config import StudioSettings, studio_settings
from studio.emails import send_email

logger = logging.getLogger(__name__)


def reminder_key(session: ClassSession, student_id: int) -> str:
    return f"class_reminder:{session.pk}:{student_id}"


def due_sessions(*, now: datetime.datetime, hours: int) -> list[ClassSession]:
    """Classes not canceled that start after `now` and within `hours`."""
    until = now + datetime.timedelta(hours=hours)
    candidates = ClassSession.objects.filter(
        is_canceled=False,
        session_date__range=(timezone.localdate(now), timezone.localdate(until)),
    ).select_related("course", "slot")
    return [session for session in candidates if now < session_starts_at(session) <= until]


def _context(session: ClassSession, entry: RosterEntry, *, now: datetime.datetime, studio: StudioSettings) -> dict:
    registration = entry.registration
    return {
        "student": entry.student,
        "session": session,
        "course": session.course,
        "starts_at": session_starts_at(session),
        "ends_at": session_ends_at(session),
        "location": session.location or session.slot.location,
        "makeup": entry.makeup,
        "registration": registration,
        "is_unpaid": registration is not None and registration.payment_status == Registration.PaymentStatus.PENDING,
        "cant_make_it_token": make_token(session=session, student=entry.student) if registration else "",
        "cutoff": makeup_cutoff(session, studio=studio),
        "earns_makeup": earns_makeup(registration, session, now=now, studio=studio),
    }


def send_class_reminders(*, now: datetime.datetime | None = None) -> int:
    """Email the reminder of every class starting within class_reminder_hours (0: none) to each student on its
    roster not excused, once per student and class; returns how many were sent."""
    now = now or timezone.now()
    studio = studio_settings()
    if not studio.class_reminder_hours:
        return 0
    sent = 0
    for session in due_sessions(now=now, hours=studio.class_reminder_hours):
        for entry in session_roster(session, now=now).entries:
            if entry.is_excused:
                continue
            try:
                with transaction.atomic():
                    context = _context(session, entry, now=now, studio=studio)
                    log = send_email(
                        kind="class_reminder",
                        to=entry.student.email,
                        about=session,
                        context=context,
                        dedupe_key=reminder_key(session, entry.student.pk),
                        secret=context["cant_make_it_token"] or None,
                    )
            except Exception:
                # One bad row must not stop the others; it is tried again on the next run.
                logger.exception("Could not remind student %s of class session %s", entry.student.pk, session.pk)
                continue
            sent += log is not None
    return sent
