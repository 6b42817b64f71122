"""The email log keeps class messages without their unsubscribe link's token (class_messages/services.py): remove it
from the rows written before (the delivery of a queued one, or a resend, puts the token back in)."""

import re

from django.db import migrations

MARK = "LINK-SECRET-REMOVED"  # studio.emails.LINK_SECRET_MARK when this was written
UNSUBSCRIBE_TOKEN = re.compile(r"(/messages/stop/)([^/\s\"'<>]+)(/)")


def redact_unsubscribe_links(apps, schema_editor):
    EmailLog = apps.get_model("studio", "EmailLog")
    for log in EmailLog.objects.filter(kind="class_message").iterator():
        text = UNSUBSCRIBE_TOKEN.sub(rf"\g<1>{MARK}\g<3>", log.body_text)
        html = UNSUBSCRIBE_TOKEN.sub(rf"\g<1>{MARK}\g<3>", log.body_html)
        if (text, html) != (log.body_text, log.body_html):
            EmailLog.objects.filter(pk=log.pk).update(body_text=text, body_html=html)


class Migration(migrations.Migration):
    dependencies = [("class_messages", "0001_initial"), ("studio", "0005_email_attempts")]

    operations = [migrations.RunPython(redact_unsubscribe_links, migrations.RunPython.noop)]
