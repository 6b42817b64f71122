# The studio's settings, email log and logo move here from dance_portal (the project package, which now imports every
# app and so cannot be the ground they stand on). Only Django's record of the models moves in this migration: the
# tables keep their rows and names, the content types (and so every permission granted on them) are relabelled, and
# the next migration gives the tables this app's names.

from django.db import migrations, models

MODELS = ["systemsetting", "emaillog", "studiologo"]


def relabel_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(
        app_label="dance_portal", model__in=MODELS
    ).update(app_label="studio")


def relabel_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label="studio", model__in=MODELS).update(
        app_label="dance_portal"
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("dance_portal", "0004_studio_logo"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="SystemSetting",
            fields=[
                ("setting_key", models.CharField(max_length=64, primary_key=True, serialize=False, verbose_name="setting")),
                ("setting_value", models.TextField(blank=True, verbose_name="value")),
                ("description", models.CharField(blank=True, max_length=200, verbose_name="description")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
            ],
            options={
                "verbose_name": "system setting",
                "verbose_name_plural": "system settings",
                "ordering": ["setting_key"],
                "db_table": "dance_portal_systemsetting",
            },
        ),
        migrations.CreateModel(
            name="EmailLog",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=40, verbose_name="kind")),
                ("to_email", models.EmailField(max_length=254, verbose_name="to")),
                ("subject", models.CharField(max_length=255, verbose_name="subject")),
                ("body_text", models.TextField(verbose_name="text body")),
                ("body_html", models.TextField(blank=True, verbose_name="HTML body")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("sent", "Sent"),
                            ("failed", "Failed"),
                            ("skipped", "Skipped (notifications off)"),
                        ],
                        default="queued",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("error", models.TextField(blank=True, verbose_name="error")),
                ("dedupe_key", models.CharField(blank=True, max_length=100, null=True, verbose_name="dedupe key")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
            ],
            options={
                "verbose_name": "email",
                "verbose_name_plural": "email log",
                "ordering": ["-created_at"],
                "db_table": "dance_portal_emaillog",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["queued", "sent", "failed", "skipped"])),
                        name="dance_portal_emaillog_status_valid",
                    ),
                    models.UniqueConstraint(fields=("dedupe_key",), name="dance_portal_emaillog_dedupe_key_unique"),
                ],
            },
        ),
        migrations.CreateModel(
            name="StudioLogo",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ("data", models.BinaryField(verbose_name="image")),
                (
                    "content_type",
                    models.CharField(
                        choices=[("image/png", "PNG"), ("image/jpeg", "JPEG"), ("image/webp", "WebP")],
                        editable=False,
                        max_length=20,
                        verbose_name="type",
                    ),
                ),
                ("width", models.PositiveIntegerField(blank=True, editable=False, null=True, verbose_name="width")),
                ("height", models.PositiveIntegerField(blank=True, editable=False, null=True, verbose_name="height")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
            ],
            options={
                "verbose_name": "studio logo",
                "verbose_name_plural": "studio logo",
                "db_table": "dance_portal_studiologo",
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="dance_portal_studiologo_single_row"),
                    models.CheckConstraint(
                        condition=models.Q(("content_type__in", ["image/png", "image/jpeg", "image/webp"])),
                        name="dance_portal_studiologo_type_valid",
                    ),
                ],
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
        migrations.RunPython(relabel_content_types, relabel_content_types_back),
    ]
