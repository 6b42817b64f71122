"""`manage.py expire_offers`: close waitlist offers that ran out and pass their seats on (safe from cron, any time)."""

from django.core.management.base import BaseCommand

from waitlist.offers import expire_offers


class Command(BaseCommand):
    help = (
        "Mark outstanding waitlist offers past their expiry as expired, email the students, renumber the waitlists "
        "and offer each seat to the next student. Safe to run as often as you like; nothing depends on it."
    )

    def handle(self, *args, **options):
        expired = expire_offers()
        self.stdout.write(f"{expired} waitlist offer(s) expired.")
