"""Reads of the student portal: one student's registrations, waitlist places, class occurrences (make-up classes and
excused ones included) and the classes coming up with what the student can do about each.

Every query here starts from the signed-in student, so a student never reads another's rows.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from attendance import absences
from attendance.models import ClassSession, MakeUp
from attendance.selectors import booked_makeups, standing_absences
from courses.models import Course
from registrations.models import Registration
from registrations.pricing import covers_class
from registrations.seats import holds_seat
from students.models import Student
from waitlist.models import WaitlistEntry

PaymentStatus = Registration.PaymentStatus

# Pending first (something to do), then paid, then the closed ones.
_STATUS_ORDER = Case(
    When(payment_status=PaymentStatus.PENDING, then=Value(0)),
    When(payment_status=PaymentStatus.COMPLETED, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def student_registrations(student: Student) -> QuerySet[Registration]:
    """The student's registrations, pending first, then paid, then canceled/expired; newest first within each."""
    return (
        Registration.objects.filter(student=student)
        .select_related("course", "slot", "slot__course")
        .order_by(_STATUS_ORDER, "-created_at", "-pk")
    )


def student_registration(student: Student, public_id) -> Registration:
    """One of the student's own registrations by public id; Registration.DoesNotExist for anyone else's."""
    return student_registrations(student).get(public_id=public_id)


def student_waitlist_entries(student: Student) -> QuerySet[WaitlistEntry]:
    """The student's waiting and offered waitlist places, in course order."""
    return (
        WaitlistEntry.objects.filter(student=student, status__in=WaitlistEntry.ACTIVE_STATUSES)
        .select_related("course", "preferred_slot", "offer_slot")
        .order_by("course__start_date", "course__name", "pk")
    )


@dataclass(frozen=True)
class ClassOccurrence:
    """One class the student has a seat in, at local wall times of the studio: of one of their registrations, or a
    make-up class (then `registration` is the one of the class it makes up for, and `course` the make-up's)."""

    uid: str
    registration: Registration
    course: Course
    session: ClassSession | None
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    location: str
    is_canceled: bool
    notes: str = ""
    is_excused: bool = False  # the student told us they can't make it
    makeup: MakeUp | None = None

    @property
    def is_makeup(self) -> bool:
        return self.makeup is not None


def _at(day: datetime.date, time: datetime.time, zone: ZoneInfo) -> datetime.datetime:
    """A local wall time on `day` in the studio's zone: 7 pm stays 7 pm across a DST change (docs/bad-inputs.md #51)."""
    return datetime.datetime.combine(day, time, tzinfo=zone)


def _covers(registration: Registration, day: datetime.date) -> bool:
    return covers_class(
        pricing_type=registration.pricing_type,
        class_date=registration.class_date,
        first_class_date=registration.first_class_date,
        day=day,
        is_dated=registration.course.is_dated,
    )


def class_occurrences(student: Student, *, now: datetime.datetime | None = None) -> list[ClassOccurrence]:
    """The classes of the student's paid and still-held pending registrations, and their make-up classes, in time
    order.

    Each registration lists the classes it covers (registrations.pricing.covers_class: a drop-in its date, a full
    package every class from its first). Sessions come from the generated ClassSessions (canceled ones included,
    marked; a class the student told us they can't make is marked excused); a slot without any uses its schedule
    instead.
    """
    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    uid_domain = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "dance-portal"
    registrations = list(
        Registration.objects.filter(holds_seat(now), student=student).select_related("course", "slot", "slot__course")
    )
    sessions_by_slot: dict[int, list[ClassSession]] = defaultdict(list)
    for session in ClassSession.objects.filter(slot_id__in={r.slot_id for r in registrations}).order_by(
        "session_date", "start_time", "pk"
    ):
        sessions_by_slot[session.slot_id].append(session)
    excused = set(standing_absences(now).filter(student=student).values_list("session_id", flat=True))

    occurrences: dict[str, ClassOccurrence] = {}
    for registration in registrations:
        slot = registration.slot
        sessions = sessions_by_slot.get(slot.pk)
        if sessions:
            for session in sessions:
                if not _covers(registration, session.session_date):
                    continue
                uid = f"session-{session.pk}-student-{student.pk}@{uid_domain}"
                occurrences[uid] = ClassOccurrence(
                    uid=uid,
                    registration=registration,
                    course=registration.course,
                    session=session,
                    starts_at=_at(session.session_date, session.start_time, zone),
                    ends_at=_at(session.session_date, session.end_time, zone),
                    location=session.location or slot.location,
                    is_canceled=session.is_canceled,
                    notes=session.notes,
                    is_excused=session.pk in excused,
                )
        else:
            for day in slot.class_dates():
                if not _covers(registration, day):
                    continue
                uid = f"slot-{slot.pk}-{day:%Y%m%d}-student-{student.pk}@{uid_domain}"
                occurrences[uid] = ClassOccurrence(
                    uid=uid,
                    registration=registration,
                    course=registration.course,
                    session=None,
                    starts_at=_at(day, slot.start_time, zone),
                    ends_at=_at(day, slot.end_time, zone),
                    location=slot.location,
                    is_canceled=False,
                )
    makeups = (
        booked_makeups(now)
        .filter(student=student)
        .select_related("session__course", "session__slot", "absence__registration__course", "absence__session__course")
    )
    for makeup in makeups:
        session = makeup.session
        uid = f"session-{session.pk}-student-{student.pk}@{uid_domain}"
        occurrences[uid] = ClassOccurrence(
            uid=uid,
            registration=makeup.absence.registration,
            course=session.course,
            session=session,
            starts_at=_at(session.session_date, session.start_time, zone),
            ends_at=_at(session.session_date, session.end_time, zone),
            location=session.location or session.slot.location,
            is_canceled=session.is_canceled,
            notes=session.notes,
            makeup=makeup,
        )
    return sorted(occurrences.values(), key=lambda occurrence: (occurrence.starts_at, occurrence.uid))


@dataclass(frozen=True)
class UpcomingClass:
    """A class coming up in the portal, with what the student can do about it."""

    occurrence: ClassOccurrence
    cant_make_it_token: str  # the signed "can't make it" link's token; "" for a make-up class
    makeup_cancel_until: datetime.datetime | None  # a make-up class: cancellable (and returned) until then

    @property
    def makeup_cancellable(self) -> bool:
        return self.makeup_cancel_until is not None


def upcoming_classes(student: Student, *, now: datetime.datetime | None = None, limit: int = 6) -> list[UpcomingClass]:
    """The student's next `limit` classes that have not started (canceled ones left out): each with the token of its
    "can't make it" link, or for a make-up class until when it can be cancelled."""
    now = now or timezone.now()
    upcoming = [
        occurrence
        for occurrence in class_occurrences(student, now=now)
        if occurrence.session is not None and not occurrence.is_canceled and occurrence.starts_at > now
    ][:limit]
    classes = []
    for occurrence in upcoming:
        cutoff = absences.makeup_cutoff(occurrence.session) if occurrence.is_makeup else None
        classes.append(
            UpcomingClass(
                occurrence=occurrence,
                cant_make_it_token=""
                if occurrence.is_makeup
                else absences.make_token(session=occurrence.session, student=student),
                makeup_cancel_until=cutoff if cutoff is not None and now < cutoff else None,
            )
        )
    return classes
