import datetime

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from attendance import services
from attendance.models import AttendanceRecord, ClassSession
from attendance.selectors import session_starts_at
from attendance.tests.factories import AttendanceRecordFactory, ClassSessionFactory
from courses.models import Course, CourseSlot
from courses.tests.factories import CourseFactory, CourseSlotFactory
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from students.services import anonymise_student
from students.tests.factories import StudentFactory
from studio.models import EmailLog, SystemSetting

pytestmark = pytest.mark.django_db

Status = AttendanceRecord.Status
PaymentStatus = Registration.PaymentStatus
DAY = datetime.timedelta(days=1)


def session_on(date: datetime.date, **course_kwargs) -> ClassSession:
    """A session of a weekly slot that meets on `date`."""
    course = CourseFactory(start_date=date - 14 * DAY, end_date=date + 14 * DAY, **course_kwargs)
    slot = CourseSlotFactory(course=course, day_of_week=date.weekday())
    return ClassSessionFactory(slot=slot, session_date=date)


def paid(session, **kwargs) -> Registration:
    return RegistrationFactory(slot=session.slot, payment_status=PaymentStatus.COMPLETED, payment_due_at=None, **kwargs)


def staff_user(username="door") -> User:
    return User.objects.create_user(username=username, is_staff=True)


# --- generate_class_sessions -------------------------------------------------------------------------------------


def test_generate_class_sessions_creates_one_session_per_week_with_the_slot_times_and_location():
    course = CourseFactory(start_date=datetime.date(2026, 9, 7), end_date=datetime.date(2026, 9, 30))
    slot = CourseSlotFactory(
        course=course,
        day_of_week=CourseSlot.DayOfWeek.MONDAY,
        start_time=datetime.time(18, 30),
        end_time=datetime.time(20, 0),
        location="Studio B",
    )

    created = services.generate_class_sessions(course=course)

    sessions = list(ClassSession.objects.filter(slot=slot).order_by("session_date"))
    assert len(created) == 4
    assert [s.session_date for s in sessions] == [datetime.date(2026, 9, d) for d in (7, 14, 21, 28)]
    assert {(s.course_id, s.start_time, s.end_time, s.location, s.is_canceled) for s in sessions} == {
        (course.pk, datetime.time(18, 30), datetime.time(20, 0), "Studio B", False)
    }


def test_generate_class_sessions_covers_every_slot_of_the_course():
    course = CourseFactory(start_date=datetime.date(2026, 9, 7), end_date=datetime.date(2026, 9, 20))
    monday = CourseSlotFactory(course=course, day_of_week=0)
    thursday = CourseSlotFactory(course=course, day_of_week=3, start_time=datetime.time(17, 0))

    services.generate_class_sessions(course=course)

    assert list(ClassSession.objects.filter(slot=monday).values_list("session_date", flat=True)) == [
        datetime.date(2026, 9, 7),
        datetime.date(2026, 9, 14),
    ]
    assert list(ClassSession.objects.filter(slot=thursday).values_list("session_date", "start_time")) == [
        (datetime.date(2026, 9, 10), datetime.time(17, 0)),
        (datetime.date(2026, 9, 17), datetime.time(17, 0)),
    ]


def test_generate_class_sessions_puts_dated_slots_on_their_one_date():
    course = CourseFactory(
        course_type=Course.CourseType.CREW_PRACTICE,
        start_date=datetime.date(2026, 10, 1),
        end_date=datetime.date(2026, 10, 31),
    )
    first = CourseSlotFactory(course=course, practice_date=datetime.date(2026, 10, 3))
    second = CourseSlotFactory(course=course, practice_date=datetime.date(2026, 10, 24), location="Hall")

    services.generate_class_sessions(course=course)

    assert list(ClassSession.objects.order_by("session_date").values_list("slot", "session_date", "location")) == [
        (first.pk, datetime.date(2026, 10, 3), "Studio A"),
        (second.pk, datetime.date(2026, 10, 24), "Hall"),
    ]


def test_generate_class_sessions_keeps_18_30_local_across_the_dst_change(settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    # Daylight saving time starts on Sunday 2026-03-08 in Los Angeles.
    course = CourseFactory(start_date=datetime.date(2026, 3, 2), end_date=datetime.date(2026, 3, 16))
    CourseSlotFactory(course=course, day_of_week=0, start_time=datetime.time(18, 30), end_time=datetime.time(20, 0))

    services.generate_class_sessions(course=course)

    sessions = list(ClassSession.objects.order_by("session_date"))
    assert [s.session_date for s in sessions] == [datetime.date(2026, 3, d) for d in (2, 9, 16)]
    starts = [session_starts_at(s) for s in sessions]
    assert [(start.hour, start.minute) for start in starts] == [(18, 30)] * 3
    in_utc = [start.astimezone(datetime.UTC) for start in starts]
    assert in_utc[0] == datetime.datetime(2026, 3, 3, 2, 30, tzinfo=datetime.UTC)  # PST, UTC−8
    assert in_utc[1] == datetime.datetime(2026, 3, 10, 1, 30, tzinfo=datetime.UTC)  # PDT, UTC−7
    assert in_utc[1] - in_utc[0] == datetime.timedelta(days=7, hours=-1)


def test_generate_class_sessions_twice_creates_nothing_new_and_keeps_edits_and_cancellations():
    course = CourseFactory(start_date=datetime.date(2026, 9, 7), end_date=datetime.date(2026, 9, 28))
    CourseSlotFactory(course=course, day_of_week=0)
    first = services.generate_class_sessions(course=course)
    edited, canceled = first[0], first[1]
    ClassSession.objects.filter(pk=edited.pk).update(start_time=datetime.time(18, 0), location="Garden")
    ClassSession.objects.filter(pk=canceled.pk).update(is_canceled=True, canceled_at=timezone.now())

    again = services.generate_class_sessions(course=course)

    assert again == []
    assert ClassSession.objects.count() == 4
    edited.refresh_from_db()
    canceled.refresh_from_db()
    assert (edited.start_time, edited.location) == (datetime.time(18, 0), "Garden")
    assert canceled.is_canceled


def test_generate_class_sessions_adds_only_the_missing_dates_after_the_course_is_extended():
    course = CourseFactory(start_date=datetime.date(2026, 9, 7), end_date=datetime.date(2026, 9, 14))
    CourseSlotFactory(course=course, day_of_week=0)
    services.generate_class_sessions(course=course)
    Course.objects.filter(pk=course.pk).update(end_date=datetime.date(2026, 9, 21))

    created = services.generate_class_sessions(course=course)

    assert [s.session_date for s in created] == [datetime.date(2026, 9, 21)]
    assert ClassSession.objects.count() == 3


# --- cancel_session ------------------------------------------------------------------------------------------------


def test_cancel_session_sets_the_flag_and_time_and_emails_the_roster_after_commit(django_capture_on_commit_callbacks):
    session = session_on(timezone.localdate() + 2 * DAY)
    paid_student = paid(session).student
    unpaid_student = RegistrationFactory(slot=session.slot).student  # pending, hold running
    RegistrationFactory(slot=session.slot, payment_status=PaymentStatus.CANCELED)
    RegistrationFactory(slot=CourseSlotFactory(), payment_status=PaymentStatus.COMPLETED)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.cancel_session(session=session) is True
        assert not EmailLog.objects.exists()  # nothing before the commit
    for callback in callbacks:
        callback()

    session.refresh_from_db()
    assert session.is_canceled
    assert session.canceled_at is not None
    emails = EmailLog.objects.filter(kind="session_canceled")
    assert sorted(emails.values_list("to_email", flat=True)) == sorted([paid_student.email, unpaid_student.email])
    assert session.course.name in emails.first().subject


def test_cancel_session_sends_no_email_to_an_erased_student_still_on_its_roster(
    django_capture_on_commit_callbacks, mailoutbox
):
    session = session_on(timezone.localdate() + 2 * DAY)
    erased = anonymise_student(student=paid(session).student)
    ben = paid(session).student

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(session=session, reason="The instructor is ill.")

    assert [message.to for message in mailoutbox] == [[ben.email]]
    assert EmailLog.objects.get(kind="session_canceled", to_email=erased.email).status == EmailLog.Status.SKIPPED


def test_cancel_session_twice_changes_nothing_and_sends_no_second_email(django_capture_on_commit_callbacks):
    session = session_on(timezone.localdate() + 2 * DAY)
    paid(session)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(session=session)
    first_canceled_at = ClassSession.objects.get(pk=session.pk).canceled_at

    with django_capture_on_commit_callbacks(execute=True):
        changed = services.cancel_session(session=session)

    assert changed is False
    assert ClassSession.objects.get(pk=session.pk).canceled_at == first_canceled_at
    assert EmailLog.objects.filter(kind="session_canceled").count() == 1


def test_cancel_session_in_the_past_emails_nobody(django_capture_on_commit_callbacks):
    session = session_on(timezone.localdate() - 7 * DAY)
    paid(session)

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(session=session)

    assert ClassSession.objects.get(pk=session.pk).is_canceled
    assert not EmailLog.objects.exists()


def test_cancel_session_email_shows_names_literally_in_text_and_escaped_in_html(django_capture_on_commit_callbacks):
    session = session_on(timezone.localdate() + 1 * DAY, name="Salsa & <b>Bachata</b>")
    paid(session, student=StudentFactory(first_name="O'Brien <script>"))

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(session=session)

    email = EmailLog.objects.get(kind="session_canceled")
    assert "Hi O'Brien <script>," in email.body_text
    assert "Salsa & <b>Bachata</b>" in email.subject
    assert "O&#x27;Brien &lt;script&gt;" in email.body_html
    assert "<script>" not in email.body_html


def test_cancel_session_records_skipped_emails_when_notifications_are_off(django_capture_on_commit_callbacks):
    SystemSetting.objects.create(setting_key="email_notifications_enabled", setting_value="off")
    session = session_on(timezone.localdate() + 1 * DAY)
    paid(session)

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_session(session=session)

    assert list(EmailLog.objects.values_list("status", flat=True)) == [EmailLog.Status.SKIPPED]


# --- mark_attendance -----------------------------------------------------------------------------------------------


def test_mark_attendance_writes_one_record_per_student_with_who_and_when():
    session = session_on(timezone.localdate())
    ana, ben = paid(session).student, paid(session).student
    user = staff_user()
    before = timezone.now()

    records = services.mark_attendance(
        session=session, marks={ana.pk: Status.PRESENT, ben.pk: Status.LATE}, marked_by=user
    )

    assert len(records.written) == 2 and records.changed_meanwhile == []
    stored = {r.student_id: r for r in AttendanceRecord.objects.filter(session=session)}
    assert {pk: r.status for pk, r in stored.items()} == {ana.pk: Status.PRESENT, ben.pk: Status.LATE}
    assert {r.marked_by_id for r in stored.values()} == {user.pk}
    assert all(before <= r.marked_at <= timezone.now() for r in stored.values())


def test_mark_attendance_updates_the_existing_record_instead_of_adding_one():
    session = session_on(timezone.localdate())
    student = paid(session).student
    first, second = staff_user("first"), staff_user("second")
    services.mark_attendance(session=session, marks={student.pk: Status.ABSENT}, marked_by=first)

    services.mark_attendance(session=session, marks={student.pk: Status.LATE}, marked_by=second)

    record = AttendanceRecord.objects.get(session=session)
    assert (record.status, record.marked_by) == (Status.LATE, second)


def test_mark_attendance_leaves_unchanged_marks_as_they_were():
    session = session_on(timezone.localdate())
    student = paid(session).student
    first = staff_user("first")
    services.mark_attendance(session=session, marks={student.pk: Status.PRESENT}, marked_by=first)
    marked_at = AttendanceRecord.objects.get().marked_at

    written = services.mark_attendance(session=session, marks={student.pk: Status.PRESENT}, marked_by=staff_user())

    assert written.written == []
    record = AttendanceRecord.objects.get()
    assert (record.marked_by, record.marked_at) == (first, marked_at)


def test_mark_attendance_keeps_a_mark_changed_since_the_page_showed_it_and_reports_it():
    session = session_on(timezone.localdate())
    ana, ben, cleo = (paid(session).student for _ in range(3))
    services.mark_attendance(session=session, marks={ana.pk: Status.PRESENT, cleo.pk: Status.ABSENT}, marked_by=None)
    # The page shows Ana present and Cleo absent; meanwhile another tablet marks Ana late and Cleo present.
    other_tablet = staff_user("front-desk")
    services.mark_attendance(
        session=session, marks={ana.pk: Status.LATE, cleo.pk: Status.PRESENT}, marked_by=other_tablet
    )

    saved = services.mark_attendance(
        session=session,
        marks={ana.pk: Status.PRESENT, ben.pk: Status.PRESENT, cleo.pk: Status.PRESENT},
        marked_by=staff_user(),
        was={ana.pk: Status.PRESENT, ben.pk: "", cleo.pk: Status.ABSENT},
    )

    assert dict(AttendanceRecord.objects.values_list("student_id", "status")) == {
        ana.pk: Status.LATE,  # kept: not overwritten with what the page showed
        ben.pk: Status.PRESENT,  # new
        cleo.pk: Status.PRESENT,  # changed meanwhile to the same mark: nothing to overwrite
    }
    assert [record.student_id for record in saved.written] == [ben.pk]
    assert [(r.student_id, r.status, r.marked_by) for r in saved.changed_meanwhile] == [
        (ana.pk, Status.LATE, other_tablet)
    ]
    assert services.changed_by(saved.changed_meanwhile[0]).startswith("Marked “Late” by front-desk at ")


def test_mark_attendance_accepts_an_unpaid_student_whose_hold_is_running():
    session = session_on(timezone.localdate())
    student = RegistrationFactory(slot=session.slot).student

    services.mark_attendance(session=session, marks={student.pk: Status.PRESENT}, marked_by=staff_user())

    assert AttendanceRecord.objects.get().student == student


def test_mark_attendance_accepts_a_past_session():
    session = session_on(timezone.localdate() - 3 * DAY)
    student = paid(session).student

    services.mark_attendance(session=session, marks={student.pk: Status.ABSENT}, marked_by=staff_user())

    assert AttendanceRecord.objects.get().status == Status.ABSENT


@pytest.mark.parametrize(
    "registration",
    [
        pytest.param(lambda s: RegistrationFactory(slot=s.slot, payment_status=PaymentStatus.CANCELED), id="canceled"),
        pytest.param(lambda s: RegistrationFactory(slot=s.slot, payment_status=PaymentStatus.EXPIRED), id="expired"),
        pytest.param(
            lambda s: RegistrationFactory(slot=s.slot, payment_due_at=timezone.now() - datetime.timedelta(minutes=1)),
            id="hold-ran-out",
        ),
        pytest.param(
            lambda s: RegistrationFactory(slot=CourseSlotFactory(), payment_status=PaymentStatus.COMPLETED),
            id="other-slot",
        ),
        pytest.param(
            lambda s: RegistrationFactory(
                slot=s.slot,
                payment_status=PaymentStatus.COMPLETED,
                pricing_type="drop_in",
                class_date=s.session_date + 7 * DAY,
            ),
            id="drop-in-other-date",
        ),
    ],
)
def test_mark_attendance_refuses_a_student_not_on_the_roster_and_writes_nothing(registration):
    session = session_on(timezone.localdate())
    on_roster = paid(session).student
    outsider = registration(session).student

    with pytest.raises(services.NotOnRoster) as refusal:
        services.mark_attendance(
            session=session, marks={on_roster.pk: Status.PRESENT, outsider.pk: Status.PRESENT}, marked_by=staff_user()
        )

    assert outsider.full_name in str(refusal.value)
    assert refusal.value.student_ids == {outsider.pk}
    assert not AttendanceRecord.objects.exists()


def test_mark_attendance_refuses_an_unknown_student_id():
    session = session_on(timezone.localdate())

    with pytest.raises(services.NotOnRoster):
        services.mark_attendance(session=session, marks={987654: Status.PRESENT}, marked_by=staff_user())

    assert not AttendanceRecord.objects.exists()


def test_mark_attendance_refuses_a_canceled_session():
    session = session_on(timezone.localdate())
    student = paid(session).student
    ClassSession.objects.filter(pk=session.pk).update(
        is_canceled=True, canceled_at=timezone.now()
    )  # canceled after the page was loaded

    with pytest.raises(services.SessionCanceled):
        services.mark_attendance(session=session, marks={student.pk: Status.PRESENT}, marked_by=staff_user())

    assert not AttendanceRecord.objects.exists()


def test_mark_attendance_refuses_a_future_session():
    session = session_on(timezone.localdate() + DAY)
    student = paid(session).student

    with pytest.raises(services.SessionInFuture):
        services.mark_attendance(session=session, marks={student.pk: Status.PRESENT}, marked_by=staff_user())

    assert not AttendanceRecord.objects.exists()


def test_mark_attendance_refuses_an_unknown_status():
    session = session_on(timezone.localdate())
    student = paid(session).student

    with pytest.raises(services.InvalidMark):
        services.mark_attendance(session=session, marks={student.pk: "excused"}, marked_by=staff_user())

    assert not AttendanceRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_mark_attendance_checks_and_writes_in_one_transaction(monkeypatch):
    session = session_on(timezone.localdate())
    ana, ben = paid(session).student, paid(session).student
    AttendanceRecordFactory(session=session, student=ana, status=Status.ABSENT)
    seen = []
    original = AttendanceRecord.objects.bulk_create

    def spy(records, **kwargs):
        seen.append(connection.in_atomic_block)
        return original(records, **kwargs)

    monkeypatch.setattr(AttendanceRecord.objects, "bulk_create", spy)

    services.mark_attendance(session=session, marks={ana.pk: Status.PRESENT, ben.pk: Status.LATE}, marked_by=None)

    assert seen == [True]  # one write, for both students, inside the transaction that checked the roster
    assert dict(AttendanceRecord.objects.values_list("student_id", "status")) == {
        ana.pk: Status.PRESENT,
        ben.pk: Status.LATE,
    }
