"""`manage.py demo_studio`: a believable demo studio in an empty database, and a demo admin to look at it with.

Safe to run on every start of the development server:
- it refuses to run with DEBUG off unless `--force` is given, so demo data never lands in production by accident;
- it adds studio data only when the database has no Course yet, all in one transaction;
- it creates the superuser "admin" only when there is none, and never resets an existing admin's password. With
  DEBUG on its password is the published ADMIN_PASSWORD (for `make run`); with DEBUG off (`--force`) it is a random
  one, printed once and never stored in the clear (`check --deploy` warns while an account has the published one).

The studio is made the way the studio and its students make one, through the apps' services and nothing else:
settings (studio.services), students and their classification (students.services), courses, slots and prices
(courses.services), registrations, payments, cancellations and run-out holds (registrations.services and
registrations.transitions), the waitlist (waitlist.services), class sessions and attendance (attendance.services).
So the demo passes every rule they enforce (seat counts, the crew-only rule, waitlist order, one history row per
transition) and writes the emails they queue, recorded as skipped (`emails_recorded_as_skipped`). The one row
created here is the demo admin, a Django auth user the portal has no service for (checked with full_clean()).
Settings the owner saved before still apply: one that leaves no room for the story (registration closed, say)
stops the command with a CommandError and nothing written.

The services stamp everything "now"; the story below is spread over past days, so a last step (`backdate_story`)
moves timestamps, and nothing else, to when the story says things happened.

Every date is relative to today in the studio's time zone (`timezone.localdate()`).
"""

import datetime
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from attendance.absences import report_absence
from attendance.makeups import book_makeup, makeup_choices
from attendance.models import Absence, AttendanceRecord, ClassSession, MakeUp
from attendance.selectors import session_roster
from attendance.services import generate_class_sessions, mark_attendance
from courses.models import Course, CoursePricing, CourseSlot
from courses.services import save_course, save_slot
from registrations.errors import RegistrationError
from registrations.models import Payment, Registration, RegistrationEvent
from registrations.pricing import classes_not_started
from registrations.services import admin_register_student, register_student, report_payment
from registrations.transitions import cancel_registration, confirm_payment, expire_run_out_holds
from students.models import Student
from students.services import StudentDetails, classify_students, save_student_by_admin
from studio.config import DEFINITIONS
from studio.models import SystemSetting
from studio.services import delete_setting, save_setting
from waitlist.models import WaitlistEntry
from waitlist.services import join_waitlist

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
            DemoSlot(
                offset=0,
                start=time(19, 0),
                end=time(20, 30),
                location=STUDIO_A,
                capacity=16,
                full_package="120.00",
                drop_in="25.00",
                difficulty=BEGINNER_SLOT,
            ),
            DemoSlot(
                offset=2,
                start=time(11, 0),
                end=time(12, 30),
                location=HALL,
                capacity=12,
                full_package="110.00",
                drop_in="22.00",
                difficulty=BEGINNER_SLOT,
            ),
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
            DemoSlot(
                offset=0,
                start=time(18, 30),
                end=time(20, 0),
                location=STUDIO_B,
                capacity=12,
                full_package="130.00",
                drop_in="28.00",
                difficulty=INTERMEDIATE_SLOT,
            ),
            DemoSlot(
                offset=3,
                start=time(20, 0),
                end=time(21, 30),
                location=STUDIO_A,
                capacity=10,
                full_package="130.00",
                drop_in="28.00",
                difficulty=INTERMEDIATE_SLOT,
            ),
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
            DemoSlot(
                offset=0,
                start=time(19, 30),
                end=time(21, 0),
                location=STUDIO_B,
                capacity=4,
                full_package="90.00",
                drop_in="25.00",
            ),
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
            DemoSlot(
                offset=0,
                start=time(17, 0),
                end=time(19, 0),
                location=HALL,
                capacity=20,
                drop_in="0.00",
                difficulty=ADVANCED_SLOT,
            ),
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
    R(
        "siobhan.obrien@example.org",
        "house_l1",
        CANCELED,
        slot=1,
        days_ago=5,
        reason="Moved to next term's class at her request",
    ),
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
    R(
        "francois.lefevre@example.org",
        "hiphop_l2",
        COMPLETED,
        slot=1,
        pricing=DROP_IN,
        class_date=2,
        method=ZELLE,
        days_ago=2,
    ),
    R(
        "amara.okafor@example.org",
        "hiphop_l2",
        CANCELED,
        slot=1,
        method=ZELLE,
        days_ago=19,
        reason="Can't make that evening after all",
        canceled_by_student=True,
    ),
    R("noah.williams@example.org", "hiphop_l2", EXPIRED, slot=1, days_ago=22),
    # Full course: every seat taken (three paid, one held), three more on the waitlist.
    R("chloe.dubois@example.org", "heels", COMPLETED, days_ago=4),
    R("priya.patel@example.org", "heels", COMPLETED, days_ago=3),
    R("mei.chen@example.org", "heels", COMPLETED, method=ZELLE, days_ago=2),
    R("ana.perez@example.org", "heels", PENDING),
    # Drop-in class.
    R("jamal.carter@example.org", "waacking", COMPLETED, pricing=DROP_IN, days_ago=2),
    R("lea.moreau@example.org", "waacking", PENDING, pricing=DROP_IN, method=ZELLE),
    R(
        "yuki.tanaka@example.org",
        "waacking",
        CANCELED,
        pricing=DROP_IN,
        days_ago=2,
        reason="Asked to switch to next month's class",
    ),
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


EMAILS_SETTING = "email_notifications_enabled"


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
        try:
            with transaction.atomic():
                # Outside DEBUG the published demo password would be a way in: a random one, shown only here.
                password = ADMIN_PASSWORD if settings.DEBUG else secrets.token_urlsafe(16)
                admin, admin_created = (None, False) if no_admin else ensure_demo_admin(password=password)
                if Course.objects.exists():
                    self.stdout.write("Demo studio already present")
                else:
                    counts = create_demo_studio(admin=admin, today=timezone.localdate(), now=timezone.now())
                    summary = ", ".join(f"{n} {label}" for label, n in counts.items())
                    self.stdout.write(self.style.SUCCESS(f"Demo studio created: {summary}."))
        except RegistrationError as error:
            # The services apply the owner's settings (registration closed, a limit per student, no payment hold):
            # some of those leave no room for the demo's story.
            raise CommandError(
                f"The demo studio could not be made, so nothing was written: {error} Check the settings "
                "registration_open, max_registrations_per_student and payment_hold_hours."
            ) from error
        if admin_created:
            self.stdout.write(f"Demo admin: {admin_url()}  user: {ADMIN_USERNAME}  password: {password}")
            if not settings.DEBUG:
                self.stdout.write("This password is shown only now: note it, or set another with changepassword.")
        elif admin is not None and settings.DEBUG:
            self.stdout.write(
                f"Demo admin: user {ADMIN_USERNAME} (password unchanged; "
                f"the demo password is {ADMIN_PASSWORD} unless you changed it)"
            )
        elif admin is not None:
            self.stdout.write(f"Demo admin: user {ADMIN_USERNAME} (password unchanged)")


def admin_url() -> str:
    """The admin on the development server, which scripts/run.sh starts on $PORT (default 8000)."""
    return f"http://127.0.0.1:{os.environ.get('PORT') or 8000}/admin/"


def ensure_demo_admin(*, password: str = ADMIN_PASSWORD) -> tuple[AbstractBaseUser, bool]:
    """Return (the "admin" user, whether it was created now, with `password`); an existing admin's password is never
    touched."""
    User = get_user_model()
    existing = User.objects.filter(username=ADMIN_USERNAME).first()
    if existing is not None:
        return existing, False
    admin = User(username=ADMIN_USERNAME, email=ADMIN_EMAIL, is_staff=True, is_superuser=True)
    admin.set_password(password)
    # A Django auth user, which no service of the portal writes: checked like an admin edit (as create_studio_admin).
    admin.full_clean()
    admin.save()
    return admin, True


def create_demo_studio(
    *, admin: AbstractBaseUser | None, today: datetime.date, now: datetime.datetime
) -> dict[str, int]:
    """Create the whole demo studio through the services; returns how many rows of each kind there are.

    `admin` (None with --no-admin) is the staff user of the studio's actions. Without one, the services that accept
    no actor record none ("system" in a registration's history, as for the hold sweep), and those typed to require
    a user (admin_register_student, confirm_payment) are given None too, which they store the same way: the demo is
    the same, only no one is named as having done the studio's part."""
    with emails_recorded_as_skipped():
        save_demo_settings()
        students = create_students(admin=admin)
        courses = {spec.key: create_course(spec, today=today) for spec in COURSES}
        story = []
        for spec in REGISTRATIONS:
            student, course = students[spec.student], courses[spec.course]
            story.append((spec, create_registration(spec, student=student, course=course, admin=admin, today=today)))
        let_holds_run_out(story, now=now)
        for spec, registration in story:
            # Registered (in the story) before its series began, a registration covers every class; the service,
            # which worked it out for now, made it a late joiner's. Before the rosters below are read.
            first_class = first_class_then(registration, story_times(spec, registration, now=now))
            Registration.objects.filter(pk=registration.pk).update(first_class_date=first_class)
        waitlist = []
        for key, email, hours_ago in WAITLIST:  # in order: positions 1..n; the course is full by now
            student = students[email]
            entry = join_waitlist(course=courses[key], details=details_of(student), verified_student=student)
            waitlist.append((entry, hours_ago))
        for key in SESSION_COURSES:
            generate_class_sessions(course=courses[key])
        sessions = past_sessions([courses[key] for key in SESSION_COURSES], today=today)
        for number, session in enumerate(sessions):
            mark_paid_roster(session, admin=admin, number=number)
        excuse_and_make_up(courses[SESSION_COURSES[0]], today=today)
        backdate_story(story=story, waitlist=waitlist, sessions=sessions, students=students.values(), now=now)
    return {
        "courses": Course.objects.count(),
        "time slots": CourseSlot.objects.count(),
        "students": Student.objects.count(),
        "registrations": Registration.objects.count(),
        "waitlist entries": WaitlistEntry.objects.count(),
        "class sessions": ClassSession.objects.count(),
        "attendance records": AttendanceRecord.objects.count(),
        "excused absences": Absence.objects.count(),
        "make-up classes": MakeUp.objects.count(),
    }


@contextmanager
def emails_recorded_as_skipped() -> Iterator[None]:
    """Email notifications are off while the demo is made; the owner's setting (its row, or no row) is put back.

    Every service queues its emails (registration received, payment confirmed, waitlist place...): some sixty for
    the demo, which the development server would print to the console on the first `make run`, to addresses that do
    not exist. With notifications off, send_email records each one in the email log as "skipped" and sends nothing,
    so the admin's email log still shows what the studio would have sent."""
    previous = SystemSetting.objects.filter(setting_key=EMAILS_SETTING).first()
    save_setting(key=EMAILS_SETTING, value="no", description=DEFINITIONS[EMAILS_SETTING].description)
    yield
    # Not in a `finally`: when the demo fails, its transaction rolls the switch back with everything else.
    if previous is None:
        delete_setting(key=EMAILS_SETTING)
    else:
        save_setting(key=EMAILS_SETTING, value=previous.setting_value, description=previous.description)


def save_demo_settings() -> None:
    """Save the demo studio's settings, leaving any setting the owner already saved as it is."""
    for key, value in STUDIO_SETTINGS.items():
        if not SystemSetting.objects.filter(setting_key=key).exists():
            save_setting(key=key, value=value, description=DEFINITIONS[key].description)


def create_students(*, admin: AbstractBaseUser | None) -> dict[str, Student]:
    """The demo's students (email -> student) as the studio enters them; the admin classifies those the demo marks
    as classified (crew members as such), and the others stay to be classified."""
    students = {}
    for number, (first, last, email, experience, _crew, _classified) in enumerate(STUDENTS):
        students[email] = save_student_by_admin(
            student=Student(
                email=email,
                first_name=first,
                last_name=last,
                phone=f"+1 415 555 {100 + number:04d}" if experience else "",
                dance_experience=experience,
            )
        )
    crew = [students[email] for _first, _last, email, _experience, is_crew, _classified in STUDENTS if is_crew]
    general = [
        students[email]
        for _first, _last, email, _experience, is_crew, classified in STUDENTS
        if classified and not is_crew
    ]
    classify_students(students=crew, student_type=Student.StudentType.CREW_MEMBER, by=admin)
    classify_students(students=general, student_type=Student.StudentType.GENERAL, by=admin)
    # Re-read: classify_students updates the rows, not these instances.
    classified = Student.objects.in_bulk([student.pk for student in students.values()])
    return {email: classified[student.pk] for email, student in students.items()}


def details_of(student: Student) -> StudentDetails:
    """What the student types on a public form: their own details, so registering changes nothing about them."""
    return StudentDetails(
        email=student.email, first_name=student.first_name, last_name=student.last_name, phone=student.phone
    )


def price(dollars: str | None) -> Decimal | None:
    return Decimal(dollars) if dollars is not None else None


def create_course(spec: DemoCourse, *, today: datetime.date) -> Course:
    start = today + datetime.timedelta(days=spec.starts_in_days)
    end = start + datetime.timedelta(days=spec.weeks * 7 - 1) if spec.weeks else start
    course = save_course(
        course=Course(
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
        first_class = start + datetime.timedelta(days=slot_spec.offset)
        save_slot(
            slot=CourseSlot(
                course=course,
                capacity=slot_spec.capacity,
                difficulty_level=slot_spec.difficulty,
                day_of_week=None if course.is_dated else first_class.weekday(),
                practice_date=first_class if course.is_dated else None,
                start_time=slot_spec.start,
                end_time=slot_spec.end,
                location=slot_spec.location,
            ),
            prices={FULL: price(slot_spec.full_package), DROP_IN: price(slot_spec.drop_in)},
        )
    return course


def create_registration(
    spec: DemoRegistration, *, student: Student, course: Course, admin: AbstractBaseUser | None, today: datetime.date
) -> Registration:
    """One registration up to its final state but expiry: made online (by the studio when it is for a class that
    has already happened, which online registration refuses), then paid (the student reports it, the studio confirms)
    or canceled. Expired ones stay pending here: the hold sweep expires them (`let_holds_run_out`)."""
    slot = course.slots.order_by("pk")[spec.slot]
    class_date = slot.class_dates()[spec.class_date] if spec.class_date is not None else None
    if class_date is not None and class_date < today:
        registration = admin_register_student(
            student=student,
            slot=slot,
            pricing_type=spec.pricing,
            payment_method=spec.method,
            actor=admin,
            class_date=class_date,
        )
    else:
        registration = register_student(
            course=course,
            slot=slot,
            pricing_type=spec.pricing,
            payment_method=spec.method,
            details=details_of(student),
            class_date=class_date,
        )
    if spec.status == COMPLETED and registration.payment_status != COMPLETED:  # a free class is confirmed already
        report_payment(registration=registration, method=spec.method)
        note = f"{registration.get_payment_method_display()} seen"
        confirm_payment(registration=registration, actor=admin, method=spec.method, note=note)
    elif spec.status == CANCELED:
        by_student = spec.canceled_by_student
        cancel_registration(
            registration=registration, actor=None if by_student else admin, reason=spec.reason, by_student=by_student
        )
    return registration


@dataclass(frozen=True)
class StoryTimes:
    """When the demo says one registration's steps happened."""

    registered_at: datetime.datetime
    due_at: datetime.datetime | None  # the end of its payment hold (none for a free class)
    reported_at: datetime.datetime  # the student said they paid
    confirmed_at: datetime.datetime
    canceled_at: datetime.datetime


def story_times(spec: DemoRegistration, registration: Registration, *, now: datetime.datetime) -> StoryTimes:
    """The steps of `spec` in the past, its hold as long as the service made it (payment_hold_hours)."""
    registered_at = now - datetime.timedelta(days=spec.days_ago, hours=3)
    if registration.payment_due_at is None:  # a free class: confirmed as it was made, no hold
        return StoryTimes(
            registered_at, None, registered_at, registered_at, registered_at + datetime.timedelta(hours=26)
        )
    due_at = registered_at + (registration.payment_due_at - registration.created_at)
    if spec.status == EXPIRED:
        # The hold must have run out by now, however long payment_hold_hours is.
        due_at = min(due_at, now - datetime.timedelta(hours=1))
    return StoryTimes(
        registered_at=registered_at,
        due_at=due_at,
        reported_at=registered_at + datetime.timedelta(hours=1),
        confirmed_at=min(registered_at + datetime.timedelta(hours=20), now),
        canceled_at=registered_at + datetime.timedelta(hours=26),
    )


def first_class_then(registration: Registration, times: StoryTimes) -> datetime.date | None:
    """The first class a registration covers had it been made when the story says (registered before a series began,
    it covers every class): the services worked it out for now."""
    if registration.class_date is not None or registration.course.is_dated:
        return registration.first_class_date
    left = classes_not_started(registration.slot, now=times.registered_at)
    return None if len(left) == len(registration.slot.class_dates()) else (left[0] if left else None)


def let_holds_run_out(story: list[tuple[DemoRegistration, Registration]], *, now: datetime.datetime) -> int:
    """Expire the registrations the demo has expired, the way it happens in the studio: their hold runs out and the
    hold sweep (registrations.transitions.expire_run_out_holds) expires them, with history and email.

    Only their clock is moved here, as `backdate_story` moves it later: made days ago, the hold ended in the past
    (created_at too, as the sweep leaves alone a hold that ends when it was made, a zero-hour hold)."""
    for spec, registration in story:
        if spec.status == EXPIRED:
            times = story_times(spec, registration, now=now)
            Registration.objects.filter(pk=registration.pk).update(
                created_at=times.registered_at, payment_due_at=times.due_at
            )
    return expire_run_out_holds(now=now)


def past_sessions(courses: list[Course], *, today: datetime.date) -> list[ClassSession]:
    """The sessions before today, course by course, slot by slot (in the slots' order), date by date."""
    return [
        session
        for course in courses
        for slot in course.slots.all()
        for session in slot.sessions.filter(session_date__lt=today).order_by("session_date")
    ]


def mark_paid_roster(session: ClassSession, *, admin: AbstractBaseUser | None, number: int) -> None:
    """Mark the paid students on a past session's roster (paid registrations of its slot, paid drop-ins for its date).

    By last name, cycling ATTENDANCE_PATTERN from `number` * 3 (the session's place among the past ones), so the
    marks differ week to week."""
    paid = sorted((entry.student for entry in session_roster(session).paid), key=lambda s: (s.last_name, s.first_name))
    marks = {
        student.pk: ATTENDANCE_PATTERN[place % len(ATTENDANCE_PATTERN)]
        for place, student in enumerate(paid, start=number * 3)
    }
    mark_attendance(session=session, marks=marks, marked_by=admin)


def excuse_and_make_up(course: Course, *, today: datetime.date) -> None:
    """A paid student told us they can't make the course's next class (the reminder's link) and picked a make-up in
    another class: the rosters show them as excused in one and as a make-up in the other."""
    session = (
        ClassSession.objects.filter(course=course, is_canceled=False, session_date__gt=today)
        .select_related("course", "slot")
        .order_by("session_date", "start_time", "pk")
        .first()
    )
    entry = next((e for e in session_roster(session).paid if e.registration is not None), None) if session else None
    if entry is None:
        return
    absence = report_absence(session=session, student=entry.student, channel=Absence.Channel.EMAIL)
    choice = next((choice for choice in makeup_choices(absence) if choice.seats_left > 0), None)
    if choice is not None:
        book_makeup(absence=absence, session=choice.session)


def backdate_story(
    *,
    story: list[tuple[DemoRegistration, Registration]],
    waitlist: list[tuple[WaitlistEntry, int]],
    sessions: list[ClassSession],
    students,
    now: datetime.datetime,
) -> None:
    """Move the demo's timestamps to when its story says things happened, so the studio looks lived-in.

    Every row and every state change came from the services, which stamp them "now"; only the clock is moved here,
    with queryset update()s of timestamp fields: when registrations were made, reported paid, confirmed and canceled,
    when their holds ended and their history rows were written; when the waitlist entries joined; when attendance
    was marked (at the end of each class); when the students were classified (a month ago)."""
    for spec, registration in story:
        times = story_times(spec, registration, now=now)
        changes = {"created_at": times.registered_at}
        history = {PENDING: times.registered_at}
        if times.due_at is not None:
            changes["payment_due_at"] = times.due_at
        if spec.status == COMPLETED:
            changes["confirmed_at"] = times.confirmed_at
            if registration.payment_reported_at is not None:
                changes["payment_reported_at"] = times.reported_at
            history[COMPLETED] = times.confirmed_at
        elif spec.status == CANCELED:
            changes["canceled_at"] = times.canceled_at
            history[CANCELED] = times.canceled_at
        elif spec.status == EXPIRED:
            history[EXPIRED] = times.due_at
        Registration.objects.filter(pk=registration.pk).update(**changes)
        if spec.status == COMPLETED:
            # The payment the confirmation recorded came in when it was confirmed (the dashboard's revenue per month).
            Payment.objects.filter(registration=registration).update(received_at=times.confirmed_at)
        for to_status, when in history.items():
            RegistrationEvent.objects.filter(registration=registration, to_status=to_status).update(created_at=when)
    for entry, hours_ago in waitlist:
        WaitlistEntry.objects.filter(pk=entry.pk).update(created_at=now - datetime.timedelta(hours=hours_ago))
    studio_tz = timezone.get_current_timezone()
    for session in sessions:
        marked_at = datetime.datetime.combine(session.session_date, session.end_time, tzinfo=studio_tz)
        AttendanceRecord.objects.filter(session=session).update(marked_at=marked_at)
    Student.objects.filter(pk__in=[student.pk for student in students], admin_classified=True).update(
        classified_at=now - datetime.timedelta(days=30)
    )
