"""The two staff groups (README "Deploying" creates their accounts): "Studio admin" (everything in the portal's apps)
and "Instructor" (the attendance page and read-only registrations)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PORTAL_APPS = ["dance_portal", "students", "courses", "registrations", "attendance", "waitlist"]
STUDIO_ADMIN = "Studio admin"
INSTRUCTOR = "Instructor"
# (app label, permission codename)
INSTRUCTOR_PERMISSIONS = [
    ("registrations", "view_registration"),
    ("registrations", "view_registrationevent"),
    ("students", "view_student"),
    ("courses", "view_course"),
    ("courses", "view_courseslot"),
    ("courses", "view_coursepricing"),
    ("attendance", "view_classsession"),
    ("attendance", "change_classsession"),
    ("attendance", "view_attendancerecord"),
    ("attendance", "add_attendancerecord"),
    ("attendance", "change_attendancerecord"),
]


def create_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    # Permissions are normally created by post_migrate, i.e. after every migration: on a fresh database they
    # do not exist yet, so create them now (create_permissions() skips app configs without a models module,
    # which the migration state's app configs never have).
    for label in PORTAL_APPS:
        app_config = apps.get_app_config(label)
        models_module, app_config.models_module = getattr(app_config, "models_module", None), True
        try:
            create_permissions(app_config, verbosity=0, using=using, apps=apps)
        finally:
            app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.using(using)

    studio_admin, _ = Group.objects.using(using).get_or_create(name=STUDIO_ADMIN)
    studio_admin.permissions.set(permissions.filter(content_type__app_label__in=PORTAL_APPS))

    instructor, _ = Group.objects.using(using).get_or_create(name=INSTRUCTOR)
    instructor.permissions.set(
        [permissions.get(content_type__app_label=app, codename=codename) for app, codename in INSTRUCTOR_PERMISSIONS]
    )


def delete_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=[STUDIO_ADMIN, INSTRUCTOR]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dance_portal", "0001_initial"),
        ("students", "0001_initial"),
        ("courses", "0001_initial"),
        ("registrations", "0001_initial"),
        ("attendance", "0001_initial"),
        ("waitlist", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
