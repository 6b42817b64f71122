"""The studio dashboard on the admin index (README "The studio's admin"): pending payments, revenue (payments less
refunds, per month), fill per course and slot, waitlist lengths and today's sessions.

It stays the same size whatever the size of the studio: a morning glance, not the full lists. It shows the first
DASHBOARD_COURSES open courses in the order the studio runs them (running now, then starting next) with their slot
bars, and the DASHBOARD_COURSES longest waitlists, each with its total and a link to the full list in the admin.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from attendance.models import ClassSession
from attendance.selectors import door_sessions
from courses.models import Course, CourseSlot
from courses.selectors import studio_today
from registrations import ledger, seats
from registrations.models import Registration
from waitlist.models import WaitlistEntry

PaymentStatus = Registration.PaymentStatus

# How many courses the fill bars and the waitlist lengths show; the rest are one click away.
DASHBOARD_COURSES = 10
# Months of revenue shown; the ledger CSV has every one.
REVENUE_MONTHS = 6


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
class Waitlist:
    course_id: int
    course_name: str
    waiting: int


@dataclass(frozen=True)
class Dashboard:
    today: datetime.date
    pending_count: int
    pending_amount: Decimal  # what pending registrations still owe: the sum of their balances due (the ledger's)
    reported_count: int  # pending registrations whose student says they paid
    revenue: Decimal  # this month's payments less refunds
    revenue_months: list[ledger.MonthRevenue]  # the last REVENUE_MONTHS months, this one first
    courses: list[CourseFill]  # the first DASHBOARD_COURSES open courses
    course_total: int  # open courses in all
    waitlists: list[Waitlist]  # the DASHBOARD_COURSES longest waitlists of open courses, longest first
    waiting_total: int  # students waiting for any open course
    today_sessions: list[ClassSession]


def studio_dashboard(*, now: datetime.datetime | None = None) -> Dashboard:
    """The dashboard in 16 queries, whatever the size of the studio: money (4), courses, their number and slots (3),
    seats (3), waitlists (1), sessions (5)."""
    now = now or timezone.now()
    pending = Q(payment_status=PaymentStatus.PENDING)
    money = Registration.objects.aggregate(
        pending_count=Count("pk", filter=pending),
        reported_count=Count("pk", filter=pending & Q(payment_reported_at__isnull=False)),
    )
    # The ledger's balance due of the pending registrations, summed in the database.
    pending_amount = ledger.total_due(Registration.objects.filter(pending))
    revenue_months = ledger.revenue_by_month(months=REVENUE_MONTHS, now=now)
    today = studio_today()
    open_courses = Course.objects.filter(is_active=True, end_date__gte=today)
    # The catalog's order: what runs now, then what starts next. Cheap (no seat count decides who is shown),
    # stable from one morning to the next, and a full class shows up anyway in the waitlists.
    courses = list(
        open_courses.order_by("start_date", "name", "pk").prefetch_related(
            Prefetch("slots", queryset=CourseSlot.objects.order_by("day_of_week", "practice_date", "start_time", "pk"))
        )[:DASHBOARD_COURSES]
    )
    all_slots = [slot for course in courses for slot in course.slots.all()]
    counts = seats.seat_counts(all_slots, now=now) if all_slots else {}
    # One row per open course with someone waiting: a few hundred small rows at most, summed here.
    waiting_rows = list(
        WaitlistEntry.objects.filter(
            status=WaitlistEntry.Status.WAITING, course__is_active=True, course__end_date__gte=today
        )
        .values_list("course_id", "course__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "course__name", "course_id")
    )
    waiting = {course_id: n for course_id, _name, n in waiting_rows}
    fills = []
    for course in courses:
        slots = []
        for slot in course.slots.all():
            slot_counts = counts[slot.pk]
            # A full package needs a seat on every date: the busiest date shows how full the slot is.
            slots.append(SlotFill(slot=slot, taken=slot_counts.taken(), capacity=slot_counts.capacity))
        fills.append(CourseFill(course=course, slots=slots, waiting=waiting.get(course.pk, 0)))
    return Dashboard(
        today=today,
        pending_count=money["pending_count"],
        pending_amount=pending_amount,
        reported_count=money["reported_count"],
        revenue=revenue_months[0].net,
        revenue_months=revenue_months,
        courses=fills,
        course_total=open_courses.count(),
        waitlists=[
            Waitlist(course_id=pk, course_name=name, waiting=n) for pk, name, n in waiting_rows[:DASHBOARD_COURSES]
        ],
        waiting_total=sum(waiting.values()),
        # Today's only: the door page's two weeks of rosters cost ~200 ms on a studio of 50,000 registrations.
        today_sessions=door_sessions(now=now, days=0).today,
    )
