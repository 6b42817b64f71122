# Indexes for a studio with tens of thousands of registrations (make bench). Created in SQL, outside the model
# state, so they need no change to Registration.Meta.
#   - the admin changelist's default order (-created_at, -pk): the first page without sorting every row;
#   - seats of one slot (slot, status, hold end) and the next hold to run out (status, hold end), which the
#     cached catalog's key reads on every request.

from django.db import migrations

INDEXES = {
    "registrations_created_desc_idx": "registrations_registration (created_at DESC, id DESC)",
    "registrations_slot_hold_idx": "registrations_registration (slot_id, payment_status, payment_due_at)",
    "registrations_status_due_idx": "registrations_registration (payment_status, payment_due_at)",
}


class Migration(migrations.Migration):
    dependencies = [("registrations", "0001_initial")]

    operations = [
        migrations.RunSQL(f"CREATE INDEX {name} ON {columns}", reverse_sql=f"DROP INDEX {name}")
        for name, columns in INDEXES.items()
    ]
