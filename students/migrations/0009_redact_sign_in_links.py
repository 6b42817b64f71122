"""The email log keeps sign-in emails without their link's token (students/services.py): remove it from the rows
written before (a resend signs a fresh link)."""

import re

from django.db import migrations

MARK = "LINK-SECRET-REMOVED"  # studio.emails.LINK_SECRET_MARK when this was written
SIGN_IN_TOKEN = re.compile(r"(/me/sign-in/)([^/\s\"'<>]+)(/)")


def redact_sign_in_links(apps, schema_editor):
    EmailLog = apps.get_model("studio", "EmailLog")
    for log in EmailLog.objects.filter(kind="sign_in_link").iterator():
        text = SIGN_IN_TOKEN.sub(rf"\g<1>{MARK}\g<3>", log.body_text)
        html = SIGN_IN_TOKEN.sub(rf"\g<1>{MARK}\g<3>", log.body_html)
        if (text, html) != (log.body_text, log.body_html):
            EmailLog.objects.filter(pk=log.pk).update(body_text=text, body_html=html)


class Migration(migrations.Migration):
    dependencies = [("students", "0008_deliverable_email"), ("studio", "0005_email_attempts")]

    operations = [migrations.RunPython(redact_sign_in_links, migrations.RunPython.noop)]
