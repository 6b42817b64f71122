"""Run every few minutes from cron: `manage.py expire_holds`.

Sends the halfway "your hold runs out soon" reminder (once per hold), marks pending registrations whose hold ran
out as expired (history + "hold expired" email) and offers the freed seats to the waitlist. Safe to run often and
in parallel: every change is made under the slot's lock, every email has a dedupe key. Seat counts never depend
on it having run.
"""

from django.core.management.base import BaseCommand

from registrations.transitions import expire_holds


class Command(BaseCommand):
    help = "Remind students whose payment hold is half over; expire run-out holds and offer their seats."

    def handle(self, *args, **options):
        sweep = expire_holds()
        self.stdout.write(f"Reminded {sweep.reminded}, expired {sweep.expired}.")
