"""`manage.py expire_holds`, run from cron every few minutes (README "Deploying")."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from registrations.models import Registration
from registrations.tests.factories import RegistrationFactory
from studio.models import EmailLog, SystemSetting

pytestmark = pytest.mark.django_db


def run() -> str:
    out = StringIO()
    call_command("expire_holds", stdout=out)
    return out.getvalue()


def test_expire_holds_reminds_halfway_then_expires_and_is_safe_to_rerun():
    start = timezone.now()
    registration = RegistrationFactory(payment_due_at=start + datetime.timedelta(hours=48))

    with time_machine.travel(start + datetime.timedelta(hours=30), tick=False):
        halfway = [run(), run()]
    with time_machine.travel(start + datetime.timedelta(hours=48, minutes=5), tick=False):
        end = [run(), run()]

    assert halfway == ["Reminded 1, expired 0.\n", "Reminded 0, expired 0.\n"]
    assert end == ["Reminded 0, expired 1.\n", "Reminded 0, expired 0.\n"]
    registration.refresh_from_db()
    assert registration.payment_status == Registration.PaymentStatus.EXPIRED
    assert list(EmailLog.objects.order_by("pk").values_list("kind", flat=True)) == ["hold_expiring", "hold_expired"]


def test_expire_holds_follows_the_hold_setting_for_the_halfway_point():
    SystemSetting.objects.create(setting_key="payment_hold_hours", setting_value="10")
    start = timezone.now()
    RegistrationFactory(payment_due_at=start + datetime.timedelta(hours=10))

    with time_machine.travel(start + datetime.timedelta(hours=4), tick=False):
        before = run()
    with time_machine.travel(start + datetime.timedelta(hours=5, minutes=1), tick=False):
        after = run()

    assert (before, after) == ("Reminded 0, expired 0.\n", "Reminded 1, expired 0.\n")


def test_expire_holds_sends_nothing_when_notifications_are_off_but_still_expires():
    SystemSetting.objects.create(setting_key="email_notifications_enabled", setting_value="off")
    registration = RegistrationFactory()
    Registration.objects.filter(pk=registration.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3),
        payment_due_at=timezone.now() - datetime.timedelta(hours=1),
    )

    run()

    registration.refresh_from_db()
    assert registration.payment_status == Registration.PaymentStatus.EXPIRED
    assert set(EmailLog.objects.values_list("status", flat=True)) == {EmailLog.Status.SKIPPED}
