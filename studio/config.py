"""The studio's settings (README "Settings"), typed: one frozen `StudioSettings` read once per request.

Rows of `SystemSetting` override the defaults of `StudioSettings`; a missing row (or one that no longer parses) means
the default, the same everywhere. Read them as `studio = studio_settings()` then `studio.payment_hold_hours`: an
unknown name fails loudly. Admin edits are checked by `parse_setting(key, raw)`.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

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
            raise ValidationError(_("Enter a number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum})
        return value

    return parse


def _choice_parser(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValidationError(_("Enter one of: %(choices)s.") % {"choices": ", ".join(choices)})
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
        raise ValidationError(_("A Venmo username has 5–30 letters, digits, hyphens or underscores (without the @)."))
    return value


def _parse_phone(raw: str) -> str:
    value = raw.strip()
    if value and not _PHONE.match(value):
        raise ValidationError(_("Enter a phone number such as +1 415 555 0100."))
    return value


def relative_luminance(hex_colour: str) -> float:
    """WCAG relative luminance of `hex_colour` (#rrggbb): 0 (black) to 1 (white)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(hex_colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours: 1 (the same) to 21 (black and white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def contrast_with_white(hex_colour: str) -> float:
    """WCAG contrast ratio of white text on `hex_colour` (#rrggbb): 1 (white) to 21 (black)."""
    return contrast_ratio("#ffffff", hex_colour)


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
class StudioSettings:
    """Every studio setting with its documented default; `DEFINITIONS` says how each is typed in the admin."""

    studio_name: str = "Dance Studio"
    registration_open: bool = True
    email_notifications_enabled: bool = True
    venmo_username: str = ""
    zelle_recipient_name: str = ""
    zelle_phone: str = ""
    zelle_email: str = ""
    payment_hold_hours: int = 48
    waitlist_offer_hours: int = 48
    waitlist_auto_offer: bool = True
    max_registrations_per_student: int = 0
    max_unpaid_holds_per_client: int = 10
    contact_email: str = ""
    accent_color: str = "#4b2a84"
    social_handle: str = ""
    late_join_pricing: str = "full"
    class_reminder_hours: int = 24
    makeup_cutoff_hours: int = 12
    makeups_per_registration: int = 2
    makeup_window_days: int = 30
    credit_expiry_days: int = 0


@dataclass(frozen=True)
class SettingDefinition:
    key: str
    parse: Callable[[str], Any]
    description: str

    @property
    def default(self) -> Any:
        return _DEFAULTS[self.key]


_DEFAULTS: dict[str, Any] = {field.name: field.default for field in fields(StudioSettings)}

DEFINITIONS: dict[str, SettingDefinition] = {
    d.key: d
    for d in [
        SettingDefinition("studio_name", _parse_required_text, "Name shown on every page and email."),
        SettingDefinition("registration_open", _parse_bool, "Off: nothing can be registered or joined."),
        SettingDefinition("email_notifications_enabled", _parse_bool, "Off: no emails are sent."),
        SettingDefinition("venmo_username", _parse_venmo_username, "Venmo username that receives payments."),
        SettingDefinition("zelle_recipient_name", _parse_text, "Name shown as the Zelle recipient."),
        SettingDefinition("zelle_phone", _parse_phone, "Phone number registered with Zelle."),
        SettingDefinition("zelle_email", _parse_email, "Email address registered with Zelle."),
        SettingDefinition(
            "payment_hold_hours",
            _int_parser(minimum=0, maximum=24 * 30),
            "Hours a pending registration holds its seat (0 = pending holds nothing).",
        ),
        SettingDefinition(
            "waitlist_offer_hours", _int_parser(minimum=1, maximum=24 * 30), "Hours a waitlist offer stays open."
        ),
        SettingDefinition("waitlist_auto_offer", _parse_bool, "Send waitlist offers automatically when a seat frees."),
        SettingDefinition(
            "max_registrations_per_student",
            _int_parser(minimum=0, maximum=1000),
            "Active registrations one student may hold (0 = no limit).",
        ),
        SettingDefinition(
            "max_unpaid_holds_per_client",
            _int_parser(minimum=0, maximum=1000),
            "Unpaid seat holds one client address (a phone, or a shared Wi-Fi) may have at once (0 = no limit).",
        ),
        SettingDefinition("contact_email", _parse_email, "Address students can write to."),
        SettingDefinition(
            "accent_color",
            _parse_hex_colour,
            "Studio colour (#RRGGBB) for the header and buttons; white text must be readable on it.",
        ),
        SettingDefinition("social_handle", _parse_instagram_handle, "Instagram handle, without the @."),
        SettingDefinition(
            "late_join_pricing",
            _choice_parser("full", "prorated"),
            "Full package of a series that has started: full (the whole price) or prorated (by the classes left).",
        ),
        SettingDefinition(
            "class_reminder_hours",
            _int_parser(minimum=0, maximum=24 * 7),
            "Hours before each class that its reminder email goes out (0 = no reminders, no calendar alarm).",
        ),
        SettingDefinition(
            "makeup_cutoff_hours",
            _int_parser(minimum=0, maximum=24 * 14),
            "Hours before a class until which a student who cannot come gets a make-up (and may undo it, or cancel a "
            "make-up class).",
        ),
        SettingDefinition(
            "makeups_per_registration",
            _int_parser(minimum=0, maximum=100),
            "Make-up classes one registration may get (0 = no make-ups).",
        ),
        SettingDefinition(
            "makeup_window_days",
            _int_parser(minimum=1, maximum=365),
            "Days before or after a missed class within which its make-up class must be.",
        ),
        SettingDefinition(
            "credit_expiry_days",
            _int_parser(minimum=0, maximum=3650),
            "Days account credit stays usable after it is granted (0 = it never expires).",
        ),
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


def _read() -> StudioSettings:
    from studio.models import SystemSetting

    values = {}
    for key, raw in SystemSetting.objects.values_list("setting_key", "setting_value"):
        definition = DEFINITIONS.get(key)
        if definition is None:
            continue  # a row of a setting that no longer exists
        try:
            values[key] = definition.parse(raw)
        except ValidationError:
            pass  # a row saved before its rule changed: the default, as if it were missing
    return StudioSettings(**values)


def studio_settings() -> StudioSettings:
    """The studio's settings in one query (none when this request has read them already)."""
    memo = getattr(_request_memo, "values", None)
    if memo is not None:
        return memo
    values = _read()
    if getattr(_request_memo, "active", False):
        _request_memo.values = values
    return values
