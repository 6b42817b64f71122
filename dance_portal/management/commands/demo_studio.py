"""`manage.py demo_studio`: a believable demo studio in an empty database, and a demo admin to look at it with.

Safe to run on every start of the development server:
- it refuses to run with DEBUG off unless `--force` is given, so demo data never lands in production by accident;
- it adds studio data only when the database has no Course yet, all in one transaction;
- it creates the superuser "admin" only when there is none, and never resets an existing admin's password.

The registration, waitlist and attendance services are being written in parallel and don't exist yet, so this
command writes rows with the ORM and calls `full_clean()` on each before saving: the demo data passes the same model
validation and constraints as an edit in the admin. It does not apply the cross-row rules of the services (seat
counts, crew-only eligibility, waitlist order); the literals below are written to respect them.

Every date is relative to today in the studio's time zone (`timezone.localdate()`).
"""

import datetime
import os
from dataclasses import dataclass
from datetime import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession
from courses.models import Course, CoursePricing, CourseSlot
from studio.models import SystemSetting
from studio.config import DEFINITIONS, studio_settings
from registrations.models import Registration, RegistrationEvent
from students.models import Student, normalize_email
from waitlist.models import WaitlistEntry

# Short names for the enum members the literals below use.
SERIES, DROP_IN_CLASS = Course.CourseType.SERIES, Course.CourseType.DROP_IN
CREW_PRACTICE, CREW_ONLY = Course.CourseType.CREW_PRACTICE, Course.RequiredStudentType.CREW_MEMBER
FULL, DROP_IN = CoursePricing.PricingType.FULL_PACKAGE, CoursePricing.PricingType.DROP_IN
PENDING, COMPLETED = Registration.PaymentStatus.PENDING, Registration.PaymentStatus.COMPLETED
CANCELED, EXPIRED = Registration.PaymentStatus.CANCELED, Registration.PaymentStatus.EXPIRED
VENMO, ZELLE = Registration.PaymentMethod.VENMO, Registration.PaymentMethod.ZELLE
PRESENT, LATE, ABSENT = AttendanceRecord.Status.PRESENT, AttendanceRecord.Status.LATE, AttendanceRecord.Status.ABSENT
BEGINNER, INTERMEDIATE = Student.DanceExperience.BEGINNER, Student.DanceExperience.INTERMEDIATE
ADVANCED, PROFESSIONAL = Student.DanceExperience.ADVANCED, Student.DanceExperience.PROFESSIONAL

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "dance-demo-admin"
ADMIN_EMAIL = "admin@demo-studio.example"

# Example domains only (RFC 2606); no real personal data anywhere in the demo.
STUDIO_SETTINGS = {
    "studio_name": "Demo Dance Studio",
    "venmo_username": "demo-dance-studio",
    "zelle_recipient_name": "Demo Dance Studio",
    "zelle_email": "payments@demo-studio.example",
    "contact_email": "hello@demo-studio.example",
}

# (first name, last name, email, dance experience, crew member, classified by an admin)
# Phone numbers are generated from the reserved fictional range 555-0100…0199.
STUDENTS = [
    ("Zoë", "Martin", "zoe.martin@example.org", BEGINNER, False, True),
    ("José", "Ramírez", "jose.ramirez@example.org", ADVANCED, True, True),
    ("Ana Sofía", "Pérez", "ana.perez@example.org", BEGINNER, False, True),
    ("Chloé", "Dubois", "chloe.dubois@example.org", ADVANCED, True, True),
    ("Björn", "Larsson", "bjorn.larsson@example.org", BEGINNER, False, True),
    ("Mei", "Chen", "mei.chen@example.org", INTERMEDIATE, False, True),
    ("Aaliyah", "Johnson", "aaliyah.johnson@example.org", ADVANCED, True, True),
    ("Noah", "Williams", "noah.williams@example.org", BEGINNER, False, True),
    ("Priya", "Patel", "priya.patel@example.org", INTERMEDIATE, False, True),
    ("Kwame", "Mensah", "kwame.mensah@example.org", PROFESSIONAL, True, True),
    ("Léa", "Moreau", "lea.moreau@example.org", BEGINNER, False, True),
    ("Mateo", "García", "mateo.garcia@example.org", BEGINNER, False, True),
    ("Hana", "Kim", "hana.kim@example.org", INTERMEDIATE, False, True),
    ("Siobhán", "O'Brien", "siobhan.obrien@example.org", BEGINNER, False, True),
    ("Jamal", "Carter", "jamal.carter@example.org", INTERMEDIATE, False, True),
    ("Yuki", "Tanaka", "yuki.tanaka@example.org", ADVANCED, False, True),
    ("Olivia", "Brown", "olivia.brown@example.org", BEGINNER, False, False),
    ("Diego", "Hernández", "diego.hernandez@example.org", INTERMEDIATE, False, False),
    ("Amara", "Okafor", "amara.okafor@example.org", BEGINNER, False, False),
    ("Isabella", "Rossi", "isabella.rossi@example.org", BEGINNER, False, False),
    ("François", "Lefèvre", "francois.lefevre@example.org", ADVANCED, False, False),
    ("Lucas", "Silva", "lucas.silva@example.org", "", False, False),  # new: profile incomplete, to classify
]


@dataclass(frozen=True)
class DemoSlot:
    offset: int  # days after the course starts of its first class; a weekly slot meets on that weekday
    start: time
    end: time
    location: str
    capacity: int
    full_package: str | None = None  # price in dollars; None = no such price
    drop_in: str | None = None
    difficulty: str = CourseSlot.DifficultyLevel.ALL_LEVELS


@dataclass(frozen=True)
class DemoCourse:
    key: str
    name: str
    course_type: str
    starts_in_days: int  # negative: already running
    weeks: int  # a series runs this many weeks; a dated class (0) is one day
    slots: tuple[DemoSlot, ...]
    instructor: str
    level: str
    description: str
    required_student_type: str = Course.RequiredStudentType.ANY


BEGINNER_SLOT, INTERMEDIATE_SLOT = CourseSlot.DifficultyLevel.BEGINNER, CourseSlot.DifficultyLevel.INTERMEDIATE
ADVANCED_SLOT = CourseSlot.DifficultyLevel.ADVANCED
STUDIO_A = "Studio A · 200 Example Avenue"
STUDIO_B = "Studio B · 200 Example Avenue"
HALL = "Community Hall, Room 2 · 15 Sample Street"

COURSES = [
    DemoCourse(
        key="house_l1",
        name="House Foundations L1",
        course_type=SERIES,
        starts_in_days=5,
        weeks=6,
        instructor="Jordan Ellis",
        level="L1",
        description="Jacking, footwork and floor basics for new house dancers. No experience needed.",
        slots=(
            DemoSlot(offset=0, start=time(19, 0), end=time(20, 30), location=STUDIO_A, capacity=16,
                     full_package="120.00", drop_in="25.00", difficulty=BEGINNER_SLOT),
            DemoSlot(offset=2, start=time(11, 0), end=time(12, 30), location=HALL, capacity=12,
                     full_package="110.00", drop_in="22.00", difficulty=BEGINNER_SLOT),
        ),
    ),
    DemoCourse(
        key="hiphop_l2",
        name="Hip-Hop Grooves L2",
        course_type=SERIES,
        starts_in_days=-14,
        weeks=6,
        instructor="Sam Rivera",
        level="L2",
        description="Grooves, bounce and rock, with a short combo every week.",
        slots=(
            DemoSlot(offset=0, start=time(18, 30), end=time(20, 0), location=STUDIO_B, capacity=12,
                     full_package="130.00", drop_in="28.00", difficulty=INTERMEDIATE_SLOT),
            DemoSlot(offset=3, start=time(20, 0), end=time(21, 30), location=STUDIO_A, capacity=10,
                     full_package="130.00", drop_in="28.00", difficulty=INTERMEDIATE_SLOT),
        ),
    ),
    DemoCourse(
        key="heels",
        name="Heels Choreography",
        course_type=SERIES,
        starts_in_days=9,
        weeks=4,
        instructor="Dani Okoye",
        level="Open level",
        description="A four-week choreography in heels; small group, so seats go fast.",
        slots=(
            DemoSlot(offset=0, start=time(19, 30), end=time(21, 0), location=STUDIO_B, capacity=4,
                     full_package="90.00", drop_in="25.00"),
        ),
    ),
    DemoCourse(
        key="waacking",
        name="Waacking Drop-in",
        course_type=DROP_IN_CLASS,
        starts_in_days=3,
        weeks=0,
        instructor="Robin Lee",
        level="All levels",
        description="One evening of arms, poses and attitude. Come as you are.",
        slots=(
            DemoSlot(offset=0, start=time(19, 0), end=time(20, 30), location=STUDIO_A, capacity=20, drop_in="20.00"),
        ),
    ),
    DemoCourse(
        key="crew_practice",
        name="Crew Practice: Showcase Set",
        course_type=CREW_PRACTICE,
        starts_in_days=2,
        weeks=0,
        instructor="Crew captains",
        level="Crew",
        description="Run-throughs of the showcase set. Crew members only; free.",
        required_student_type=CREW_ONLY,
        slots=(
            DemoSlot(offset=0, start=time(17, 0), end=time(19, 0), location=HALL, capacity=20,
                     drop_in="0.00", difficulty=ADVANCED_SLOT),
        ),
    ),
]

# Class sessions are made for these courses (the running series and the dated classes); the admin can
# generate the others' from the course page.
SESSION_COURSES = ["hiphop_l2", "waacking", "crew_practice"]


@dataclass(frozen=True)
class DemoRegistration:
    student: str  # email
    course: str  # DemoCourse.key
    status: str
    slot: int = 0  # index into the course's slots
    pricing: str = FULL
    method: str = VENMO
    days_ago: int = 0  # when the student registered
    class_date: int | None = None  # a drop-in on a series: index into the slot's class dates
    reason: str = ""  # why it was canceled
    canceled_by_student: bool = False


R = DemoRegistration
REGISTRATIONS = [
    # Upcoming series: paid, awaiting payment, expired, canceled, and a drop-in for the first class of its second slot.
    R("zoe.martin@example.org", "house_l1", COMPLETED, days_ago=6),
    R("ana.perez@example.org", "house_l1", COMPLETED, method=ZELLE, days_ago=5),
    R("bjorn.larsson@example.org", "house_l1", PENDING),
    R("lucas.silva@example.org", "house_l1", PENDING, method=ZELLE),
    R("noah.williams@example.org", "house_l1", EXPIRED, days_ago=4),
    R("lea.moreau@example.org", "house_l1", COMPLETED, slot=1, days_ago=3),
    R("mateo.garcia@example.org", "house_l1", PENDING, slot=1, method=ZELLE),
    R("siobhan.obrien@example.org", "house_l1", CANCELED, slot=1, days_ago=5,
      reason="Moved to next term's class at her request"),
    R("olivia.brown@example.org", "house_l1", PENDING, slot=1, pricing=DROP_IN, class_date=0),
    # Running series: paid up before it started; drop-ins for a past, a coming and a future class.
    R("jose.ramirez@example.org", "hiphop_l2", COMPLETED, method=ZELLE, days_ago=21),
    R("mei.chen@example.org", "hiphop_l2", COMPLETED, days_ago=20),
    R("priya.patel@example.org", "hiphop_l2", COMPLETED, method=ZELLE, days_ago=19),
    R("hana.kim@example.org", "hiphop_l2", COMPLETED, days_ago=18),
    R("jamal.carter@example.org", "hiphop_l2", COMPLETED, days_ago=17),
    R("isabella.rossi@example.org", "hiphop_l2", COMPLETED, pricing=DROP_IN, class_date=1, days_ago=9),
    R("zoe.martin@example.org", "hiphop_l2", PENDING, pricing=DROP_IN, class_date=3),
    R("yuki.tanaka@example.org", "hiphop_l2", COMPLETED, slot=1, days_ago=20),
    R("aaliyah.johnson@example.org", "hiphop_l2", COMPLETED, slot=1, method=ZELLE, days_ago=18),
    R("diego.hernandez@example.org", "hiphop_l2", COMPLETED, slot=1, days_ago=16),
    R("francois.lefevre@example.org", "hiphop_l2", COMPLETED, slot=1, pricing=DROP_IN, class_date=2,
      method=ZELLE, days_ago=2),
    R("amara.okafor@example.org", "hiphop_l2", CANCELED, slot=1, method=ZELLE, days_ago=19,
      reason="Can't make that evening after all", canceled_by_student=True),
    R("noah.williams@example.org", "hiphop_l2", EXPIRED, slot=1, days_ago=22),
    # Full course: every seat taken (three paid, one held), three more on the waitlist.
    R("chloe.dubois@example.org", "heels", COMPLETED, days_ago=4),
    R("priya.patel@example.org", "heels", COMPLETED, days_ago=3),
    R("mei.chen@example.org", "heels", COMPLETED, method=ZELLE, days_ago=2),
    R("ana.perez@example.org", "heels", PENDING),
    # Drop-in class.
    R("jamal.carter@example.org", "waacking", COMPLETED, pricing=DROP_IN, days_ago=2),
    R("lea.moreau@example.org", "waacking", PENDING, pricing=DROP_IN, method=ZELLE),
    R("yuki.tanaka@example.org", "waacking", CANCELED, pricing=DROP_IN, days_ago=2,
      reason="Asked to switch to next month's class"),
    # Crew practice (free, crew members only).
    R("jose.ramirez@example.org", "crew_practice", COMPLETED, pricing=DROP_IN, days_ago=1),
    R("chloe.dubois@example.org", "crew_practice", COMPLETED, pricing=DROP_IN, days_ago=1),
    R("aaliyah.johnson@example.org", "crew_practice", COMPLETED, pricing=DROP_IN, days_ago=1),
    R("kwame.mensah@example.org", "crew_practice", COMPLETED, pricing=DROP_IN, days_ago=1),
]

# (course, student, hours ago they joined); positions follow the order.
WAITLIST = [
    ("heels", "hana.kim@example.org", 30),
    ("heels", "olivia.brown@example.org", 20),
    ("heels", "diego.hernandez@example.org", 5),
]

# Attendance in past sessions cycles through this, so the matrix has some late and absent marks.
ATTENDANCE_PATTERN = [PRESENT, PRESENT, LATE, PRESENT, PRESENT, ABSENT, PRESENT]


class Command(BaseCommand):
    help = (
        "Fill an empty database with a demo studio (courses, students, registrations, waitlist, attendance) "
        "and create the demo admin if missing. Does nothing to studio data if any course exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-admin", action="store_true", help="Do not create or use the demo admin user.")
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (demo data does not belong in production)."
        )

    def handle(self, *args, no_admin=False, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo data with DEBUG off: this looks like production. "
                "Set DEBUG=1 for development, or pass --force if you really want demo data here."
            )
        with transaction.atomic():
            admin, admin_created = (None, False) if no_admin else ensure_demo_admin()
            if Course.objects.exists():
                self.stdout.write("Demo studio already present")
            else:
                counts = create_demo_studio(admin=admin, today=timezone.localdate(), now=timezone.now())
                summary = ", ".join(f"{n} {label}" for label, n in counts.items())
                self.stdout.write(self.style.SUCCESS(f"Demo studio created: {summary}."))
        if admin_created:
            self.stdout.write(f"Demo admin: {admin_url()}  user: {ADMIN_USERNAME}  password: {ADMIN_PASSWORD}")
        elif admin is not None:
            self.stdout.write(
                f"Demo admin: user {ADMIN_USERNAME} (password unchanged; "
                f"the demo password is {ADMIN_PASSWORD} unless you changed it)"
            )


def admin_url() -> str:
    """The admin on the development server, which scripts/run.sh starts on $PORT (default 8000)."""
    return f"http://127.0.0.1:{os.environ.get('PORT') or 8000}/admin/"


def save_valid(obj: models.Model) -> models.Model:
    """Save a new row only after it passes the same validation as the admin."""
    obj.full_clean()
    obj.save()
    return obj


def backdate(obj: models.Model, created_at: datetime.datetime) -> None:
    """Set an auto_now_add timestamp to when the demo says it happened (the field ignores a value passed in)."""
    type(obj).objects.filter(pk=obj.pk).update(created_at=created_at)
    obj.created_at = created_at


def ensure_demo_admin() -> tuple[AbstractBaseUser, bool]:
    """Return (the "admin" user, whether it was created now); an existing admin's password is never touched."""
    User = get_user_model()
    existing = User.objects.filter(username=ADMIN_USERNAME).first()
    if existing is not None:
        return existing, False
    admin = User(username=ADMIN_USERNAME, email=ADMIN_EMAIL, is_staff=True, is_superuser=True)
    admin.set_password(ADMIN_PASSWORD)
    return save_valid(admin), True


def create_demo_studio(*, admin, today: datetime.date, now: datetime.datetime) -> dict[str, int]:
    """Create the whole demo studio and return how many rows of each kind were made."""
    create_settings()
    students = {student.email: student for student in create_students(now=now)}
    courses = {spec.key: create_course(spec, today=today) for spec in COURSES}
    hold_hours = studio_settings().payment_hold_hours
    for spec in REGISTRATIONS:
        slot = courses[spec.course].slots.order_by("pk")[spec.slot]
        student = students[spec.student]
        create_registration(spec, student=student, slot=slot, admin=admin, now=now, hold_hours=hold_hours)
    for position, (course_key, email, hours_ago) in enumerate(WAITLIST, start=1):
        joined_at = now - datetime.timedelta(hours=hours_ago)
        join_waitlist(course=courses[course_key], student=students[email], position=position, joined_at=joined_at)
    sessions = [session for key in SESSION_COURSES for session in create_sessions(courses[key])]
    past_sessions = [session for session in sessions if session.session_date < today]
    for number, session in enumerate(past_sessions):
        mark_attendance(session, admin=admin, number=number)
    return {
        "courses": Course.objects.count(),
        "time slots": CourseSlot.objects.count(),
        "students": Student.objects.count(),
        "registrations": Registration.objects.count(),
        "waitlist entries": WaitlistEntry.objects.count(),
        "class sessions": ClassSession.objects.count(),
        "attendance records": AttendanceRecord.objects.count(),
    }


def create_settings() -> None:
    """Write the demo studio's settings, leaving any setting the owner already saved as it is."""
    for key, value in STUDIO_SETTINGS.items():
        if not SystemSetting.objects.filter(setting_key=key).exists():
            save_valid(SystemSetting(setting_key=key, setting_value=value, description=DEFINITIONS[key].description))


def create_students(*, now: datetime.datetime) -> list[Student]:
    students = []
    for number, (first, last, email, experience, crew, classified) in enumerate(STUDENTS):
        student = Student(
            email=normalize_email(email),
            first_name=first,
            last_name=last,
            phone=f"+1 415 555 {100 + number:04d}" if experience else "",
            dance_experience=experience,
            student_type=Student.StudentType.CREW_MEMBER if crew else Student.StudentType.GENERAL,
            profile_complete=bool(experience),
            admin_classified=classified,
            classified_at=now - datetime.timedelta(days=30) if classified else None,
        )
        students.append(save_valid(student))
    return students


def create_course(spec: DemoCourse, *, today: datetime.date) -> Course:
    start = today + datetime.timedelta(days=spec.starts_in_days)
    end = start + datetime.timedelta(days=spec.weeks * 7 - 1) if spec.weeks else start
    course = save_valid(
        Course(
            name=spec.name,
            description=spec.description,
            instructor=spec.instructor,
            level=spec.level,
            course_type=spec.course_type,
            required_student_type=spec.required_student_type,
            start_date=start,
            end_date=end,
        )
    )
    for slot_spec in spec.slots:
        create_slot(slot_spec, course=course)
    return course


def create_slot(spec: DemoSlot, *, course: Course) -> CourseSlot:
    first_class = course.start_date + datetime.timedelta(days=spec.offset)
    slot = save_valid(
        CourseSlot(
            course=course,
            capacity=spec.capacity,
            difficulty_level=spec.difficulty,
            day_of_week=None if course.is_dated else first_class.weekday(),
            practice_date=first_class if course.is_dated else None,
            start_time=spec.start,
            end_time=spec.end,
            location=spec.location,
        )
    )
    for pricing_type, price in [(FULL, spec.full_package), (DROP_IN, spec.drop_in)]:
        if price is not None:
            save_valid(CoursePricing(course_slot=slot, pricing_type=pricing_type, price=price))
    return slot


def create_registration(
    spec: DemoRegistration, *, student: Student, slot: CourseSlot, admin, now: datetime.datetime, hold_hours: int
) -> Registration:
    """One registration in its final state, its amount from the slot's price row, and one event per transition."""
    registered_at = now - datetime.timedelta(days=spec.days_ago, hours=3)
    registration = Registration(
        student=student,
        course=slot.course,
        slot=slot,
        pricing_type=spec.pricing,
        class_date=slot.class_dates()[spec.class_date] if spec.class_date is not None else None,
        payment_amount=slot.prices.get(pricing_type=spec.pricing).price,
        payment_method=spec.method,
        payment_status=spec.status,
        payment_due_at=registered_at + datetime.timedelta(hours=hold_hours),
    )
    staff_label = admin.get_username() if admin else "studio"
    events = [("", PENDING, registered_at, None, "student", "Registered online")]
    if spec.status == COMPLETED:
        registration.payment_reported_at = registered_at + datetime.timedelta(hours=1)
        registration.payment_reported_method = spec.method
        registration.confirmed_at = min(registered_at + datetime.timedelta(hours=20), now)
        registration.confirmed_by = admin
        registration.transaction_note = (
            "Free class" if not registration.payment_amount else f"{registration.get_payment_method_display()} seen"
        )
        events.append((PENDING, COMPLETED, registration.confirmed_at, admin, staff_label, "Payment confirmed"))
    elif spec.status == CANCELED:
        registration.canceled_at = registered_at + datetime.timedelta(hours=26)
        registration.canceled_by = None if spec.canceled_by_student else admin
        registration.cancel_reason = spec.reason
        by, label = (None, "student") if spec.canceled_by_student else (admin, staff_label)
        events.append((PENDING, CANCELED, registration.canceled_at, by, label, spec.reason))
    elif spec.status == EXPIRED:
        # The hold must have run out, whatever payment_hold_hours says.
        registration.payment_due_at = min(registration.payment_due_at, now - datetime.timedelta(hours=1))
        events.append((PENDING, EXPIRED, registration.payment_due_at, None, "system", "Payment hold ran out"))
    save_valid(registration)
    backdate(registration, registered_at)
    for from_status, to_status, when, actor, label, reason in events:
        event = save_valid(
            RegistrationEvent(
                registration=registration,
                from_status=from_status,
                to_status=to_status,
                actor=actor,
                actor_label=label,
                reason=reason,
            )
        )
        backdate(event, when)
    return registration


def join_waitlist(*, course: Course, student: Student, position: int, joined_at: datetime.datetime) -> WaitlistEntry:
    entry = save_valid(WaitlistEntry(student=student, course=course, waitlist_position=position))
    backdate(entry, joined_at)
    return entry


def create_sessions(course: Course) -> list[ClassSession]:
    """One session per class date of each slot, with the slot's times and location."""
    return [
        save_valid(
            ClassSession(
                course=course,
                slot=slot,
                session_date=date,
                start_time=slot.start_time,
                end_time=slot.end_time,
                location=slot.location,
            )
        )
        for slot in course.slots.all()
        for date in slot.class_dates()
    ]


def mark_attendance(session: ClassSession, *, admin, number: int) -> None:
    """Mark the roster of a past session: paid registrations of its slot, plus paid drop-ins for that date.

    `number` (the session's place among the past ones) shifts ATTENDANCE_PATTERN, so marks differ week to week.
    """
    roster = (
        Registration.objects.filter(slot=session.slot, payment_status=COMPLETED)
        .filter(Q(class_date__isnull=True) | Q(class_date=session.session_date))
        .select_related("student")
        .order_by("student__last_name", "student__first_name")
    )
    studio_tz = timezone.get_current_timezone()
    marked_at = datetime.datetime.combine(session.session_date, session.end_time, tzinfo=studio_tz)
    for place, registration in enumerate(roster, start=number * 3):
        save_valid(
            AttendanceRecord(
                session=session,
                student=registration.student,
                status=ATTENDANCE_PATTERN[place % len(ATTENDANCE_PATTERN)],
                marked_by=admin,
                marked_at=marked_at,
            )
        )
