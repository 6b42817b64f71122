import pytest
from django.core.exceptions import ValidationError

from studio.config import studio_settings
from studio.models import SystemSetting
from studio.services import delete_setting, save_setting

pytestmark = pytest.mark.django_db


def test_save_setting_creates_a_row_with_a_valid_value():
    setting = save_setting(key="payment_hold_hours", value="24", description="A day to pay")

    assert list(SystemSetting.objects.values_list("setting_key", "setting_value", "description")) == [
        ("payment_hold_hours", "24", "A day to pay")
    ]
    assert setting.updated_at is not None
    assert studio_settings().payment_hold_hours == 24


def test_save_setting_updates_the_row_of_an_existing_key():
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Salsa Loft", description="old")

    save_setting(key="studio_name", value="Salsa Corner")

    assert list(SystemSetting.objects.values_list("setting_key", "setting_value", "description")) == [
        ("studio_name", "Salsa Corner", "")
    ]


def test_save_setting_refuses_a_bad_value_and_writes_nothing():
    with pytest.raises(ValidationError) as error:
        save_setting(key="payment_hold_hours", value="forever")

    assert list(error.value.message_dict) == ["setting_value"]
    assert not SystemSetting.objects.exists()


def test_save_setting_refuses_a_bad_value_and_keeps_the_stored_one():
    SystemSetting.objects.create(setting_key="venmo_username", setting_value="salsa-loft")

    with pytest.raises(ValidationError):
        save_setting(key="venmo_username", value="no spaces allowed")

    assert SystemSetting.objects.get().setting_value == "salsa-loft"


def test_save_setting_refuses_an_unknown_key():
    with pytest.raises(ValidationError):
        save_setting(key="free_lessons", value="yes")

    assert not SystemSetting.objects.exists()


def test_delete_setting_removes_the_row_so_the_default_applies_again():
    save_setting(key="email_notifications_enabled", value="no")

    assert delete_setting(key="email_notifications_enabled") is True
    assert not SystemSetting.objects.exists()
    assert studio_settings().email_notifications_enabled is True
    assert delete_setting(key="email_notifications_enabled") is False
