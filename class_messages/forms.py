"""The compose form of a message to a class. It checks the input; services.send_class_message applies the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from class_messages.models import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH, Audience


def _students(count: int) -> str:
    return ngettext("%(count)d student", "%(count)d students", count) % {"count": count}


class ComposeForm(forms.Form):
    audience = forms.ChoiceField(label=_("Send to"), widget=forms.RadioSelect, initial=Audience.PAID)
    include_waitlist = forms.BooleanField(label=_("Also the waitlist"), required=False)
    subject = forms.CharField(
        label=_("Subject"),
        max_length=SUBJECT_MAX_LENGTH,
        strip=False,  # services.clean_message trims it, with the same words everywhere
        required=False,
        widget=forms.TextInput(attrs={"class": "vTextField", "maxlength": SUBJECT_MAX_LENGTH}),
    )
    body = forms.CharField(
        label=_("Message"),
        required=False,
        strip=False,
        help_text=_("Plain text; each student's copy starts with “Hi <first name>,” and ends with the studio's name."),
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "maxlength": BODY_MAX_LENGTH, "class": "vLargeTextField"}),
    )
    # The number of students the owner was shown: sending to another number shows the new count first.
    expected_count = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, counts: dict, **kwargs):
        super().__init__(*args, **kwargs)
        # The counts of the roster as it stands, before anyone who stopped class messages.
        self.fields["audience"].choices = [
            (Audience.PAID, f"{Audience.PAID.label} ({_students(counts[Audience.PAID])})"),
            (
                Audience.PAID_AND_PENDING,
                f"{Audience.PAID_AND_PENDING.label} ({_students(counts[Audience.PAID_AND_PENDING])})",
            ),
        ]
        self.fields["include_waitlist"].label = f"{_('Also the waitlist')} ({_students(counts['waitlist'])})"
