"""Forms of the admin pages that compose several apps (dance_portal/admin.py)."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Course

DEFAULT_PERIOD_DAYS = 90
DEFAULT_THRESHOLD = 80


class CrewEligibilityForm(forms.Form):
    """The crew eligibility report's question: which courses, which period, from what attendance."""

    courses = forms.ModelMultipleChoiceField(
        label=_("Courses"),
        queryset=Course.objects.order_by("-start_date", "name", "pk"),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose several."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    threshold = forms.IntegerField(
        label=_("Attendance of at least (%)"),
        min_value=0,
        max_value=100,
        help_text=_("Present + late ÷ the classes held that the student was registered for, from 0 to 100."),
        error_messages={
            "min_value": _("Enter a percentage from 0 to 100."),
            "max_value": _("Enter a percentage from 0 to 100."),
            "invalid": _("Enter a percentage from 0 to 100."),
        },
        widget=forms.NumberInput(attrs={"min": 0, "max": 100, "step": 1, "class": "vIntegerField"}),
    )

    @classmethod
    def initial_values(cls) -> dict:
        today = timezone.localdate()
        return {
            "start": today - datetime.timedelta(days=DEFAULT_PERIOD_DAYS),
            "end": today,
            "threshold": DEFAULT_THRESHOLD,
        }

    def clean(self):
        cleaned_data = super().clean()
        start, end = cleaned_data.get("start"), cleaned_data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The period must end on or after its first day."))
        return cleaned_data
