"""Run nightly from cron: `manage.py expire_credit`.

Writes the expiry of what is left of each account credit grant past its expiry (`credit_expiry_days`), so that the
student's credit history shows it. Balances never wait for it: a grant past its expiry counts for nothing at once.
Safe to run often and in parallel: each grant is locked, and a grant expires once (a unique key).
"""

from django.core.management.base import BaseCommand

from registrations.ledger import expire_credit


class Command(BaseCommand):
    help = "Expire account credit past its expiry (credit_expiry_days)."

    def handle(self, *args, **options):
        self.stdout.write(f"Expired {expire_credit()} credit grants.")
