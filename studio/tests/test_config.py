import pytest
from django.core.exceptions import ValidationError

from studio.config import DEFINITIONS, StudioSettings, parse_setting, studio_settings
from studio.models import SystemSetting

pytestmark = pytest.mark.django_db

DEFAULTS = {
    "studio_name": "Dance Studio",
    "registration_open": True,
    "email_notifications_enabled": True,
    "venmo_username": "",
    "zelle_recipient_name": "",
    "zelle_phone": "",
    "zelle_email": "",
    "payment_hold_hours": 48,
    "waitlist_offer_hours": 48,
    "waitlist_auto_offer": True,
    "max_registrations_per_student": 0,
    "max_unpaid_holds_per_client": 10,
    "contact_email": "",
    "accent_color": "#4b2a84",
    "social_handle": "",
    "late_join_pricing": "full",
    "class_reminder_hours": 24,
    "makeup_cutoff_hours": 12,
    "makeups_per_registration": 2,
    "makeup_window_days": 30,
    "credit_expiry_days": 0,
}


def store(key: str, value: str) -> None:
    SystemSetting.objects.create(setting_key=key, setting_value=value)


def test_registry_documents_every_setting_of_the_spec():
    assert set(DEFINITIONS) == set(DEFAULTS)


@pytest.mark.parametrize("key", DEFAULTS)
def test_setting_without_a_row_is_the_documented_default(key):
    assert getattr(studio_settings(), key) == DEFAULTS[key]
    assert DEFINITIONS[key].default == DEFAULTS[key]


def test_settings_without_rows_are_every_default():
    assert studio_settings() == StudioSettings(**DEFAULTS)


def test_an_unknown_setting_name_fails_loudly():
    with pytest.raises(AttributeError):
        studio_settings().payment_hold_hour  # noqa: B018 (a typo must not read as a default)


def test_settings_cannot_be_changed_in_memory():
    with pytest.raises(AttributeError):
        studio_settings().payment_hold_hours = 99


def test_a_row_of_a_setting_that_no_longer_exists_is_ignored():
    store("retired_setting", "1")

    assert studio_settings() == StudioSettings(**DEFAULTS)


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        ("studio_name", "  Salsa Sur  ", "Salsa Sur"),
        ("registration_open", "off", False),
        ("email_notifications_enabled", "No", False),
        ("waitlist_auto_offer", "0", False),
        ("payment_hold_hours", " 24 ", 24),
        ("payment_hold_hours", "0", 0),
        ("waitlist_offer_hours", "720", 720),
        ("max_registrations_per_student", "3", 3),
        ("venmo_username", "@Salsa-Sur_Studio", "Salsa-Sur_Studio"),
        ("zelle_phone", "+1 (415) 555-0100", "+1 (415) 555-0100"),
        ("zelle_email", " Pay@Salsa.Example ", "pay@salsa.example"),
        ("contact_email", "", ""),
        ("late_join_pricing", " Prorated ", "prorated"),
        ("class_reminder_hours", "0", 0),
        ("class_reminder_hours", "48", 48),
        ("makeup_cutoff_hours", "0", 0),
        ("makeups_per_registration", "0", 0),
        ("makeup_window_days", "14", 14),
        ("credit_expiry_days", " 365 ", 365),
    ],
)
def test_stored_setting_is_read_as_its_type(key, raw, value):
    store(key, raw)

    assert getattr(studio_settings(), key) == value


@pytest.mark.parametrize(
    ("key", "raw"),
    [("payment_hold_hours", "two days"), ("registration_open", "maybe"), ("contact_email", "not an email")],
)
def test_invalid_stored_setting_falls_back_to_the_default(key, raw):
    store(key, raw)

    assert getattr(studio_settings(), key) == DEFAULTS[key]


def test_settings_are_read_in_one_query(django_assert_num_queries):
    store("studio_name", "Salsa Sur")
    store("payment_hold_hours", "12")

    with django_assert_num_queries(1):
        values = studio_settings()

    assert (values.studio_name, values.payment_hold_hours) == ("Salsa Sur", 12)


def test_a_request_reads_the_settings_once_and_sees_a_setting_saved_during_it(django_assert_num_queries):
    from studio.config import end_request_memo, start_request_memo

    # What request_started and request_finished call (studio/apps.py); sending the real signals would also close
    # the test's database connection. The registration POST's query budget covers the wiring.
    store("payment_hold_hours", "12")
    start_request_memo()
    try:
        with django_assert_num_queries(1):
            assert studio_settings().payment_hold_hours == 12
            assert studio_settings().payment_hold_hours == 12
        SystemSetting.objects.filter(setting_key="payment_hold_hours").get().delete()
        assert studio_settings().payment_hold_hours == DEFAULTS["payment_hold_hours"]
    finally:
        end_request_memo()


def test_outside_a_request_every_read_goes_to_the_database(django_assert_num_queries):
    store("payment_hold_hours", "12")
    with django_assert_num_queries(2):
        studio_settings()
        studio_settings()
    SystemSetting.objects.filter(setting_key="payment_hold_hours").update(setting_value="6")  # no signal

    assert studio_settings().payment_hold_hours == 6


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("studio_name", "   "),
        ("studio_name", "x" * 201),
        ("zelle_recipient_name", "x" * 201),
        ("registration_open", "maybe"),
        ("email_notifications_enabled", ""),
        ("waitlist_auto_offer", "2"),
        ("payment_hold_hours", "-1"),
        ("payment_hold_hours", "721"),
        ("payment_hold_hours", "1.5"),
        ("payment_hold_hours", ""),
        ("waitlist_offer_hours", "0"),
        ("max_registrations_per_student", "1001"),
        ("max_registrations_per_student", "ten"),
        ("contact_email", "studio@"),
        ("zelle_email", "pay at studio.example"),
        ("venmo_username", "abcd"),
        ("venmo_username", "x" * 31),
        ("venmo_username", "salsa sur"),
        ("venmo_username", "https://venmo.com/salsa"),
        ("zelle_phone", "call me"),
        ("zelle_phone", "12345"),
        ("late_join_pricing", "half"),
        ("late_join_pricing", ""),
        ("class_reminder_hours", "-1"),
        ("class_reminder_hours", "169"),
        ("makeup_cutoff_hours", "a day"),
        ("makeups_per_registration", "-2"),
        ("makeup_window_days", "0"),
        ("makeup_window_days", "366"),
        ("credit_expiry_days", "-1"),
        ("credit_expiry_days", "3651"),
        ("credit_expiry_days", "a year"),
        ("unknown_setting", "1"),
    ],
)
def test_parse_setting_rejects_a_bad_value(key, raw):
    with pytest.raises(ValidationError):
        parse_setting(key, raw)
