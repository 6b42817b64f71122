"""Why a registration, a waitlist request or a status change was refused.

Every refusal is a RegistrationError whose str() is a translated message for the person who asked; `field` names the
form field it is about (None: the form as a whole).
"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _


class RegistrationError(Exception):
    """Base of every refusal; str(error) is a translated message for the student; `field`: a form field or None."""

    default_message = _("This registration could not be made.")

    def __init__(self, message=None, *, field: str | None = None):
        self.message = message if message is not None else self.default_message
        self.field = field
        super().__init__(self.message)

    def __str__(self):
        return str(self.message)

    @classmethod
    def from_validation_error(cls, error: ValidationError) -> "RegistrationError":
        """The first message of a model or form ValidationError, tied to its field."""
        for name, messages in error.message_dict.items():
            return cls(messages[0], field=None if name == NON_FIELD_ERRORS else name)
        return cls()


class RegistrationClosed(RegistrationError):
    default_message = _("Registration is closed at the moment.")


class NotEligible(RegistrationError):
    default_message = _("This class is for crew members only.")


class InvalidChoice(RegistrationError):
    default_message = _("Choose one of the options offered.")


class SlotFull(RegistrationError):
    default_message = _("This class is full. Join the waitlist and we will email you if a seat frees up.")


class AlreadyRegistered(RegistrationError):
    default_message = _("You are already registered for this class; we emailed you the link to it.")


class RegistrationLimitReached(RegistrationError):
    default_message = _("You already hold as many registrations as one student may. Pay or cancel one first.")


class ClientHoldLimitReached(RegistrationError):
    default_message = _(
        "Many registrations made from this network (a shared Wi-Fi, for example) are still waiting for payment, so "
        "we cannot hold another seat from it right now. Please try again over mobile data, or ask the studio."
    )


class RegistrationCanceled(RegistrationError):
    default_message = _("This registration is canceled: record a refund instead, or re-open it first.")
