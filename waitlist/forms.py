"""Answering a waitlist offer (the form to join a waitlist is on the course page: registrations/forms.py)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from registrations.models import Registration

PaymentMethod = Registration.PaymentMethod


class OfferAnswerForm(forms.Form):
    """Accept (with how you will pay) or decline an offer."""

    action = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])
    payment_method = forms.ChoiceField(
        label=_("How will you pay?"),
        choices=PaymentMethod.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        required=False,
        error_messages={"invalid_choice": _("Choose Venmo or Zelle.")},
    )

    def __init__(self, *args, payment_methods=None, free: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if free:
            del self.fields["payment_method"]  # a free class: nothing to pay, no method asked
            return
        if payment_methods:
            self.fields["payment_method"].choices = [
                (value, label) for value, label in PaymentMethod.choices if value in payment_methods
            ]
        if len(self.fields["payment_method"].choices) == 1:
            self.fields["payment_method"].initial = self.fields["payment_method"].choices[0][0]

    def clean(self):
        cleaned = super().clean()
        if "payment_method" not in self.fields:
            cleaned["payment_method"] = ""
        elif cleaned.get("action") == "accept" and not cleaned.get("payment_method"):
            if "payment_method" not in self.errors:
                self.add_error("payment_method", ValidationError(_("Choose how you will pay.")))
        return cleaned
