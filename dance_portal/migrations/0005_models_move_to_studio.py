# SystemSetting, EmailLog and StudioLogo now belong to the studio app (studio/migrations/0001_initial.py): only
# Django's record of them leaves this app; their tables and rows stay.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dance_portal", "0004_studio_logo"),
        ("studio", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="SystemSetting"),
                migrations.DeleteModel(name="EmailLog"),
                migrations.DeleteModel(name="StudioLogo"),
            ]
        )
    ]
