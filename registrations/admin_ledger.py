"""The ledger in the admin (README "Payments"): payments, refunds and account credit, listed and never edited.

Rows are written by the services only (confirming a payment, a refund, a cancellation, a statement import), so these
admins offer no add, change or delete: a mistake is corrected by a new row (a refund). Access goes by the models'
own permissions (the Studio admin's; the Instructor has none of them), never by `is_staff` alone. The payment list
exports the accountant's ledger CSV.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.admin_columns import moment_field, money_field
from courses.formatting import money
from registrations import ledger
from registrations.models import CreditEntry, Payment, Refund
from studio.admin_site import ViewOnly
from studio.csv import csv_response

LEDGER_CSV_HEADER = [
    _("Date"),
    _("Student"),
    _("Class"),
    _("Reference"),
    _("Method"),
    _("Transaction id"),
    _("Amount"),
    _("Kind"),
]


class ReadOnlyAdmin(ViewOnly, admin.ModelAdmin):
    """Listed and viewed only: the services write these rows, and nothing edits or deletes them."""


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    change_list_template = "admin/registrations/payment/change_list.html"
    list_display = ["received", "registration", "student_name", "paid", "method", "transaction_id", "source"]
    list_filter = ["method", "source"]
    search_fields = [
        "transaction_id",
        "registration__reference",
        "registration__student__first_name",
        "registration__student__last_name",
        "registration__student__email",
        "note",
    ]
    list_select_related = ["registration__student", "registration__course"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "registration",
        "paid",
        "method",
        "received",
        "transaction_id",
        "note",
        "source",
        "statement_import",
        "recorded_by",
        "recorded",
    ]
    fields = readonly_fields
    received = moment_field("received_at", _("received at"))
    paid = money_field("amount", _("amount"))
    recorded = moment_field("created_at", _("recorded at"))

    @admin.display(description=_("student"), ordering="registration__student__last_name")
    def student_name(self, obj):
        return obj.registration.student.full_name

    def get_urls(self):
        return [
            path(
                "ledger.csv",
                self.admin_site.admin_view(self.ledger_csv_view),
                name="registrations_payment_ledger_csv",
            ),
            *super().get_urls(),
        ]

    def ledger_csv_view(self, request):
        """Every payment and refund for the studio's accountant (injection-safe, like every export)."""
        if not (self.has_view_permission(request) and request.user.has_perm("registrations.view_refund")):
            raise PermissionDenied
        return csv_response(
            f"ledger-{timezone.localdate():%Y-%m-%d}.csv",
            LEDGER_CSV_HEADER,
            (
                [
                    row.at,
                    row.registration.student.full_name,
                    row.registration.course.name,
                    row.registration.reference,
                    row.method,
                    row.transaction_id,
                    row.amount,
                    row.kind,
                ]
                for row in ledger.ledger_rows()
            ),
        )


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["refunded", "registration", "refund_amount", "method", "reason", "recorded_by"]
    list_filter = ["method"]
    search_fields = [
        "registration__reference",
        "registration__student__first_name",
        "registration__student__last_name",
        "reason",
        "transaction_id",
    ]
    list_select_related = ["registration__student", "registration__course", "recorded_by"]
    date_hierarchy = "created_at"
    readonly_fields = ["registration", "refund_amount", "method", "reason", "transaction_id", "recorded_by", "refunded"]
    fields = readonly_fields
    refunded = moment_field("created_at", _("refunded at"))
    refund_amount = money_field("amount", _("amount"))


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = ["when", "student", "kind", "signed_amount", "reason", "registration", "expires"]
    list_filter = ["kind", "reason"]
    search_fields = ["student__first_name", "student__last_name", "student__email", "registration__reference", "note"]
    list_select_related = ["student", "registration__student", "registration__course"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "student",
        "kind",
        "reason",
        "signed_amount",
        "registration",
        "class_date",
        "grant",
        "expires",
        "note",
        "recorded_by",
        "when",
    ]
    fields = readonly_fields
    when = moment_field("created_at", _("when"))
    expires = moment_field("expires_at", _("expires at"))

    @admin.display(description=_("amount"), ordering="amount")
    def signed_amount(self, obj):
        return f"{'+' if obj.kind == CreditEntry.Kind.GRANTED else '−'}{money(obj.amount)}"


# --- on a registration's page --------------------------------------------------------------------------------------------


class LedgerInline(ViewOnly, admin.TabularInline):
    """Read-only rows of the ledger on a registration's page; shown to those with the model's view permission."""

    extra = 0
    can_delete = False
    # Moments and money in the portal's words (courses/formatting.py), as in the lists.
    when = moment_field("created_at", _("when"))
    money_amount = money_field("amount", _("amount"))
    expires = moment_field("expires_at", _("expires at"))


class PaymentInline(LedgerInline):
    model = Payment
    fields = ["received", "money_amount", "method", "transaction_id", "source", "note", "recorded_by"]
    received = moment_field("received_at", _("received at"))
    readonly_fields = fields


class RefundInline(LedgerInline):
    model = Refund
    fields = ["when", "money_amount", "method", "reason", "transaction_id", "recorded_by"]
    readonly_fields = fields


class CreditEntryInline(LedgerInline):
    model = CreditEntry
    fk_name = "registration"
    fields = ["when", "kind", "reason", "money_amount", "class_date", "expires", "note"]
    readonly_fields = fields
    verbose_name_plural = _("account credit from or for this registration")


class StudentCreditInline(LedgerInline):
    """A student's account credit, on the student's page."""

    model = CreditEntry
    fk_name = "student"
    fields = ["when", "kind", "reason", "money_amount", "registration", "expires", "note"]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("registration__student", "registration__course")


class RegistrationBalance:
    """Mixed into RegistrationAdmin: the registration's balance on its page, for staff who may see money."""

    @admin.display(description=_("balance"))
    def balance(self, obj):
        balance = ledger.balance(obj)
        parts = [_("received %(received)s") % {"received": money(balance.received)}]
        if balance.credit_used:
            parts.append(_("account credit used %(credit)s") % {"credit": money(balance.credit_used)})
        if balance.credited_back:
            parts.append(_("given back as credit %(credit)s") % {"credit": money(balance.credited_back)})
        parts.append(_("%(due)s still due") % {"due": money(balance.due)} if balance.due else _("paid in full"))
        return " · ".join(str(part) for part in parts)

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "balance"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not request.user.has_perm("registrations.view_money"):
            return fieldsets
        # In the Payment fieldset, after the amount.
        return [
            (name, {**options, "fields": [*options["fields"][:1], "balance", *options["fields"][1:]]})
            if str(name) == str(_("Payment"))
            else (name, options)
            for name, options in fieldsets
        ]
