"""Public waitlist forms: join a full course, and answer an offer. They check the input; the services apply the rules."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from courses.models import Course, CourseSlot
from courses.templatetags.course_tags import slot_schedule
from registrations.models import Registration
from students.forms import StudentDetailsForm

PaymentMethod = Registration.PaymentMethod


class PreferredSlotField(forms.ModelChoiceField):
    def __init__(self, *, course: Course, slots: list[CourseSlot], **kwargs):
        self.course = course
        super().__init__(
            queryset=CourseSlot.objects.filter(course=course, pk__in=[slot.pk for slot in slots]).order_by(
                "day_of_week", "practice_date", "start_time", "pk"
            ),
            **kwargs,
        )

    def label_from_instance(self, obj):
        label = slot_schedule(obj, self.course)
        return f"{label} · {obj.location}" if obj.location else label


class WaitlistJoinForm(StudentDetailsForm):
    """Join the waitlist of `course` (from `selectors.course_for_page`): the same student fields as the registration
    form (same names, same checks) and an optional preferred time slot. Anything else in the POST is ignored."""

    preferred_slot = forms.ModelChoiceField(queryset=CourseSlot.objects.none())  # replaced in __init__

    def __init__(self, *args, course: Course, **kwargs):
        # Own ids: the page also shows the registration form, whose fields have the same names.
        kwargs.setdefault("auto_id", "waitlist_%s")
        super().__init__(*args, **kwargs)
        self.course = course
        slots = list(course.open_slots)
        full = [slot for slot in slots if slot.seats_left <= 0]
        every_slot_full = len(full) == len(slots)
        # While some slot has a seat, the student waits for one of the full ones (the others: register instead).
        self.fields["preferred_slot"] = PreferredSlotField(
            course=course,
            slots=slots if every_slot_full else full,
            label=_("Time slot") if every_slot_full else _("Which full time slot do you want to wait for?"),
            required=not every_slot_full,
            empty_label=_("Any time slot") if every_slot_full else None,
            error_messages={"invalid_choice": _("Choose a valid time slot.")},
        )
        if len(slots) == 1:
            # One slot: nothing to prefer.
            self.fields["preferred_slot"].widget = forms.HiddenInput()


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

    def __init__(self, *args, payment_methods=None, **kwargs):
        super().__init__(*args, **kwargs)
        if payment_methods:
            self.fields["payment_method"].choices = [
                (value, label) for value, label in PaymentMethod.choices if value in payment_methods
            ]
        if len(self.fields["payment_method"].choices) == 1:
            self.fields["payment_method"].initial = self.fields["payment_method"].choices[0][0]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "accept" and not cleaned.get("payment_method"):
            if "payment_method" not in self.errors:
                self.add_error("payment_method", ValidationError(_("Choose how you will pay.")))
        return cleaned
