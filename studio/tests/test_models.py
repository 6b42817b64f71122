import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from studio.models import EmailLog, SystemSetting

pytestmark = pytest.mark.django_db


def email_log(**kwargs) -> EmailLog:
    return EmailLog.objects.create(
        kind="payment_confirmed", to_email="ana@example.org", subject="Paid", body_text="Thanks", **kwargs
    )


def test_email_log_second_row_with_the_same_dedupe_key_is_rejected():
    email_log(dedupe_key="payment_confirmed:1")

    with pytest.raises(IntegrityError), transaction.atomic():
        email_log(dedupe_key="payment_confirmed:1")


def test_email_log_rows_without_dedupe_key_are_not_deduplicated():
    email_log(dedupe_key=None)
    email_log(dedupe_key=None)

    assert EmailLog.objects.count() == 2


def test_email_log_status_rejects_unknown_value():
    row = email_log()

    with pytest.raises(IntegrityError, match="studio_emaillog_status_valid"), transaction.atomic():
        EmailLog.objects.filter(pk=row.pk).update(status="bounced")


def test_system_setting_clean_reports_a_bad_value_on_the_value_field():
    setting = SystemSetting(setting_key="payment_hold_hours", setting_value="forever")

    with pytest.raises(ValidationError) as error:
        setting.clean()

    assert list(error.value.message_dict) == ["setting_value"]


def test_system_setting_clean_accepts_a_good_value():
    SystemSetting(setting_key="payment_hold_hours", setting_value="24").clean()


def test_email_log_row_marked_sent_without_when_is_rejected():
    with pytest.raises(IntegrityError, match="sent_has_sent_at"), transaction.atomic():
        email_log(status=EmailLog.Status.SENT)


def test_email_log_about_needs_both_its_type_and_its_id():
    with pytest.raises(IntegrityError, match="about_complete"), transaction.atomic():
        email_log(about_id=1)
