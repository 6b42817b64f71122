"""Run every few minutes from cron: `manage.py send_class_reminders`.

Emails each student on a class's roster its reminder (when, where, and the "Can't make it?" link) once the class is
within `class_reminder_hours`. Safe to run often and in parallel: every reminder has a dedupe key, so a student gets
one per class however often it runs.
"""

from django.core.management.base import BaseCommand

from attendance.reminders import send_class_reminders


class Command(BaseCommand):
    help = "Email the class reminder (with the “Can't make it?” link) to every student of the classes starting soon."

    def handle(self, *args, **options):
        self.stdout.write(f"Reminded {send_class_reminders()}.")
