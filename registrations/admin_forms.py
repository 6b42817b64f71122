"""The forms of the registration admin's actions (confirm, cancel, re-open) and of "Register a student". They check
the input; the services apply every rule."""

from decimal import Decimal

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext_lazy as _

from courses.models import CoursePricing, CourseSlot
from registrations.ledger import Settle
from registrations.models import Payment, Refund, Registration
from students.models import Student
from students.services import StudentDetails


class ConfirmPaymentForm(forms.Form):
    method = forms.TypedChoiceField(
        label=_("Paid with"),
        choices=[("", _("As the student chose")), *Registration.PaymentMethod.choices],
        required=False,
    )
    amount = forms.DecimalField(
        label=_("Amount received"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=8,
        decimal_places=2,
        help_text=_(
            "Leave empty for the balance due. Less: a partial payment (the registration keeps waiting for the rest). "
            "More: the rest becomes the student's account credit."
        ),
    )
    transaction_id = forms.CharField(
        label=_("Transaction id"),
        required=False,
        max_length=Payment._meta.get_field("transaction_id").max_length,
        help_text=_("Optional: Venmo's or the bank's id. A transaction id is recorded once."),
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    note = forms.CharField(
        label=_("Transaction note"),
        required=False,
        max_length=Registration._meta.get_field("transaction_note").max_length,
        help_text=_("Optional: e.g. the Venmo or Zelle transaction id."),
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=Registration._meta.get_field("cancel_reason").max_length,
        help_text=_("Sent to the student in the cancellation email."),
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    settle = forms.ChoiceField(
        label=_("What was paid"),
        choices=Settle.CHOICES,
        widget=forms.RadioSelect,
        help_text=_(
            "For the registrations with something paid: a refund is recorded (credit they used comes back as "
            "credit), or all of it becomes the student's account credit, or the studio keeps it."
        ),
    )

    def __init__(self, *args, money_paid: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not money_paid:
            # Nothing paid on any of them: nothing to settle.
            del self.fields["settle"]


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"),
        min_value=Decimal("0.01"),
        max_digits=8,
        decimal_places=2,
        help_text=_(
            "At most what the registration received and still covers it, less credit for its canceled classes."
        ),
    )
    method = forms.ChoiceField(label=_("Refunded with"), choices=Registration.PaymentMethod.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=Refund._meta.get_field("reason").max_length,
        help_text=_("E.g. “missed the first class”, or “payment recorded twice by mistake”."),
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    transaction_id = forms.CharField(
        label=_("Transaction id"),
        required=False,
        max_length=Refund._meta.get_field("transaction_id").max_length,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=200,
        help_text=_("Optional: recorded in the registration's history."),
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )


class RegisterStudentForm(forms.Form):
    """What the owner chooses, for a student on file or one added on the spot; every rule is checked by
    services.admin_register_student (and students.services for a new student's details)."""

    first_name = forms.CharField(label=_("First name"), required=False, max_length=100)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=100)
    email = forms.CharField(
        label=_("Email"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"class": "vTextField", "autocomplete": "off"}),
    )
    phone = forms.CharField(label=_("Phone"), required=False, max_length=30)

    pricing_type = forms.ChoiceField(label=_("Pricing type"), choices=CoursePricing.PricingType.choices)
    class_date = forms.DateField(
        label=_("Class date"),
        required=False,
        help_text=_("Only for a drop-in on a weekly series: the one class it is for."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    payment_method = forms.ChoiceField(label=_("Payment method"), choices=Registration.PaymentMethod.choices)
    over_capacity = forms.BooleanField(
        label=_("Over capacity"),
        required=False,
        help_text=_("Register the student even when the time slot is full."),
    )
    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=2,
        help_text=_("Leave empty to charge the time slot's price. Another amount needs a reason."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=200,
        help_text=_("Recorded in the registration's history."),
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    use_credit = forms.BooleanField(
        label=_("Use the student's account credit"),
        required=False,
        initial=True,
        help_text=_("Their credit is taken off the amount; covered in full, the registration is confirmed at once."),
    )

    NEW_STUDENT_FIELDS = ["first_name", "last_name", "email", "phone"]
    field_order = ["student", *NEW_STUDENT_FIELDS, "slot"]

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        # The admin's own autocomplete (RegistrationAdmin.autocomplete_fields lists both fields).
        self.fields["student"] = forms.ModelChoiceField(
            label=_("Student"),
            queryset=Student.objects.all(),
            required=False,
            help_text=_("A student on file; or leave this empty and add a new student below."),
            widget=AutocompleteSelect(Registration._meta.get_field("student"), admin_site),
        )
        self.fields["slot"] = forms.ModelChoiceField(
            label=_("Time slot"),
            queryset=CourseSlot.objects.select_related("course"),
            widget=AutocompleteSelect(Registration._meta.get_field("slot"), admin_site),
        )
        self.order_fields(self.field_order)

    def fieldsets(self) -> list[tuple[str, list]]:
        """The page's groups of fields: who, a new student, what."""
        groups = {"student": [], "new": [], "registration": []}
        for field in self:
            name = field.name
            groups[
                "student" if name == "student" else "new" if name in self.NEW_STUDENT_FIELDS else "registration"
            ].append(field)
        return [
            (_("Student"), groups["student"]),
            (_("Or a new student"), groups["new"]),
            (_("Registration"), groups["registration"]),
        ]

    def clean(self):
        """A student on file, or a new student's first name, last name and email; not both."""
        cleaned_data = super().clean()
        new = {name: cleaned_data.get(name, "").strip() for name in self.NEW_STUDENT_FIELDS}
        if cleaned_data.get("student") is not None:
            if any(new.values()):
                self.add_error(None, _("Choose a student on file or add a new one, not both."))
        elif "student" not in self.errors:
            if not any(new.values()):
                self.add_error("student", _("Choose a student, or add a new student below."))
            for name in ("first_name", "last_name", "email"):
                if any(new.values()) and not new[name]:
                    self.add_error(name, _("A new student needs this."))
        return cleaned_data

    @property
    def new_student(self) -> StudentDetails | None:
        """The new student's details as typed (cleaned by students.services), or None for a student on file."""
        data = self.cleaned_data
        if data.get("student") is not None:
            return None
        return StudentDetails(**{name: data.get(name, "") for name in self.NEW_STUDENT_FIELDS})
