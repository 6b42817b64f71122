import re

from django import forms
from django.utils.translation import gettext_lazy as _

from attendance.models import AttendanceRecord

# One radio group per student, named after the student: `mark-<student id>`; with it, the hidden `was-<student id>`
# holds the mark the page showed ("" for none).
MARK_FIELD = re.compile(r"^mark-([1-9][0-9]{0,17})$")
WAS_FIELD = re.compile(r"^was-([1-9][0-9]{0,17})$")


def mark_field_name(student_id: int) -> str:
    return f"mark-{student_id}"


class RosterMarksForm(forms.Form):
    """The whole roster in one POST (works without JavaScript): every `mark-<id>` radio group that has a value, and
    every `was-<id>` (the mark the page showed: the service keeps a mark changed meanwhile rather than overwrite it).

    Which students may be marked is not decided here: the service refuses anyone not on the roster.
    """

    all_present = forms.BooleanField(required=False)

    def clean(self):
        cleaned_data = super().clean()
        marks: dict[int, str] = {}
        was: dict[int, str] = {}
        for key in self.data:
            if match := MARK_FIELD.match(key):
                status = self.data.get(key)
                if status not in AttendanceRecord.Status.values:
                    raise forms.ValidationError(
                        _("Choose present, late or absent for each student."), code="invalid_mark"
                    )
                marks[int(match[1])] = status
            elif match := WAS_FIELD.match(key):
                shown = self.data.get(key)
                if shown not in ["", *AttendanceRecord.Status.values]:
                    raise forms.ValidationError(_("This page could not be read: reload it."), code="invalid_was")
                was[int(match[1])] = shown
        cleaned_data["marks"] = marks
        cleaned_data["was"] = was
        return cleaned_data


class StudentMarkForm(forms.Form):
    """One tap: the `mark-<id>` radio group of a single student (the per-tap save with JavaScript), with the tap's
    id (`tap`: sent twice, it changes nothing) and the mark the tablet showed before it (`was`: "" for none)."""

    tap = forms.UUIDField(required=False, error_messages={"invalid": _("This tap could not be read: tap again.")})
    was = forms.ChoiceField(
        required=False,
        choices=[("", "")] + AttendanceRecord.Status.choices,
        error_messages={"invalid_choice": _("This tap could not be read: tap again.")},
    )

    def __init__(self, *args, student_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.field_name = mark_field_name(student_id)
        self.fields[self.field_name] = forms.ChoiceField(
            label=_("Attendance"),
            choices=AttendanceRecord.Status.choices,
            error_messages={
                "required": _("Choose present, late or absent."),
                "invalid_choice": _("Choose present, late or absent."),
            },
        )

    def clean_was(self):
        # Not sent (a hand-made request, the no-JavaScript form): no check. Sent empty: the tablet showed no mark.
        return self.cleaned_data["was"] if "was" in self.data else None

    @property
    def status(self) -> str:
        return self.cleaned_data[self.field_name]
