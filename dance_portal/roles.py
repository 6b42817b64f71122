"""The two staff roles (README "Roles"): "Studio admin" (everything in the portal's apps) and "Instructor" (the
attendance page and read-only registrations: no money, no contact exports, no changing or cancelling sessions).

A role is a Django group. Its permissions are kept in step with the models after every `migrate`, so a model added
later is the Studio admin's at once. Access goes by these groups' permissions, never by `is_staff` alone: money needs `registrations.view_money`, exports
with contact details `students.export_contacts`, the door tablet `attendance.view_classsession` (and
`attendance.add_attendancerecord` to mark).
"""

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

STUDIO_ADMIN = "Studio admin"
INSTRUCTOR = "Instructor"

# The portal's own apps, whose every permission the Studio admin holds.
PORTAL_APPS = [
    "studio",
    "students",
    "courses",
    "registrations",
    "waitlist",
    "attendance",
    "class_messages",
    "dance_portal",
]

# (app label, permission codename)
INSTRUCTOR_PERMISSIONS = [
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
]


def sync_staff_groups(*, apps=global_apps, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Create the two groups if missing; give the Studio admin every permission of the portal's apps (adding, never
    taking away) and the Instructor exactly INSTRUCTOR_PERMISSIONS. Connected to post_migrate."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.using(using)
    studio_admin, _created = Group.objects.using(using).get_or_create(name=STUDIO_ADMIN)
    studio_admin.permissions.add(*permissions.filter(content_type__app_label__in=PORTAL_APPS))
    instructor, _created = Group.objects.using(using).get_or_create(name=INSTRUCTOR)
    wanted = [
        permission
        for app_label, codename in INSTRUCTOR_PERMISSIONS
        for permission in permissions.filter(content_type__app_label=app_label, codename=codename)
    ]
    instructor.permissions.set(wanted)
