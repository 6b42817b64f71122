"""Forms of the student portal: ask for a sign-in link, and edit one's own profile (never the email)."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from students.models import Student, normalize_email, reject_control_characters, validate_deliverable_email
from students.services import strip_typed_email

_INSTAGRAM = re.compile(r"^[A-Za-z0-9._]{1,30}$")


def clean_typed_email(value: str) -> str:
    """An email field's address, normalized (students.models.normalize_email) and refused with a message next to the
    field when the mailer cannot send to it."""
    email = normalize_email(value)
    validate_deliverable_email(email)
    return email


class SignInLinkForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email"),
        max_length=254,
        help_text=_("The address you registered with."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email", "autocapitalize": "none"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            # Strip invisible characters pasted around the address before EmailField validates it
            # (docs/bad-inputs.md #17).
            data = self.data.copy()
            data["email"] = strip_typed_email(data.get("email", ""))
            self.data = data

    def clean_email(self):
        return clean_typed_email(self.cleaned_data["email"])


class ProfileFieldsForm(forms.Form):
    """A student's own details, checked the same way wherever they are typed: profile, registration, waitlist."""

    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        validators=[reject_control_characters],
        widget=forms.TextInput(attrs={"autocomplete": "given-name", "autocapitalize": "words"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        validators=[reject_control_characters],
        widget=forms.TextInput(attrs={"autocomplete": "family-name", "autocapitalize": "words"}),
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=30,
        required=False,
        validators=[
            reject_control_characters,
            RegexValidator(r"^\+?[0-9 ().-]{7,25}$", _("Enter a phone number such as +1 415 555 0100.")),
        ],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
    )
    instagram_handle = forms.CharField(
        label=_("Instagram (optional)"),
        max_length=31,
        required=False,
        help_text=_("Your handle, e.g. @dancer.ana"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )

    def clean_instagram_handle(self):
        handle = self.cleaned_data["instagram_handle"].strip().removeprefix("@")
        if handle and not _INSTAGRAM.match(handle):
            raise ValidationError(_("An Instagram handle has letters, digits, dots and underscores, like @dancer.ana."))
        return handle


class StudentDetailsForm(ProfileFieldsForm):
    """The details a public form (registration, waitlist) asks for: the profile fields, the email that identifies
    the student, and a honeypot field that people never see and some bots fill in."""

    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("We send your payment details and updates here."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email", "autocapitalize": "none"}),
    )
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_email(self):
        return clean_typed_email(self.cleaned_data["email"])

    def clean_website(self):
        if self.cleaned_data["website"]:
            raise ValidationError(_("Leave this field empty."))
        return ""


class ProfileForm(ProfileFieldsForm):
    """The signed-in student's profile; `services.update_profile` saves it. The email is shown, never edited."""

    dance_experience = forms.ChoiceField(
        label=_("Dance experience"),
        required=False,
        choices=[("", _("Prefer not to say")), *Student.DanceExperience.choices],
        error_messages={"invalid_choice": _("Choose one of the levels in the list.")},
    )

    @classmethod
    def for_student(cls, student: Student, data=None) -> "ProfileForm":
        initial = {name: getattr(student, name) for name in cls.base_fields}
        return cls(data, initial=initial)
