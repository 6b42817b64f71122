import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession, MakeUp
from attendance.tests.factories import AttendanceRecordFactory, ClassSessionFactory, MakeUpFactory
from courses.tests.factories import CourseSlotFactory
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

SESSION_ADD = reverse("admin:attendance_classsession_add")
RECORD_ADD = reverse("admin:attendance_attendancerecord_add")


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


def session_data(slot, **changes):
    return {
        "course": str(slot.course_id),
        "slot": str(slot.pk),
        "session_date": slot.class_dates()[0].isoformat(),
        "start_time": "19:00",
        "end_time": "20:30",
        "location": "Studio A",
        "notes": "",
        **changes,
    }


def test_session_add_creates_a_session(admin_client):
    slot = CourseSlotFactory()

    response = admin_client.post(SESSION_ADD, session_data(slot))

    assert response.status_code == 302
    session = ClassSession.objects.get()
    assert (session.slot, session.course, session.is_canceled) == (slot, slot.course, False)


def test_session_add_rejects_end_before_start_and_saves_nothing(admin_client):
    response = admin_client.post(SESSION_ADD, session_data(CourseSlotFactory(), start_time="20:00", end_time="19:00"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["end_time"] == ["The class must end after it starts."]
    assert not ClassSession.objects.exists()


def test_session_add_rejects_a_slot_of_another_course(admin_client):
    slot, other = CourseSlotFactory(), CourseSlotFactory()

    response = admin_client.post(SESSION_ADD, session_data(slot, course=str(other.course_id)))

    assert response.context["adminform"].form.errors["slot"] == ["Choose a time slot of this course."]
    assert not ClassSession.objects.exists()


def test_session_add_rejects_a_second_session_for_the_same_slot_and_date(admin_client):
    existing = ClassSessionFactory()

    response = admin_client.post(
        SESSION_ADD, session_data(existing.slot, session_date=existing.session_date.isoformat())
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert ClassSession.objects.count() == 1


def test_session_cancel_flag_is_not_editable_in_the_form(admin_client):
    session = ClassSessionFactory()

    response = admin_client.post(
        reverse("admin:attendance_classsession_change", args=[session.pk]),
        session_data(session.slot, is_canceled="on", notes="Bring water"),
    )

    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.is_canceled, session.notes) == (False, "Bring water")


def test_attendance_records_cannot_be_added_in_the_admin_where_the_roster_is_not_checked(admin_client):
    session, student = ClassSessionFactory(), StudentFactory()  # not on the session's roster

    response = admin_client.post(RECORD_ADD, {"session": session.pk, "student": student.pk, "status": "late"})

    assert response.status_code == 403
    assert not AttendanceRecord.objects.exists()


def test_an_attendance_record_is_read_only_and_links_to_its_roster(admin_client):
    record = AttendanceRecordFactory()
    url = reverse("admin:attendance_attendancerecord_change", args=[record.pk])

    page = admin_client.get(url)
    post = admin_client.post(url, {"status": "absent"})

    assert reverse("attendance:detail", args=[record.session_id]) in page.content.decode()
    assert post.status_code == 403
    record.refresh_from_db()
    assert record.status == AttendanceRecord.Status.PRESENT


def test_attendance_changelist_shows_script_in_student_name_escaped(admin_client):
    AttendanceRecordFactory(student=StudentFactory(first_name="<script>alert(1)</script>"))

    html = admin_client.get(reverse("admin:attendance_attendancerecord_changelist")).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


def test_generate_sessions_action_creates_the_course_sessions_once(admin_client):
    from courses.tests.factories import CourseSlotFactory

    slot = CourseSlotFactory()
    data = {"action": "generate_sessions", "_selected_action": [slot.course.pk]}
    admin_client.post(reverse("admin:courses_course_changelist"), data)
    admin_client.post(reverse("admin:courses_course_changelist"), data)
    assert ClassSession.objects.filter(slot=slot).count() == len(slot.class_dates())


def test_cancel_sessions_action_asks_for_a_reason_first_and_changes_nothing_until_then(admin_client):
    session = ClassSessionFactory()

    page = admin_client.post(
        reverse("admin:attendance_classsession_changelist"),
        {"action": "cancel_sessions", "_selected_action": [session.pk]},
    )
    no_reason = admin_client.post(
        reverse("admin:attendance_classsession_changelist"),
        {"action": "cancel_sessions", "_selected_action": [session.pk], "apply": "1", "reason": "  "},
    )

    assert "Cancel class sessions" in page.content.decode()
    assert "This field is required." in no_reason.content.decode()
    session.refresh_from_db()
    assert not session.is_canceled


def test_cancel_sessions_action_cancels_through_the_service_and_emails_the_reason(
    admin_client, django_capture_on_commit_callbacks, mailoutbox
):
    from registrations.tests.factories import RegistrationFactory

    session = ClassSessionFactory(session_date=timezone.localdate() + datetime.timedelta(days=1))
    RegistrationFactory(slot=session.slot, payment_status="completed")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:attendance_classsession_changelist"),
            {"action": "cancel_sessions", "_selected_action": [session.pk], "apply": "1", "reason": "Jordan is ill"},
        )

    session.refresh_from_db()
    assert session.is_canceled and session.canceled_at is not None
    assert session.cancel_reason == "Jordan is ill"
    assert "Why: Jordan is ill" in mailoutbox[0].body


def test_a_session_with_an_excused_absence_or_a_make_up_is_kept_when_deleted(admin_client):
    from attendance.tests.factories import AbsenceFactory

    absence = AbsenceFactory()
    makeup = MakeUpFactory()

    admin_client.post(
        reverse("admin:attendance_classsession_changelist"),
        {"action": "delete_sessions", "_selected_action": [absence.session_id, makeup.session_id]},
        follow=True,
    )

    assert ClassSession.objects.filter(pk__in=[absence.session_id, makeup.session_id]).count() == 2


def test_a_session_with_attendance_cannot_be_deleted_and_the_admin_says_why(admin_client):
    record = AttendanceRecordFactory()
    empty = ClassSessionFactory()

    page = admin_client.post(
        reverse("admin:attendance_classsession_delete", args=[record.session_id]), {"post": "yes"}, follow=True
    )
    bulk = admin_client.post(
        reverse("admin:attendance_classsession_changelist"),
        {"action": "delete_sessions", "_selected_action": [record.session_id, empty.pk]},
        follow=True,
    )

    assert "the session cannot be deleted" in page.content.decode()
    assert "cancel it instead" in bulk.content.decode()
    assert ClassSession.objects.filter(pk=record.session_id).exists()
    assert AttendanceRecord.objects.filter(pk=record.pk).exists()
    assert not ClassSession.objects.filter(pk=empty.pk).exists()
    assert (
        "delete_selected" not in admin_client.get(reverse("admin:attendance_classsession_changelist")).content.decode()
    )


def test_the_database_refuses_to_delete_a_session_with_attendance():
    from django.db.models import ProtectedError

    record = AttendanceRecordFactory()

    with pytest.raises(ProtectedError):
        record.session.delete()


def test_the_studio_cancels_a_make_up_from_the_admin_and_it_goes_back_to_the_student(admin_client):
    makeup = MakeUpFactory()

    response = admin_client.post(
        reverse("admin:attendance_makeup_changelist"),
        {"action": "cancel_makeups", "_selected_action": [makeup.pk]},
        follow=True,
    )

    assert "Canceled 1 make-up." in response.content.decode()
    makeup.refresh_from_db()
    assert (makeup.status, makeup.canceled_by_studio) == (MakeUp.Status.CANCELED, True)


def test_a_staff_user_who_may_only_view_make_ups_cannot_cancel_one(client, django_user_model):
    from django.contrib.auth.models import Permission

    makeup = MakeUpFactory()
    viewer = django_user_model.objects.create_user(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_makeup"))
    client.force_login(viewer)
    changelist = reverse("admin:attendance_makeup_changelist")

    page = client.get(changelist).content.decode()
    client.post(changelist, {"action": "cancel_makeups", "_selected_action": [makeup.pk]}, follow=True)

    assert 'value="cancel_makeups"' not in page
    makeup.refresh_from_db()
    assert makeup.status == MakeUp.Status.BOOKED
    viewer.user_permissions.add(Permission.objects.get(codename="change_makeup"))
    client.post(changelist, {"action": "cancel_makeups", "_selected_action": [makeup.pk]}, follow=True)
    makeup.refresh_from_db()
    assert makeup.status == MakeUp.Status.CANCELED


@pytest.mark.parametrize("record", ["attendance", "absence", "makeup"])
def test_a_session_with_records_keeps_its_course_slot_and_date_but_its_notes_can_change(admin_client, record):
    from attendance.tests.factories import AbsenceFactory

    session = {
        "attendance": lambda: AttendanceRecordFactory().session,
        "absence": lambda: AbsenceFactory().session,
        "makeup": lambda: MakeUpFactory().session,
    }[record]()
    before = (session.course_id, session.slot_id, session.session_date)
    other_slot = CourseSlotFactory()
    url = reverse("admin:attendance_classsession_change", args=[session.pk])

    page = admin_client.get(url).content.decode()
    response = admin_client.post(
        url,
        session_data(
            other_slot,
            start_time=f"{session.start_time:%H:%M}",
            end_time=f"{session.end_time:%H:%M}",
            notes="Bring water",
        ),
    )

    assert 'name="session_date"' not in page and 'name="slot"' not in page and 'name="course"' not in page
    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.course_id, session.slot_id, session.session_date) == before
    assert session.notes == "Bring water"


def test_a_session_without_records_can_still_move(admin_client):
    session = ClassSessionFactory()
    other_date = session.session_date + datetime.timedelta(days=7)

    admin_client.post(
        reverse("admin:attendance_classsession_change", args=[session.pk]),
        session_data(session.slot, session_date=other_date.isoformat()),
    )

    session.refresh_from_db()
    assert session.session_date == other_date


@pytest.mark.parametrize("record", ["absence", "makeup"])
def test_the_delete_page_keeps_a_session_with_an_excused_absence_or_a_make_up_and_says_why(admin_client, record):
    from attendance.tests.factories import AbsenceFactory

    session = (AbsenceFactory() if record == "absence" else MakeUpFactory()).session

    page = admin_client.get(reverse("admin:attendance_classsession_delete", args=[session.pk]), follow=True)

    assert "the session cannot be deleted" in page.content.decode()
    assert page.redirect_chain == [(reverse("admin:attendance_classsession_change", args=[session.pk]), 302)]
    assert ClassSession.objects.filter(pk=session.pk).exists()
