"""The course page's forms (README "Addresses" for their field names): register for a class, or join the waitlist of a
full one. They check the input; the services apply the rules."""

import datetime
import json
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from courses import formatting
from courses.formatting import money, price_summary, schedule_parts, seats_text, slot_schedule, time_range
from courses.models import Course, CoursePricing, CourseSlot
from registrations.models import Registration
from students.forms import StudentDetailsForm

PricingType = CoursePricing.PricingType
PaymentMethod = Registration.PaymentMethod


def _date_label(value: datetime.date, slot: CourseSlot, *, full: bool) -> str:
    label = f"{formatting.day(value)}, {time_range(slot.start_time, slot.end_time)}"
    return _("%(day)s (full)") % {"day": label} if full else label


# Labels formatted only when the form is shown: most of the form's cost, and a POST that registers never shows it.
_lazy_date_label = lazy(_date_label, str)
_lazy_slot_schedule = lazy(slot_schedule, str)


def slot_is_bookable(slot: CourseSlot) -> bool:
    """A seat for the full package, or for a drop-in on at least one upcoming date."""
    if slot.seats_left > 0:
        return True
    return PricingType.DROP_IN in slot.price_by_type and any(n > 0 for n in slot.seats_by_date.values())


class SlotRadioSelect(forms.RadioSelect):
    """Radio buttons where full slots are shown but cannot be picked."""

    def __init__(self, *args, disabled_values=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.disabled_values = {str(value) for value in disabled_values}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        if str(value) in self.disabled_values:
            option["attrs"]["disabled"] = True
        return option


class SlotDateSelect(forms.Select):
    """The drop-in dates grouped by slot; each option says its slot (data-slot), so site.js shows only the chosen
    slot's dates. `group_slots`: the slot of each group, in order (empty: one slot, nothing to filter)."""

    def __init__(self, *args, group_slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.group_slots = list(group_slots)

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        # index counts the list's entries: the empty choice first, then one per group.
        if self.group_slots and subindex is not None and 0 < index <= len(self.group_slots):
            option["attrs"]["data-slot"] = str(self.group_slots[index - 1])
        return option


class SlotChoiceField(forms.ModelChoiceField):
    """A time slot of this course, labelled with its schedule, place, prices and seats."""

    def __init__(self, *, course: Course, **kwargs):
        self.course = course
        self.open_slots = {slot.pk: slot for slot in course.open_slots}
        super().__init__(
            queryset=CourseSlot.objects.filter(course=course, pk__in=self.open_slots).order_by(
                "day_of_week", "practice_date", "start_time", "pk"
            ),
            **kwargs,
        )

    def to_python(self, value):
        """The chosen slot as the course page read it (with its course, prices and dates): no second query."""
        if value in self.empty_values:
            return None
        try:
            return self.open_slots[int(value)]
        except (KeyError, TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None

    def label_from_instance(self, obj):
        slot = self.open_slots.get(obj.pk, obj)
        parts = [slot_schedule(slot, self.course)]
        if slot.location:
            parts.append(slot.location)
        if slot.price_by_type:
            parts.append(price_summary(slot.price_by_type))
        if slot.seats_left > 0:
            parts.append(seats_text(slot.seats_left))
        elif slot_is_bookable(slot):
            parts.append(str(_("Full package sold out – some drop-in dates are free")))
        else:
            parts.append(str(_("Full – join the waitlist")))
        return " · ".join(parts)


class RegistrationForm(StudentDetailsForm):
    """Registration for one course: `course` comes from `selectors.course_for_page` (`.open_slots`, each slot with
    `.price_by_type`, `.seats_left`, `.upcoming_dates` and `.seats_by_date`). A course read without seats
    (`course.seats_counted` False) makes a form that checks a POST but cannot be shown.

    Only the fields below are read: a tampered price, amount or status in the POST is ignored.
    `payment_methods` limits the methods offered (those the studio has set up); all of them by default.
    """

    slot = forms.ModelChoiceField(queryset=CourseSlot.objects.none())  # replaced in __init__
    pricing_type = forms.ChoiceField(
        label=_("What would you like?"),
        choices=PricingType.choices,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose the full package or a drop-in.")},
    )
    class_date = forms.TypedChoiceField(
        label=_("Which class? (drop-in only)"),
        required=False,
        coerce=datetime.date.fromisoformat,
        empty_value=None,
        widget=forms.Select,  # replaced in __init__ by a SlotDateSelect
        error_messages={"invalid_choice": _("Choose one of the class dates in the list.")},
    )
    payment_method = forms.ChoiceField(
        label=_("How will you pay?"),
        choices=PaymentMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose Venmo or Zelle.")},
    )

    def __init__(self, *args, course: Course, payment_methods=None, credit: Decimal = Decimal("0"), **kwargs):
        super().__init__(*args, **kwargs)
        self.course = course
        # A signed-in student's account credit (never anyone else's): taken off each price shown and asked for.
        self.credit = credit
        slots = list(course.open_slots)
        full = [slot.pk for slot in slots if not slot_is_bookable(slot)] if course.seats_counted else []

        self.fields["slot"] = SlotChoiceField(
            course=course,
            label=_("Time slot"),
            empty_label=None,
            widget=SlotRadioSelect(disabled_values=full),
            error_messages={"invalid_choice": _("Choose a valid time slot.")},
        )
        bookable = [slot for slot in slots if slot.pk not in full]
        if len(bookable) == 1:
            self.fields["slot"].initial = bookable[0].pk

        self.fields["pricing_type"].choices = self._pricing_choices(slots)
        if len(self.fields["pricing_type"].choices) == 1:
            self.fields["pricing_type"].initial = self.fields["pricing_type"].choices[0][0]

        # A drop-in on a weekly series names its class date; dated classes have just the one.
        if course.is_dated or not any(PricingType.DROP_IN in slot.price_by_type for slot in slots):
            del self.fields["class_date"]
        else:
            self._set_class_dates(slots)

        # Nothing to pay anywhere (a free class, or the student's credit covers every option): no method is asked.
        amounts = [self._due(amount) for slot in slots for amount in slot.price_by_type.values()]
        self.any_price = any(amount for slot in slots for amount in slot.price_by_type.values())
        if amounts and not any(amounts):
            del self.fields["payment_method"]
        else:
            # Only an option with nothing to pay may go without one (checked in clean()).
            self.fields["payment_method"].required = all(amounts)
            if payment_methods:
                self.fields["payment_method"].choices = [
                    (value, label) for value, label in PaymentMethod.choices if value in payment_methods
                ]
            if len(self.fields["payment_method"].choices) == 1:
                self.fields["payment_method"].initial = self.fields["payment_method"].choices[0][0]
        for name in ("slot", "pricing_type", "payment_method"):
            if name in self.fields:
                self.fields[name].widget.attrs["class"] = "form-check-input"
        # For site.js: which options each slot has, and which are free, so the form offers only what fits.
        self.options_by_slot = json.dumps(
            {
                str(slot.pk): {kind: str(self._due(amount)) for kind, amount in slot.price_by_type.items()}
                for slot in slots
            }
        )

    def _due(self, amount: Decimal) -> Decimal:
        """What is left to pay of `amount` after the student's credit."""
        return max(Decimal("0"), amount - self.credit)

    def _pricing_choices(self, slots) -> list[tuple[str, str]]:
        """The pricing types some slot has a price for, with the amount when every such slot agrees, and the slots
        when not every slot has it ("only Thursdays 7–8:30 pm")."""
        offered = []
        for pricing_type, label in PricingType.choices:
            having = [slot for slot in slots if pricing_type in slot.price_by_type]
            if not having:
                continue
            if pricing_type == PricingType.DROP_IN and not self.course.is_dated:
                label = _("Drop-in (one class)")
            elif pricing_type == PricingType.FULL_PACKAGE and not self.course.is_dated:
                late = any(slot.classes_left < slot.class_count for slot in having)
                label = _("Full package (the classes left)") if late else _("Full package (every class)")
            amounts = {slot.price_by_type[pricing_type] for slot in having}
            if len(amounts) == 1:
                amount = amounts.pop()
                label = f"{label} – {money(amount) if amount else _('free')}"
                if amount and self.credit:
                    label = _("%(option)s (you pay %(due)s with your credit)") % {
                        "option": label,
                        "due": money(self._due(amount)),
                    }
            if len(having) < len(slots):
                label = _("%(option)s · only %(slots)s") % {
                    "option": label,
                    "slots": _(" or ").join(schedule_parts(slot, self.course)[0] for slot in having),
                }
            offered.append((pricing_type, label))
        return offered or PricingType.choices

    def _set_class_dates(self, slots) -> None:
        """The drop-in dates grouped by slot, each with its time, so a date can only go with its own slot."""
        groups, group_slots = [], []
        for slot in slots:
            if PricingType.DROP_IN not in slot.price_by_type:
                continue
            options = []
            for day in slot.upcoming_dates:
                full = self.course.seats_counted and slot.seats_by_date.get(day, 0) <= 0
                options.append((day.isoformat(), _lazy_date_label(day, slot, full=full)))
            groups.append((_lazy_slot_schedule(slot, self.course), options))
            group_slots.append(slot.pk)
        field = self.fields["class_date"]
        field.widget = SlotDateSelect(group_slots=group_slots if len(groups) > 1 else [])
        field.choices = [("", _("Choose a class date")), *(groups if len(groups) > 1 else groups[0][1])]
        field.widget.attrs["data-drop-in-only"] = ""

    def clean(self):
        cleaned = super().clean()
        slot, pricing_type = cleaned.get("slot"), cleaned.get("pricing_type")
        if slot is None or not pricing_type:
            return cleaned
        open_slot = next(s for s in self.course.open_slots if s.pk == slot.pk)
        if pricing_type not in open_slot.price_by_type:
            self.add_error("pricing_type", _("This time slot has no price of that kind; choose the other option."))
            return cleaned
        if pricing_type == PricingType.DROP_IN and "class_date" in self.fields:
            class_date = cleaned.get("class_date")
            if class_date is None:
                if "class_date" not in self.errors:
                    self.add_error("class_date", _("Choose the class date for your drop-in."))
            elif class_date not in open_slot.upcoming_dates:
                self.add_error("class_date", _("That date is not a class of the time slot you chose."))
        else:
            cleaned["class_date"] = None
        if self._due(open_slot.price_by_type[pricing_type]) == 0:
            cleaned["payment_method"] = ""  # a free class, or covered by credit: nothing to pay, no method
        elif (
            "payment_method" in self.fields
            and not cleaned.get("payment_method")
            and "payment_method" not in self.errors
        ):
            self.add_error("payment_method", _("Choose Venmo or Zelle."))
        return cleaned

    @property
    def is_free(self) -> bool:
        """Nothing to pay whatever is chosen: the page asks for no payment method and promises no hold."""
        return "payment_method" not in self.fields

    @property
    def is_covered_by_credit(self) -> bool:
        """Nothing to pay because the student's credit covers every option (the classes are not free)."""
        return self.is_free and self.any_price

    @property
    def slot_is_bookable(self) -> bool:
        """False when every slot is full: the page then shows the waitlist note instead of the form."""
        return any(slot_is_bookable(slot) for slot in self.course.open_slots)


# --- joining the waitlist of a full class, on the same page ------------------------------------------------------------


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
