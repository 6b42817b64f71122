"""The one typed registry of the studio's settings (SPEC §3 "Settings").

Rows of `SystemSetting` override the defaults below; a missing row means the default, the same everywhere.
Read a value only through `get_setting(key)`; admin edits are validated by `parse_setting(key, raw)`.
"""

import re
from dataclasses import dataclass
from typing import Any, Callable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_VENMO_USERNAME = re.compile(r"^[A-Za-z0-9_-]{5,30}$")
_PHONE = re.compile(r"^\+?[0-9 ().-]{7,20}$")


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValidationError(_("Enter yes or no (true/false, 1/0, on/off)."))


def _int_parser(*, minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValidationError(_("Enter a whole number.")) from None
        if not minimum <= value <= maximum:
            raise ValidationError(
                _("Enter a number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum}
            )
        return value

    return parse


def _parse_text(raw: str) -> str:
    value = raw.strip()
    if len(value) > 200:
        raise ValidationError(_("Keep this under 200 characters."))
    return value


def _parse_required_text(raw: str) -> str:
    value = _parse_text(raw)
    if not value:
        raise ValidationError(_("This setting cannot be empty."))
    return value


def _parse_email(raw: str) -> str:
    value = raw.strip().lower()
    if value:
        validate_email(value)
    return value


def _parse_venmo_username(raw: str) -> str:
    value = raw.strip().removeprefix("@")
    if value and not _VENMO_USERNAME.match(value):
        raise ValidationError(
            _("A Venmo username has 5–30 letters, digits, hyphens or underscores (without the @).")
        )
    return value


def _parse_phone(raw: str) -> str:
    value = raw.strip()
    if value and not _PHONE.match(value):
        raise ValidationError(_("Enter a phone number such as +1 415 555 0100."))
    return value


@dataclass(frozen=True)
class SettingDefinition:
    key: str
    default: Any
    parse: Callable[[str], Any]
    description: str


DEFINITIONS: dict[str, SettingDefinition] = {
    d.key: d
    for d in [
        SettingDefinition("studio_name", "Dance Studio", _parse_required_text, "Name shown on every page and email."),
        SettingDefinition("registration_open", True, _parse_bool, "Off: nothing can be registered or joined."),
        SettingDefinition("email_notifications_enabled", True, _parse_bool, "Off: no emails are sent."),
        SettingDefinition("venmo_username", "", _parse_venmo_username, "Venmo username that receives payments."),
        SettingDefinition("zelle_recipient_name", "", _parse_text, "Name shown as the Zelle recipient."),
        SettingDefinition("zelle_phone", "", _parse_phone, "Phone number registered with Zelle."),
        SettingDefinition("zelle_email", "", _parse_email, "Email address registered with Zelle."),
        SettingDefinition(
            "payment_hold_hours",
            48,
            _int_parser(minimum=0, maximum=24 * 30),
            "Hours a pending registration holds its seat (0 = pending holds nothing).",
        ),
        SettingDefinition(
            "waitlist_offer_hours",
            48,
            _int_parser(minimum=1, maximum=24 * 30),
            "Hours a waitlist offer stays open.",
        ),
        SettingDefinition(
            "waitlist_auto_offer", True, _parse_bool, "Send waitlist offers automatically when a seat frees."
        ),
        SettingDefinition(
            "max_registrations_per_student",
            0,
            _int_parser(minimum=0, maximum=1000),
            "Active registrations one student may hold (0 = no limit).",
        ),
        SettingDefinition("contact_email", "", _parse_email, "Address students can write to."),
    ]
}


def parse_setting(key: str, raw: str) -> Any:
    """Return the typed value of `raw` for `key`; raises ValidationError for an unknown key or a bad value."""
    try:
        definition = DEFINITIONS[key]
    except KeyError:
        raise ValidationError(_("Unknown setting “%(key)s”.") % {"key": key}) from None
    return definition.parse(raw)


def get_setting(key: str) -> Any:
    """Return the typed value of a studio setting: the stored row if valid, else the documented default."""
    from dance_portal.models import SystemSetting

    definition = DEFINITIONS[key]
    raw = SystemSetting.objects.filter(setting_key=key).values_list("setting_value", flat=True).first()
    if raw is None:
        return definition.default
    try:
        return definition.parse(raw)
    except ValidationError:
        return definition.default


def get_settings() -> dict[str, Any]:
    """Return every studio setting as a dict in one query."""
    from dance_portal.models import SystemSetting

    stored = dict(SystemSetting.objects.values_list("setting_key", "setting_value"))
    values = {}
    for key, definition in DEFINITIONS.items():
        try:
            values[key] = definition.parse(stored[key]) if key in stored else definition.default
        except ValidationError:
            values[key] = definition.default
    return values
