"""The one typed registry of the studio's settings (SPEC §3 "Settings").

Rows of `SystemSetting` override the defaults below; a missing row means the default, the same everywhere.
Read a value only through `get_setting(key)`; admin edits are validated by `parse_setting(key, raw)`.
"""

import re
from dataclasses import dataclass
from typing import Any, Callable

from asgiref.local import Local

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_VENMO_USERNAME = re.compile(r"^[A-Za-z0-9_-]{5,30}$")
_PHONE = re.compile(r"^\+?[0-9 ().-]{7,20}$")
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_INSTAGRAM_HANDLE = re.compile(r"^(?!.*\.\.)(?!\.)[A-Za-z0-9._]{1,30}(?<!\.)$")


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


def contrast_with_white(hex_colour: str) -> float:
    """WCAG contrast ratio of white text on `hex_colour` (#rrggbb): 1 (white) to 21 (black)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(hex_colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


def _parse_hex_colour(raw: str) -> str:
    value = raw.strip().lower()
    if not _HEX_COLOUR.match(value):
        raise ValidationError(_("Enter a colour as # and six hex digits, such as #4b2a84."))
    # The header and buttons put white text on this colour: below 4.5:1 it fails WCAG AA.
    if contrast_with_white(value) < 4.5:
        raise ValidationError(_("White text is hard to read on this colour: choose a darker one."))
    return value


def _parse_instagram_handle(raw: str) -> str:
    value = raw.strip().removeprefix("@")
    if value and not _INSTAGRAM_HANDLE.match(value):
        raise ValidationError(
            _("An Instagram handle has up to 30 letters, digits, dots or underscores (without the @).")
        )
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
        SettingDefinition(
            "accent_color",
            "#4b2a84",
            _parse_hex_colour,
            "Studio colour (#RRGGBB) for the header and buttons; white text must be readable on it.",
        ),
        SettingDefinition("social_handle", "", _parse_instagram_handle, "Instagram handle, without the @."),
    ]
}


def parse_setting(key: str, raw: str) -> Any:
    """Return the typed value of `raw` for `key`; raises ValidationError for an unknown key or a bad value."""
    try:
        definition = DEFINITIONS[key]
    except KeyError:
        raise ValidationError(_("Unknown setting “%(key)s”.") % {"key": key}) from None
    return definition.parse(raw)


# One read per request: the view, its services and its emails see the same values, read once. Outside a request (tasks
# run by the worker, commands) every call reads the table. A settings row saved during the request clears the memo.
_request_memo = Local()


def start_request_memo(**kwargs) -> None:
    _request_memo.active, _request_memo.values = True, None


def end_request_memo(**kwargs) -> None:
    _request_memo.active, _request_memo.values = False, None


def clear_request_memo(**kwargs) -> None:
    _request_memo.values = None


def get_setting(key: str) -> Any:
    """Return the typed value of a studio setting: the stored row if valid, else the documented default."""
    from dance_portal.models import SystemSetting

    if getattr(_request_memo, "active", False):
        return get_settings()[key]
    definition = DEFINITIONS[key]
    raw = SystemSetting.objects.filter(setting_key=key).values_list("setting_value", flat=True).first()
    if raw is None:
        return definition.default
    try:
        return definition.parse(raw)
    except ValidationError:
        return definition.default


def get_settings() -> dict[str, Any]:
    """Return every studio setting as a dict in one query (none when this request has read them already)."""
    from dance_portal.models import SystemSetting

    memo = getattr(_request_memo, "values", None)
    if memo is not None:
        return dict(memo)
    stored = dict(SystemSetting.objects.values_list("setting_key", "setting_value"))
    values = {}
    for key, definition in DEFINITIONS.items():
        try:
            values[key] = definition.parse(stored[key]) if key in stored else definition.default
        except ValidationError:
            values[key] = definition.default
    if getattr(_request_memo, "active", False):
        _request_memo.values = values
        return dict(values)
    return values
