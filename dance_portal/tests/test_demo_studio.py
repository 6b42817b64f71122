import datetime
import io

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Q
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession
from courses.models import Course, CoursePricing, CourseSlot
from courses.tests.factories import CourseFactory
from dance_portal.management.commands import demo_studio
from registrations.models import Registration, RegistrationEvent
from students.models import Student
from studio.config import studio_settings
from studio.models import EmailLog, SystemSetting
from waitlist.models import WaitlistEntry

pytestmark = pytest.mark.django_db

PROJECT_APPS = ["dance_portal", "students", "courses", "registrations", "attendance", "waitlist"]
ADMIN_LOGIN_LINE = "Demo admin: http://127.0.0.1:8000/admin/  user: admin  password: dance-demo-admin"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings, monkeypatch):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.delenv("PORT", raising=False)


def run_demo_studio(**options) -> str:
    out = io.StringIO()
    call_command("demo_studio", force=True, stdout=out, **options)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = [m for app in PROJECT_APPS for m in apps.get_app_config(app).get_models()]
    return {m._meta.label: m.objects.count() for m in [*models, get_user_model()]}


def email_setting_row() -> list[tuple[str, str]]:
    """The owner's email_notifications_enabled row as (value, description), or [] when there is none."""
    rows = SystemSetting.objects.filter(setting_key="email_notifications_enabled")
    return list(rows.values_list("setting_value", "description"))


def seats_taken(slot: CourseSlot) -> int:
    return Registration.objects.filter(
        Q(payment_status=Registration.PaymentStatus.COMPLETED)
        | Q(payment_status=Registration.PaymentStatus.PENDING, payment_due_at__gt=timezone.now()),
        slot=slot,
    ).count()


def test_demo_studio_creates_series_with_two_weekly_slots_each_with_both_prices():
    run_demo_studio()

    series = Course.objects.get(name="House Foundations L1")
    slots = list(series.slots.all())
    today = timezone.localdate()
    assert series.course_type == Course.CourseType.SERIES
    assert today < series.start_date <= today + datetime.timedelta(days=7)
    assert len(slots) == 2
    assert len({slot.day_of_week for slot in slots}) == 2
    assert len({slot.location for slot in slots}) == 2
    assert len({slot.start_time for slot in slots}) == 2
    for slot in slots:
        assert len(slot.class_dates()) == 6
        assert set(slot.prices.values_list("pricing_type", flat=True)) == {
            CoursePricing.PricingType.FULL_PACKAGE,
            CoursePricing.PricingType.DROP_IN,
        }


def test_demo_studio_creates_running_series_with_past_and_future_sessions():
    run_demo_studio()

    today = timezone.localdate()
    running = Course.objects.get(start_date=today - datetime.timedelta(days=14))
    assert running.course_type == Course.CourseType.SERIES
    assert running.slots.count() == 2
    assert running.sessions.filter(session_date__lt=today).exists()
    assert running.sessions.filter(session_date__gte=today).exists()


def test_demo_studio_creates_drop_in_class_with_one_dated_slot_and_drop_in_price():
    run_demo_studio()

    drop_in = Course.objects.get(course_type=Course.CourseType.DROP_IN)
    slot = drop_in.slots.get()
    assert slot.practice_date is not None and slot.day_of_week is None
    assert slot.prices.get().pricing_type == CoursePricing.PricingType.DROP_IN


def test_demo_studio_creates_free_crew_only_crew_practice_with_crew_registrations():
    run_demo_studio()

    practice = Course.objects.get(course_type=Course.CourseType.CREW_PRACTICE)
    slot = practice.slots.get()
    assert practice.required_student_type == Course.RequiredStudentType.CREW_MEMBER
    assert slot.practice_date is not None
    assert slot.prices.get().price == 0
    registrations = practice.registrations.all()
    assert registrations.exists()
    assert all(r.student.student_type == Student.StudentType.CREW_MEMBER for r in registrations)


def test_demo_studio_fills_a_small_slot_and_waitlists_three_in_order():
    run_demo_studio()

    full_slot = next(slot for slot in CourseSlot.objects.filter(capacity__lte=4) if seats_taken(slot) == slot.capacity)
    entries = WaitlistEntry.objects.filter(course=full_slot.course).order_by("waitlist_position")
    assert full_slot.capacity == 4
    assert [e.waitlist_position for e in entries] == [1, 2, 3]
    assert {e.status for e in entries} == {WaitlistEntry.Status.WAITING}
    registered = set(full_slot.registrations.values_list("student", flat=True))
    assert not registered & {e.student_id for e in entries}


def test_demo_studio_creates_registrations_in_every_status_with_their_audit_fields():
    run_demo_studio()

    now = timezone.now()
    by_status = {status: Registration.objects.filter(payment_status=status) for status in Registration.PaymentStatus}
    admin = get_user_model().objects.get(username="admin")
    assert all(rows.exists() for rows in by_status.values())
    assert all(r.payment_due_at > now for r in by_status[Registration.PaymentStatus.PENDING])
    assert all(r.payment_due_at < now for r in by_status[Registration.PaymentStatus.EXPIRED])
    for registration in by_status[Registration.PaymentStatus.COMPLETED].exclude(payment_amount=0):
        assert registration.confirmed_by == admin
        assert registration.created_at < registration.confirmed_at <= now
    for registration in by_status[Registration.PaymentStatus.COMPLETED].filter(payment_amount=0):
        # A free class is confirmed as it is made, by nobody.
        assert registration.confirmed_by is None
        assert registration.confirmed_at == registration.created_at
    for registration in by_status[Registration.PaymentStatus.CANCELED]:
        assert registration.canceled_at and registration.cancel_reason
    assert by_status[Registration.PaymentStatus.CANCELED].filter(canceled_by=admin).exists()


def test_demo_studio_records_each_confirmed_payment_when_it_was_confirmed():
    from registrations.models import Payment

    run_demo_studio()

    paid = Registration.objects.filter(payment_status=Registration.PaymentStatus.COMPLETED).exclude(payment_amount=0)
    assert paid.exists()
    for registration in paid:
        (payment,) = Payment.objects.filter(registration=registration)
        assert (payment.amount, payment.received_at) == (registration.payment_amount, registration.confirmed_at)


def test_demo_studio_takes_every_amount_from_the_slots_price_row():
    run_demo_studio()

    for registration in Registration.objects.select_related("slot"):
        price = registration.slot.prices.get(pricing_type=registration.pricing_type).price
        assert registration.payment_amount == price
        assert registration.course_id == registration.slot.course_id


def test_demo_studio_records_one_event_per_transition():
    run_demo_studio()

    for registration in Registration.objects.all():
        transitions = list(registration.events.values_list("from_status", "to_status"))
        if registration.payment_status == Registration.PaymentStatus.PENDING:
            assert transitions == [("", "pending")]
        elif registration.payment_amount == 0:  # a free class is confirmed at once
            assert transitions == [("", "completed")]
        else:
            assert transitions == [("", "pending"), ("pending", registration.payment_status)]


def test_demo_studio_creates_a_drop_in_on_a_series_for_one_of_its_class_dates():
    run_demo_studio()

    drop_ins = Registration.objects.filter(
        course__course_type=Course.CourseType.SERIES,
        pricing_type=CoursePricing.PricingType.DROP_IN,
        class_date__isnull=False,
    )
    assert drop_ins.exists()
    assert all(r.class_date in r.slot.class_dates() for r in drop_ins)


def test_demo_studio_creates_a_session_per_class_date_for_the_running_series_and_dated_classes():
    run_demo_studio()

    today = timezone.localdate()
    running = Course.objects.get(start_date=today - datetime.timedelta(days=14))
    dated = Course.objects.exclude(course_type=Course.CourseType.SERIES)
    for course in [running, *dated]:
        for slot in course.slots.all():
            sessions = ClassSession.objects.filter(slot=slot).order_by("session_date")
            assert [s.session_date for s in sessions] == slot.class_dates()
            assert {(s.start_time, s.end_time, s.location) for s in sessions} == {
                (slot.start_time, slot.end_time, slot.location)
            }


def test_demo_studio_marks_attendance_for_the_paid_roster_of_past_sessions_only():
    run_demo_studio()

    today = timezone.localdate()
    admin = get_user_model().objects.get(username="admin")
    past = ClassSession.objects.filter(session_date__lt=today)
    assert past.exists()
    assert not AttendanceRecord.objects.filter(session__session_date__gte=today).exists()
    for session in past:
        roster = Registration.objects.filter(
            Q(class_date__isnull=True) | Q(class_date=session.session_date),
            slot=session.slot,
            payment_status=Registration.PaymentStatus.COMPLETED,
        )
        marked = session.attendance_records.all()
        assert {r.student_id for r in marked} == set(roster.values_list("student", flat=True))
        assert all(r.marked_by == admin for r in marked)
    assert set(AttendanceRecord.objects.values_list("status", flat=True)) == set(AttendanceRecord.Status.values)


def test_demo_studio_has_a_student_excused_from_a_class_to_come_with_a_make_up_booked_elsewhere():
    from attendance.models import Absence, MakeUp
    from attendance.selectors import session_roster

    run_demo_studio()

    absence = Absence.objects.get()
    makeup = MakeUp.objects.get()
    assert absence.session.session_date > timezone.localdate() and absence.makeup_granted
    assert makeup.absence == absence and makeup.session != absence.session
    assert session_roster(absence.session).entry_for(absence.student_id).is_excused
    assert session_roster(makeup.session).entry_for(absence.student_id).makeup == makeup


def test_demo_studio_marks_a_past_drop_in_on_its_class_date_only():
    run_demo_studio()

    drop_in = Registration.objects.get(
        class_date__lt=timezone.localdate(), payment_status=Registration.PaymentStatus.COMPLETED
    )
    marked_dates = AttendanceRecord.objects.filter(student=drop_in.student, session__slot=drop_in.slot)
    assert list(marked_dates.values_list("session__session_date", flat=True)) == [drop_in.class_date]


def test_demo_studio_writes_studio_settings_with_example_domains():
    run_demo_studio()

    assert studio_settings().studio_name == "Demo Dance Studio"
    assert studio_settings().venmo_username == "demo-dance-studio"
    assert studio_settings().zelle_recipient_name == "Demo Dance Studio"
    assert studio_settings().zelle_email == "payments@demo-studio.example"
    assert studio_settings().contact_email == "hello@demo-studio.example"


def test_demo_studio_keeps_a_setting_the_owner_already_saved():
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Salsa Corner")

    run_demo_studio()

    assert studio_settings().studio_name == "Salsa Corner"
    assert studio_settings().venmo_username == "demo-dance-studio"


def test_demo_studio_creates_about_twenty_students_with_lowercase_example_emails_and_accents():
    run_demo_studio()

    students = Student.objects.all()
    crew = students.filter(student_type=Student.StudentType.CREW_MEMBER)
    assert 18 <= students.count() <= 25
    assert all(s.email == s.email.lower() and s.email.endswith("@example.org") for s in students)
    assert {"Zoë", "José"} <= set(students.values_list("first_name", flat=True))
    assert crew.count() >= 3
    assert all(s.admin_classified for s in crew)
    assert students.filter(admin_classified=False).exists()


def test_demo_studio_rows_all_pass_full_clean():
    run_demo_studio()

    models = [m for app in PROJECT_APPS for m in apps.get_app_config(app).get_models()]
    checked = 0
    for model in [*models, get_user_model()]:
        for row in model.objects.all():
            row.full_clean()
            checked += 1
    assert checked > 100


def test_demo_studio_prints_the_admin_login_and_creates_a_working_superuser(settings):
    settings.DEBUG = True  # as `make run` runs it: the published demo password

    output = run_demo_studio()

    admin = get_user_model().objects.get(username="admin")
    assert ADMIN_LOGIN_LINE in output
    assert "Demo studio created" in output
    assert admin.is_superuser and admin.is_staff and admin.is_active
    assert admin.check_password("dance-demo-admin")


def test_demo_studio_second_run_creates_nothing_and_keeps_the_admin_password(settings):
    settings.DEBUG = True
    run_demo_studio()
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("owner-chose-this-one")
    admin.save(update_fields=["password"])
    before = row_counts()

    output = run_demo_studio()

    admin.refresh_from_db()
    assert row_counts() == before
    assert "Demo studio already present" in output
    assert "password unchanged" in output
    assert "dance-demo-admin" in output and ADMIN_LOGIN_LINE not in output
    assert admin.check_password("owner-chose-this-one")


def test_demo_studio_with_debug_off_gives_the_admin_a_random_password_printed_once():
    output = run_demo_studio()  # --force, DEBUG off (the tests' setting)

    admin = get_user_model().objects.get(username="admin")
    line = next(line for line in output.splitlines() if line.startswith("Demo admin:"))
    password = line.rsplit("password: ", 1)[1]
    assert "dance-demo-admin" not in output
    assert len(password) >= 20
    assert admin.check_password(password)
    assert not admin.check_password("dance-demo-admin")
    assert "shown only now" in output
    again = run_demo_studio()
    assert password not in again and "dance-demo-admin" not in again


def test_demo_studio_adds_no_studio_data_when_any_course_exists():
    CourseFactory()

    output = run_demo_studio()

    assert "Demo studio already present" in output
    assert Course.objects.count() == 1
    assert not Student.objects.exists() and not SystemSetting.objects.exists()
    assert get_user_model().objects.filter(username="admin").exists()


@pytest.mark.parametrize("no_admin", [False, True], ids=["admin", "no_admin"])
def test_demo_studio_tells_the_same_story_with_or_without_the_demo_admin(no_admin):
    run_demo_studio(no_admin=no_admin)

    course_names = {spec.key: spec.name for spec in demo_studio.COURSES}
    made = Registration.objects.values_list("student__email", "course__name", "pricing_type", "payment_status")
    waiting = WaitlistEntry.objects.order_by("waitlist_position").values_list(
        "course__name", "student__email", "waitlist_position"
    )
    assert sorted(made) == sorted(
        (spec.student, course_names[spec.course], spec.pricing, spec.status) for spec in demo_studio.REGISTRATIONS
    )
    assert list(waiting) == [
        (course_names[key], email, position) for position, (key, email, _hours) in enumerate(demo_studio.WAITLIST, 1)
    ]
    for session in ClassSession.objects.filter(session_date__lt=timezone.localdate()):
        paid = Registration.objects.filter(
            Q(class_date__isnull=True) | Q(class_date=session.session_date),
            slot=session.slot,
            payment_status=Registration.PaymentStatus.COMPLETED,
        )
        marked = session.attendance_records.values_list("student", flat=True)
        assert set(marked) == set(paid.values_list("student", flat=True))


@pytest.mark.parametrize("owner_value", [None, "yes", "off"], ids=["no_row", "on", "off"])
def test_demo_studio_records_its_emails_as_skipped_and_keeps_the_owners_email_setting(owner_value):
    if owner_value is not None:
        SystemSetting.objects.create(
            setting_key="email_notifications_enabled", setting_value=owner_value, description="Owner's choice"
        )
    owner_row = email_setting_row()

    run_demo_studio()

    assert (
        EmailLog.objects.filter(kind="registration_received").count()
        == Registration.objects.exclude(payment_amount=0).count()
    )
    assert (
        EmailLog.objects.filter(kind="registration_confirmed").count()
        == Registration.objects.filter(payment_amount=0).count()
    )
    assert set(EmailLog.objects.values_list("status", flat=True)) == {EmailLog.Status.SKIPPED}
    assert not EmailLog.objects.exclude(sent_at=None).exists()
    assert email_setting_row() == owner_row


def test_demo_studio_no_admin_option_creates_no_user_and_leaves_staff_fields_empty():
    output = run_demo_studio(no_admin=True)

    assert not get_user_model().objects.exists()
    assert "Demo admin" not in output
    assert Registration.objects.filter(payment_status=Registration.PaymentStatus.COMPLETED, confirmed_by=None).exists()
    assert not RegistrationEvent.objects.exclude(actor=None).exists()


def test_demo_studio_refuses_with_debug_off_and_no_force(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("demo_studio", stdout=io.StringIO())

    assert not Course.objects.exists()
    assert not get_user_model().objects.exists()


def test_demo_studio_runs_without_force_when_debug_is_on(settings):
    settings.DEBUG = True

    call_command("demo_studio", stdout=io.StringIO())

    assert Course.objects.count() == len(demo_studio.COURSES)


def test_demo_studio_stops_with_a_command_error_when_the_owners_settings_refuse_its_registrations():
    SystemSetting.objects.create(setting_key="registration_open", setting_value="no")

    with pytest.raises(CommandError, match="registration_open"):
        run_demo_studio()

    assert all(count == 0 for count in row_counts().values())
    assert list(SystemSetting.objects.values_list("setting_key", "setting_value")) == [("registration_open", "no")]


def test_demo_studio_writes_nothing_when_it_fails_halfway(monkeypatch):
    def broken_waitlist(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo_studio, "join_waitlist", broken_waitlist)

    with pytest.raises(RuntimeError):
        run_demo_studio()

    assert all(count == 0 for count in row_counts().values())
    assert not SystemSetting.objects.exists() and not EmailLog.objects.exists()
