import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from registrations.transitions import cancel_registration
from studio.models import EmailLog
from waitlist import services
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import full_slot, student_details

pytestmark = pytest.mark.django_db


def test_expire_offers_command_expires_run_out_offers_and_offers_the_seat_to_the_next(commit, capsys):
    slot = full_slot()
    for n in "ab":
        services.join_waitlist(course=slot.course, details=student_details(n))
    with commit():
        cancel_registration(registration=slot.seat_holders[0])
    first = WaitlistEntry.objects.get(student__email="waitera@example.org")
    WaitlistEntry.objects.filter(pk=first.pk).update(offer_expires_at=timezone.now() - datetime.timedelta(seconds=1))

    with commit():
        call_command("expire_offers")
        call_command("expire_offers")  # safe to run again (cron)

    assert capsys.readouterr().out.splitlines() == ["1 waitlist offer(s) expired.", "0 waitlist offer(s) expired."]
    first.refresh_from_db()
    second = WaitlistEntry.objects.get(student__email="waiterb@example.org")
    assert (first.status, first.waitlist_position) == ("expired", None)
    assert (second.status, second.waitlist_position) == ("offered", 1)
    assert EmailLog.objects.filter(kind="offer_expired", to_email="waitera@example.org").count() == 1
    assert EmailLog.objects.filter(kind="waitlist_offer", to_email="waiterb@example.org").count() == 1
