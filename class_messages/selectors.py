"""Who a message to a class goes to: the roster of a course, a time slot or one session as the other apps already
compute it (attendance.selectors.session_roster; the seat rule's registrations; the waitlist's own reads), never a copy.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from attendance.models import ClassSession
from attendance.selectors import session_roster
from class_messages.models import Audience, MessageOptOut
from courses.formatting import session_when, slot_when
from courses.models import Course, CourseSlot
from courses.selectors import studio_today
from registrations import seats
from registrations.models import Registration
from students.models import Student
from waitlist.models import WaitlistEntry
from waitlist.selectors import outstanding_offers, waiting_for


@dataclass(frozen=True)
class Target:
    """What a message is sent to: a course, one of its time slots, or one session of a slot."""

    course: Course
    slot: CourseSlot | None = None
    session: ClassSession | None = None

    @property
    def about(self):
        """The row each student's email is about (the email log links to it)."""
        return self.session or self.slot or self.course

    @property
    def label(self) -> str:
        """ "House L1", "House L1 · Tuesdays 7–8:30 pm" or "House L1 · Tue, Dec 8, 7–8:30 pm"."""
        if self.session is not None:
            return f"{self.course.name} · {session_when(self.session)}"
        if self.slot is not None:
            return f"{self.course.name} · {slot_when(self.slot)}"
        return self.course.name

    @classmethod
    def of(cls, about) -> "Target":
        """The target of a course, a time slot or a session."""
        if isinstance(about, ClassSession):
            return cls(course=about.course, slot=about.slot, session=about)
        if isinstance(about, CourseSlot):
            return cls(course=about.course, slot=about)
        if isinstance(about, Course):
            return cls(course=about)
        raise TypeError(f"Cannot message {about!r}")


def roster(target: Target, *, audience: str, now: datetime.datetime | None = None) -> list[Student]:
    """The students of `target`: paid ones, or (PAID_AND_PENDING) also those whose unpaid registration still holds
    its seat. A session's roster is the door's own (session_roster); a course's or slot's is every registration
    that holds a seat there, but a drop-in for a class already past."""
    now = now or timezone.now()
    if target.session is not None:
        entries = session_roster(target.session, now=now)
        return [entry.student for entry in (entries.paid if audience == Audience.PAID else entries.entries)]
    holding = (
        Q(payment_status=Registration.PaymentStatus.COMPLETED) if audience == Audience.PAID else seats.holds_seat(now)
    )
    registrations = Registration.objects.filter(holding, course=target.course).filter(
        Q(class_date__isnull=True) | Q(class_date__gte=studio_today())
    )
    if target.slot is not None:
        registrations = registrations.filter(slot=target.slot)
    return list(Student.objects.filter(pk__in=registrations.values("student_id")))


def waiting(target: Target, *, now: datetime.datetime | None = None) -> list[Student]:
    """The students on `target`'s waitlist: waiting for a seat in it, or holding an offer of one."""
    now = now or timezone.now()
    if target.slot is not None:
        entries = Q(waiting_for(target.slot)) | (outstanding_offers(now) & Q(offer_slot=target.slot))
    else:
        entries = Q(course=target.course) & (Q(status=WaitlistEntry.Status.WAITING) | outstanding_offers(now))
    return list(Student.objects.filter(pk__in=WaitlistEntry.objects.filter(entries).values("student_id")))


@dataclass(frozen=True)
class Recipients:
    students: list[Student]  # who gets the message, sorted by name
    opted_out: list[Student]  # on the roster (or waitlist) but stopped class messages: left out
    erased: list[Student]  # on the roster with their personal data erased: never emailed, left out

    @property
    def count(self) -> int:
        return len(self.students)


def recipients(target: Target, *, audience: str, include_waitlist: bool, now=None) -> Recipients:
    """Everyone a message to `target` goes to (each student once), and apart those who stopped class messages and
    those whose personal data is erased (they stay on rosters, anonymised, and are never emailed)."""
    students = {student.pk: student for student in roster(target, audience=audience, now=now)}
    if include_waitlist:
        students.update((student.pk, student) for student in waiting(target, now=now))
    stopped = set(MessageOptOut.objects.filter(student_id__in=students).values_list("student_id", flat=True))
    ordered = sorted(students.values(), key=lambda s: (s.first_name.casefold(), s.last_name.casefold(), s.pk))
    erased = [student for student in ordered if student.erased_at is not None]
    return Recipients(
        students=[student for student in ordered if student.pk not in stopped and student.erased_at is None],
        opted_out=[student for student in ordered if student.pk in stopped and student.erased_at is None],
        erased=erased,
    )


def audience_counts(target: Target) -> dict[str, int]:
    """How many students each choice of the compose form reaches (before anyone who stopped class messages)."""
    now = timezone.now()
    return {
        Audience.PAID: len(roster(target, audience=Audience.PAID, now=now)),
        Audience.PAID_AND_PENDING: len(roster(target, audience=Audience.PAID_AND_PENDING, now=now)),
        "waitlist": len(waiting(target, now=now)),
    }
