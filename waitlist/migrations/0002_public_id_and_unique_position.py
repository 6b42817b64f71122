import uuid

from django.db import migrations, models


def give_each_entry_its_own_public_id(apps, schema_editor):
    # AddField evaluates the default once: existing rows would share one UUID without this.
    WaitlistEntry = apps.get_model("waitlist", "WaitlistEntry")
    for entry in WaitlistEntry.objects.only("pk"):
        entry.public_id = uuid.uuid4()
        entry.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("waitlist", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="waitlistentry",
            name="public_id",
            field=models.UUIDField(editable=False, null=True, verbose_name="public id"),
        ),
        migrations.RunPython(give_each_entry_its_own_public_id, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="waitlistentry",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="public id"),
        ),
        migrations.AddConstraint(
            model_name="waitlistentry",
            constraint=models.UniqueConstraint(
                fields=("course", "waitlist_position"), name="waitlist_waitlistentry_one_entry_per_position"
            ),
        ),
    ]
