# The indexes 0002 made in SQL move into Registration.Meta (the model now says which indexes it has), and two that
# only repeated the start of registrations_slot_hold_idx go: (slot, payment_status) and the slot foreign key's own.
# Every new registration updated both, and PostgreSQL weighed both when planning each seat count.

from django.db import migrations, models

import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0002_catalog_version"),
        ("registrations", "0002_indexes_for_large_studios"),
    ]

    operations = [
        # Already in the database (0002): recorded in the model state only.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="registration",
                    index=models.Index(
                        fields=["slot", "payment_status", "payment_due_at"], name="registrations_slot_hold_idx"
                    ),
                ),
                migrations.AddIndex(
                    model_name="registration",
                    index=models.Index(fields=["payment_status", "payment_due_at"], name="registrations_status_due_idx"),
                ),
                migrations.AddIndex(
                    model_name="registration",
                    index=models.Index(fields=["-created_at", "-id"], name="registrations_created_desc_idx"),
                ),
            ],
        ),
        migrations.RemoveIndex(model_name="registration", name="registrations_slot_status_idx"),
        migrations.AlterField(
            model_name="registration",
            name="slot",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="registrations",
                to="courses.courseslot",
                verbose_name="time slot",
            ),
        ),
    ]
