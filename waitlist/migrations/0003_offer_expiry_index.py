# The next waitlist offer to run out (status, offer end), which the cached catalog's key reads on every request.
# Created in SQL, outside the model state, so it needs no change to WaitlistEntry.Meta.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("waitlist", "0002_public_id_and_unique_position")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX waitlist_status_offer_end_idx ON waitlist_waitlistentry (status, offer_expires_at)",
            reverse_sql="DROP INDEX waitlist_status_offer_end_idx",
        )
    ]
