import importlib
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from attendance.models import AttendanceRecord
from attendance.tests.factories import ClassSessionFactory
from dance_portal.roles import PORTAL_APPS, sync_staff_groups
from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory

pytestmark = pytest.mark.django_db

groups_migration = importlib.import_module("dance_portal.migrations.0002_groups")


def _codenames(group_name):
    return set(
        Group.objects.get(name=group_name).permissions.values_list("content_type__app_label", "codename").order_by()
    )


@pytest.fixture
def staff_in_group(django_user_model):
    def make(group_name):
        user = django_user_model.objects.create_user(username=group_name.lower().replace(" ", "_"), is_staff=True)
        user.groups.add(Group.objects.get(name=group_name))
        return user

    return make


def test_studio_admin_group_has_every_permission_of_the_portal_apps():
    expected = set(
        Permission.objects.filter(content_type__app_label__in=PORTAL_APPS).values_list(
            "content_type__app_label", "codename"
        )
    )

    assert ("registrations", "view_registration") in expected
    assert ("studio", "change_systemsetting") in expected
    assert _codenames("Studio admin") == expected


def test_instructor_group_has_view_permissions_and_attendance_marking():
    assert _codenames("Instructor") == {
        ("registrations", "view_registration"),
        ("registrations", "view_registrationevent"),
        ("students", "view_student"),
        ("courses", "view_course"),
        ("courses", "view_courseslot"),
        ("courses", "view_coursepricing"),
        ("attendance", "view_classsession"),
        ("attendance", "view_attendancerecord"),
        ("attendance", "add_attendancerecord"),
        ("attendance", "change_attendancerecord"),
    }


def test_instructor_can_view_registrations_but_not_change_them(client, staff_in_group):
    registration = RegistrationFactory(transaction_note="")
    client.force_login(staff_in_group("Instructor"))
    change_url = reverse("admin:registrations_registration_change", args=[registration.pk])

    changelist = client.get(reverse("admin:registrations_registration_changelist"))
    view_page = client.get(change_url)
    post = client.post(change_url, {"transaction_note": "paid in cash"})

    assert changelist.status_code == 200
    assert registration.reference in changelist.content.decode()
    assert view_page.status_code == 200
    assert view_page.context["has_change_permission"] is False
    assert 'name="_save"' not in view_page.content.decode()
    assert post.status_code == 403
    registration.refresh_from_db()
    assert registration.transaction_note == ""


def test_instructor_cannot_open_settings_or_the_waitlist(client, staff_in_group):
    client.force_login(staff_in_group("Instructor"))

    assert client.get(reverse("admin:studio_systemsetting_changelist")).status_code == 403
    assert client.get(reverse("admin:waitlist_waitlistentry_changelist")).status_code == 403
    assert client.get(reverse("admin:courses_course_add")).status_code == 403


def test_instructor_marks_attendance_on_the_roster(client, staff_in_group):
    from django.utils import timezone

    from attendance.tests.factories import ClassSessionFactory as Sessions

    instructor = staff_in_group("Instructor")
    registration = RegistrationFactory(payment_status=Registration.PaymentStatus.COMPLETED)
    session = Sessions(course=registration.course, slot=registration.slot, session_date=timezone.localdate())
    client.force_login(instructor)

    response = client.post(
        reverse("attendance:detail", args=[session.pk]), {f"mark-{registration.student_id}": "present"}
    )

    assert response.status_code == 302
    assert AttendanceRecord.objects.get().marked_by == instructor


def test_studio_admin_can_change_a_course_but_not_delete_a_registration(client, staff_in_group):
    registration = RegistrationFactory()
    client.force_login(staff_in_group("Studio admin"))

    course_page = client.get(reverse("admin:courses_course_change", args=[registration.course.pk]))
    delete = client.post(reverse("admin:registrations_registration_delete", args=[registration.pk]), {"post": "yes"})

    assert course_page.context["has_change_permission"] is True
    assert delete.status_code == 403
    assert Registration.objects.filter(pk=registration.pk).exists()


def test_groups_migration_reverses_and_reapplies():
    state_apps = MigrationExecutor(connection).loader.project_state(("dance_portal", "0002_groups")).apps

    schema_editor = SimpleNamespace(connection=connection)
    groups_migration.delete_groups(state_apps, schema_editor)
    assert not Group.objects.filter(name__in=["Studio admin", "Instructor"]).exists()

    groups_migration.create_groups(state_apps, schema_editor)
    assert len(_codenames("Instructor")) == len(groups_migration.INSTRUCTOR_PERMISSIONS)
    assert _codenames("Studio admin")


def test_a_permission_added_later_is_the_studio_admins_after_the_next_migrate():
    Group.objects.get(name="Studio admin").permissions.remove(Permission.objects.get(codename="view_emaillog"))

    sync_staff_groups()

    assert ("studio", "view_emaillog") in _codenames("Studio admin")


def test_an_instructor_sees_no_money_on_the_dashboard(client, staff_in_group):
    RegistrationFactory(payment_status=Registration.PaymentStatus.COMPLETED)
    client.force_login(staff_in_group("Instructor"))

    html = client.get(reverse("admin:index")).content.decode()

    assert 'id="studio-dashboard"' in html
    assert "Pending payments" not in html and "dashboard-revenue" not in html


def test_a_studio_admin_sees_the_money_on_the_dashboard(client, staff_in_group):
    client.force_login(staff_in_group("Studio admin"))

    html = client.get(reverse("admin:index")).content.decode()

    assert "Pending payments" in html and "dashboard-revenue" in html


def test_an_instructor_cannot_change_or_cancel_a_session(client, staff_in_group):
    from django.utils import timezone

    session = ClassSessionFactory(session_date=timezone.localdate() + timezone.timedelta(days=1))
    client.force_login(staff_in_group("Instructor"))
    change_url = reverse("admin:attendance_classsession_change", args=[session.pk])

    page = client.get(change_url)
    post = client.post(change_url, {"notes": "moved"})
    cancel = client.post(
        reverse("admin:attendance_classsession_changelist"),
        {"action": "cancel_sessions", "_selected_action": [session.pk], "apply": "1", "reason": "x"},
    )

    assert page.context["has_change_permission"] is False
    assert post.status_code == 403
    assert cancel.status_code in (200, 302, 403)
    session.refresh_from_db()
    assert not session.is_canceled and session.notes == ""
