# Emails sent before the email log had an "about" link named their registration only in their dedupe key
# ("<kind>:<registration id>[:...]"): link them to it, as every new email is.

from django.db import migrations

REGISTRATION_KINDS = [
    "registration_received",
    "already_registered",
    "payment_confirmed",
    "registration_canceled",
    "hold_expiring",
    "hold_expired",
]


def link_emails(apps, schema_editor):
    using = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    EmailLog = apps.get_model("studio", "EmailLog")
    Registration = apps.get_model("registrations", "Registration")
    registration_type, _created = ContentType.objects.using(using).get_or_create(
        app_label="registrations", model="registration"
    )
    existing = set(Registration.objects.using(using).values_list("pk", flat=True))
    for log in EmailLog.objects.using(using).filter(kind__in=REGISTRATION_KINDS, about_id__isnull=True).iterator():
        first = (log.dedupe_key or "").partition(":")[2].split(":", 1)[0]
        if first.isdigit() and int(first) in existing:
            EmailLog.objects.using(using).filter(pk=log.pk).update(about_type=registration_type, about_id=int(first))


class Migration(migrations.Migration):
    dependencies = [
        ("registrations", "0003_indexes_in_model_state"),
        ("studio", "0002_studio_table_names_and_email_about"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(link_emails, migrations.RunPython.noop)]
