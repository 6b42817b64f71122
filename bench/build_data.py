"""Build a large studio for the benchmark with bulk inserts (run inside a configured Django, on an empty database).

200 courses × 3 weekly slots, 20,000 students, 50,000 registrations, 2,000 sessions, 30,000 attendance records.
One slot ("the roster slot") has exactly 60 paid students and a session today: the roster page the benchmark drives.
Rows are written with bulk_create, so no service runs: the data only has to satisfy the database constraints.
"""

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession
from courses.models import MAX_CAPACITY, Course, CoursePricing, CourseSlot
from courses.selectors import studio_today
from registrations.models import REFERENCE_ALPHABET, Registration
from students.models import Student

BATCH = 2000
ROSTER_STUDENTS = 60
ONE_SLOT_CAPACITY = MAX_CAPACITY  # the most a slot may have: room for a 4-second run of POSTs (bench/run.py)
LAST_SEATS = 20


@dataclass(frozen=True)
class Sizes:
    courses: int = 200
    slots_per_course: int = 3
    students: int = 20_000
    registrations: int = 50_000
    sessions: int = 2_000
    attendance: int = 30_000
    capacity: int = 150


SMALL = Sizes(courses=20, students=400, registrations=500, sessions=60, attendance=300)


@dataclass(frozen=True)
class Studio:
    """What the load generator needs: ids of pages to request and of slots to register for."""

    course_id: int
    roster_session_id: int
    open_slots: list[tuple[int, int]]  # (course id, slot id) with free seats
    one_slot: tuple[int, int]  # the slot every "one slot" POST goes for
    last_seats_slot: tuple[int, int]  # a slot with LAST_SEATS free seats, raced for by the "last seats" POSTs
    staff_user_id: int


def _reference(n: int) -> str:
    """A unique reference per row (random ones collide at 50,000 rows)."""
    chars = []
    for _ in range(6):
        n, digit = divmod(n, len(REFERENCE_ALPHABET))
        chars.append(REFERENCE_ALPHABET[digit])
    return "DRP-" + "".join(reversed(chars))


def build(sizes: Sizes = Sizes(), *, seed: int = 9) -> Studio:
    """Write the studio; returns the ids the benchmark requests."""
    rng = random.Random(seed)
    today = studio_today()
    now = timezone.now()
    staff = User.objects.create_superuser("bench-admin", "bench@example.com", None)

    courses = Course.objects.bulk_create(
        Course(
            name=f"Course {n:03d}",
            description="A weekly class for the benchmark.",
            instructor=f"Instructor {n % 17}",
            level=["Beginner", "L2", "L3"][n % 3],
            start_date=today - datetime.timedelta(days=14),
            end_date=today + datetime.timedelta(days=70),
        )
        for n in range(sizes.courses)
    )
    slots = CourseSlot.objects.bulk_create(
        CourseSlot(
            course=course,
            capacity=sizes.capacity,
            day_of_week=(n * 3 + k) % 7,
            start_time=datetime.time(17 + k, 0),
            end_time=datetime.time(17 + k, 50),
            location="Studio A",
        )
        for n, course in enumerate(courses)
        for k in range(sizes.slots_per_course)
    )
    # The roster slot meets today, so its session is today's.
    roster_slot = slots[0]
    roster_slot.day_of_week = today.weekday()
    roster_slot.capacity = ROSTER_STUDENTS
    roster_slot.save(update_fields=["day_of_week", "capacity"])
    CoursePricing.objects.bulk_create(
        CoursePricing(course_slot=slot, pricing_type=pricing_type, price=price)
        for slot in slots
        for pricing_type, price in (
            (CoursePricing.PricingType.FULL_PACKAGE, Decimal("120.00")),
            (CoursePricing.PricingType.DROP_IN, Decimal("20.00")),
        )
    )
    students = Student.objects.bulk_create(
        (
            Student(
                email=f"student{n:05d}@example.com",
                first_name=f"First{n}",
                last_name=f"Last{n % 997}",
                phone=f"555-01{n:05d}",
                profile_complete=True,
            )
            for n in range(sizes.students)
        ),
        batch_size=BATCH,
    )

    # Registrations: the roster slot gets exactly 60 paid students; the others share the rest, at most one
    # registration per (student, slot), never more active ones than the slot's capacity.
    rows: list[Registration] = []
    active: dict[int, int] = {}
    statuses = (
        [Registration.PaymentStatus.COMPLETED] * 12
        + [Registration.PaymentStatus.PENDING] * 3
        + [Registration.PaymentStatus.CANCELED] * 3
        + [Registration.PaymentStatus.EXPIRED] * 2
    )

    def add(student: Student, slot: CourseSlot, status: str) -> None:
        pending = status == Registration.PaymentStatus.PENDING
        rows.append(
            Registration(
                reference=_reference(len(rows) + 1),
                student=student,
                course_id=slot.course_id,
                slot=slot,
                pricing_type=CoursePricing.PricingType.FULL_PACKAGE,
                payment_status=status,
                payment_amount=Decimal("120.00"),
                payment_method=Registration.PaymentMethod.VENMO,
                # Holds end at different times in the next two days; expired ones ran out yesterday.
                payment_due_at=now + datetime.timedelta(minutes=rng.randint(60, 2880))
                if pending
                else now - datetime.timedelta(days=1),
                confirmed_at=now if status == Registration.PaymentStatus.COMPLETED else None,
                canceled_at=now if status == Registration.PaymentStatus.CANCELED else None,
            )
        )
        if status in Registration.ACTIVE_STATUSES:
            active[slot.pk] = active.get(slot.pk, 0) + 1

    for student in students[:ROSTER_STUDENTS]:
        add(student, roster_slot, Registration.PaymentStatus.COMPLETED)
    other_slots = slots[1:]
    per_slot = -(-(sizes.registrations - len(rows)) // len(other_slots))
    for index, slot in enumerate(other_slots):
        # A different run of students for each slot: no (student, slot) pair twice.
        start = (index * 37) % len(students)
        for k in range(per_slot):
            if len(rows) >= sizes.registrations:
                break
            status = statuses[(index + k) % len(statuses)]
            if status in Registration.ACTIVE_STATUSES and active.get(slot.pk, 0) >= slot.capacity * 2 // 3:
                status = Registration.PaymentStatus.CANCELED
            add(students[(start + k) % len(students)], slot, status)
    Registration.objects.bulk_create(rows, batch_size=BATCH)

    # Sessions: today's for the roster slot, then past weekly dates of the other slots.
    sessions = [
        ClassSession(
            course_id=roster_slot.course_id,
            slot=roster_slot,
            session_date=today,
            start_time=roster_slot.start_time,
            end_time=roster_slot.end_time,
        )
    ]
    for week in range(1, 10):
        for slot in other_slots:
            if len(sessions) >= sizes.sessions:
                break
            sessions.append(
                ClassSession(
                    course_id=slot.course_id,
                    slot=slot,
                    session_date=today - datetime.timedelta(days=7 * week),
                    start_time=slot.start_time,
                    end_time=slot.end_time,
                )
            )
    sessions = ClassSession.objects.bulk_create(sessions, batch_size=BATCH)
    records = []
    per_session = -(-sizes.attendance // max(1, len(sessions) - 1))
    for index, session in enumerate(sessions[1:]):
        start = (index * 53) % len(students)
        for k in range(per_session):
            if len(records) >= sizes.attendance:
                break
            records.append(
                AttendanceRecord(
                    session=session,
                    student=students[(start + k) % len(students)],
                    status=AttendanceRecord.Status.PRESENT if k % 5 else AttendanceRecord.Status.ABSENT,
                    marked_by=staff,
                    marked_at=now,
                )
            )
    AttendanceRecord.objects.bulk_create(records, batch_size=BATCH)

    open_slots = [slot for slot in other_slots if active.get(slot.pk, 0) < slot.capacity]
    # "One slot": room for the POSTs of the run, so each one is a registration contending for the same lock.
    # "Last seats": LAST_SEATS free seats, so the run races for them and must end with exactly that many more.
    one_slot, last_seats_slot = open_slots[0], open_slots[1]
    one_slot.capacity = ONE_SLOT_CAPACITY
    last_seats_slot.capacity = active.get(last_seats_slot.pk, 0) + LAST_SEATS
    CourseSlot.objects.bulk_update([one_slot, last_seats_slot], ["capacity"])
    return Studio(
        course_id=courses[1].pk,
        roster_session_id=sessions[0].pk,
        open_slots=[(slot.course_id, slot.pk) for slot in open_slots[2:]],
        one_slot=(one_slot.course_id, one_slot.pk),
        last_seats_slot=(last_seats_slot.course_id, last_seats_slot.pk),
        staff_user_id=staff.pk,
    )
