"""The studio dashboard on the admin index (SPEC §3 Admin): pending payments, revenue, fill per course and slot,
waitlist lengths and today's sessions, in a fixed number of queries whatever the number of courses."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, Sum
from django.utils import timezone

from attendance.models import ClassSession
from attendance.selectors import door_sessions
from courses.models import Course, CourseSlot
from registrations import selectors
from registrations.models import Registration

PaymentStatus = Registration.PaymentStatus


@dataclass(frozen=True)
class SlotFill:
    slot: CourseSlot
    taken: int
    capacity: int

    @property
    def left(self) -> int:
        return max(0, self.capacity - self.taken)

    @property
    def is_full(self) -> bool:
        return self.taken >= self.capacity

    # <meter> colours: green below 80 %, amber from 80 %, red when full (optimum 0 below `low`).
    @property
    def meter_low(self) -> str:
        return f"{self.capacity * 0.8:.1f}"

    @property
    def meter_high(self) -> str:
        return f"{self.capacity - 0.5:.1f}"


@dataclass(frozen=True)
class CourseFill:
    course: Course
    slots: list[SlotFill]
    waiting: int


@dataclass(frozen=True)
class Dashboard:
    pending_count: int
    pending_amount: Decimal
    reported_count: int  # pending registrations whose student says they paid
    revenue: Decimal
    courses: list[CourseFill]
    today_sessions: list[ClassSession]

    @property
    def waiting_total(self) -> int:
        return sum(course.waiting for course in self.courses)


def studio_dashboard(*, now: datetime.datetime | None = None) -> Dashboard:
    """The dashboard in 9 queries: money (1), courses and slots (2), seats (2), waitlist (1), sessions (3)."""
    now = now or timezone.now()
    pending = Q(payment_status=PaymentStatus.PENDING)
    money = Registration.objects.aggregate(
        pending_count=Count("pk", filter=pending),
        pending_amount=Sum("payment_amount", filter=pending),
        reported_count=Count("pk", filter=pending & Q(payment_reported_at__isnull=False)),
        revenue=Sum("payment_amount", filter=Q(payment_status=PaymentStatus.COMPLETED)),
    )
    today = selectors.studio_today()
    courses = list(
        Course.objects.filter(is_active=True, end_date__gte=today)
        .order_by("start_date", "name", "pk")
        .prefetch_related(
            Prefetch("slots", queryset=CourseSlot.objects.order_by("day_of_week", "practice_date", "start_time", "pk"))
        )
    )
    all_slots = [slot for course in courses for slot in course.slots.all()]
    seats = selectors.seat_counts(all_slots, now=now) if all_slots else {}
    waiting = selectors.waiting_counts([course.pk for course in courses]) if courses else {}
    fills = []
    for course in courses:
        slots = []
        for slot in course.slots.all():
            counts = seats[slot.pk]
            # A full package needs a seat on every date: the busiest date shows how full the slot is.
            slots.append(SlotFill(slot=slot, taken=counts.taken(), capacity=counts.capacity))
        course_waiting = sum(n for (course_id, _slot_id), n in waiting.items() if course_id == course.pk)
        fills.append(CourseFill(course=course, slots=slots, waiting=course_waiting))
    return Dashboard(
        pending_count=money["pending_count"],
        pending_amount=money["pending_amount"] or Decimal("0"),
        reported_count=money["reported_count"],
        revenue=money["revenue"] or Decimal("0"),
        courses=fills,
        today_sessions=door_sessions(now=now).today,
    )
