"""Admin for registrations and their history.

Registrations are created and change status only through the registration services (seat checks, history,
emails), so the admin never deletes one and offers no raw add form: "Register a student" and the actions
(confirm, confirm over capacity, cancel, re-open) call those services. The one field typed on the change page
is the admin's own transaction note.
"""

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_value
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from courses import formatting
from courses.admin_columns import day_field, moment_field, money_field
from courses.models import Course
from registrations import seats
from registrations.admin_actions import RegistrationActions
from registrations.admin_changelist import RegistrationChangeList
from registrations.admin_ledger import CreditEntryInline, PaymentInline, RefundInline, RegistrationBalance
from registrations.admin_statements import StatementImportAdmin  # noqa: F401 - registers the statement pages
from registrations.models import Registration, RegistrationEvent
from studio.admin_site import ViewOnly

PaymentStatus = Registration.PaymentStatus


def actor_name(event: RegistrationEvent) -> str:
    return event.actor_label or (event.actor.get_username() if event.actor else "")


class RegistrationEventInline(ViewOnly, admin.TabularInline):
    """The registration's history, read-only: written by the services only."""

    model = RegistrationEvent
    fields = ["when", "from_status", "to_status", "by", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    when = moment_field("created_at", _("when"))

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("by"))
    def by(self, obj):
        return actor_name(obj)


# --- list filters --------------------------------------------------------------------------------------------------


class ReportedPaymentFilter(admin.SimpleListFilter):
    title = _("student reported payment")
    parameter_name = "reported"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(payment_reported_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(payment_reported_at__isnull=True)
        return queryset


class HoldFilter(admin.SimpleListFilter):
    """Whether an unpaid registration still holds its seat (the same rule as the seat count: due date vs now)."""

    title = _("seat hold")
    parameter_name = "hold"

    def lookups(self, request, model_admin):
        return [("running", _("Holding a seat")), ("expired", _("Hold expired"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "running":
            return queryset.filter(seats.hold_running(now))
        if self.value() == "expired":
            return queryset.filter(Q(payment_status=PaymentStatus.EXPIRED) | seats.hold_ran_out(now))
        return queryset


class CourseFilter(admin.RelatedFieldListFilter):
    """Django's course filter, its choices read as (id, name) rows: a studio has hundreds of courses."""

    def field_choices(self, field, request, model_admin):
        courses = Course.objects.all()
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            courses = courses.order_by(*ordering)
        # The same (pk, str(course)) pairs as field.get_choices(): a course's str is its name.
        return list(courses.values_list("pk", "name"))


# --- the registration admin ----------------------------------------------------------------------------------------


@admin.register(Registration)
class RegistrationAdmin(RegistrationBalance, RegistrationActions, admin.ModelAdmin):
    change_list_template = "admin/registrations/registration/change_list.html"
    list_display = [
        "reference",
        "student_name",
        "payment_status",
        "amount",
        "payment_method",
        "payment_reported",
        "course",
        "class_time",
        "held_until",
        "created",
    ]
    list_filter = [
        "payment_status",
        "payment_method",
        ReportedPaymentFilter,
        HoldFilter,
        "pricing_type",
        "admin_override",
        ("course", CourseFilter),
    ]
    search_fields = ["reference", "student__first_name", "student__last_name", "student__email", "course__name"]
    list_select_related = ["student", "course", "slot"]
    autocomplete_fields = ["student", "course", "slot"]
    date_hierarchy = "created_at"
    # The count of the filtered rows pages the list; the second count (of every registration) is only a label.
    show_full_result_count = False
    # Half of Django's 100: a row (two localized dates, a checkbox, links) is most of the page's cost, and 50 rows
    # still fill a laptop screen or two.
    list_per_page = 50
    readonly_fields = [
        "reference",
        "public_id",
        "student",
        "course",
        "slot",
        "pricing_type",
        "class_day",
        "amount",
        "payment_method",
        "payment_status",
        "admin_override",
        "held_until",
        "reported_at",
        "payment_reported_method",
        "confirmed",
        "confirmed_by",
        "canceled",
        "canceled_by",
        "cancel_reason",
        "created",
        "updated",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reference",
                    "public_id",
                    "student",
                    "course",
                    "slot",
                    "pricing_type",
                    "class_day",
                    "payment_status",
                    "admin_override",
                ]
            },
        ),
        (
            _("Payment"),
            {
                "fields": [
                    "amount",
                    "payment_method",
                    "held_until",
                    "reported_at",
                    "payment_reported_method",
                    "confirmed",
                    "confirmed_by",
                    "transaction_note",
                ]
            },
        ),
        (_("Cancellation"), {"fields": ["canceled", "canceled_by", "cancel_reason"]}),
        (_("History"), {"fields": ["created", "updated"]}),
    ]
    # The ledger's rows show only to staff with the view permission of each (money is the Studio admin's).
    inlines = [RegistrationEventInline, PaymentInline, RefundInline, CreditEntryInline]

    # Moments, dates and money in the portal's words (courses/formatting.py).
    amount = money_field("payment_amount", _("amount"))
    class_day = day_field("class_date", _("class date"))
    held_until = moment_field("payment_due_at", _("seat held until"))
    reported_at = moment_field("payment_reported_at", _("student reported payment at"))
    confirmed = moment_field("confirmed_at", _("confirmed at"))
    canceled = moment_field("canceled_at", _("canceled at"))
    created = moment_field("created_at", _("created at"))
    updated = moment_field("updated_at", _("updated at"))

    def get_changelist(self, request, **kwargs):
        return RegistrationChangeList

    def action_checkbox(self, obj):
        """Django's checkbox as one format_html(): the form widget's template costs more than the rest of a row."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(gettext("Select this object for an action - {}"), str(obj)),
        )

    def changelist_cells(self, changelist):
        """Each list_display column's cell, rendered as Django's items_for_result() renders it, with the work of a
        column (translated labels, icons, the change link, the date format) done once per page, not once per cell."""

        def labels(model, field_name):
            return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}

        empty = mark_safe(str(self.get_empty_value_display()))
        statuses = labels(Registration, "payment_status")
        methods = labels(Registration, "payment_method")
        reported_icons = {flag: display_for_value(flag, empty, boolean=True) for flag in (True, False)}
        placeholder = "__pk__"
        change_url = add_preserved_filters(
            {"preserved_filters": changelist.preserved_filters, "opts": changelist.opts},
            reverse(f"{self.admin_site.name}:registrations_registration_change", args=[placeholder]),
        )

        def moment(value):
            return empty if value is None else formatting.moment(value)

        def cell(name, nowrap=False):
            return f'<td class="field-{name}{" nowrap" if nowrap else ""}">{{}}</td>'

        def change_link(registration):
            # The placeholder's first occurrence is the path's: the preserved filters follow in the query string.
            url = change_url.replace(placeholder, str(registration.pk), 1)
            return format_html('<a href="{}">{}</a>', url, registration.reference)

        # column: (its cell, with {} where the value goes; the value of a registration)
        return {
            "action_checkbox": ('<td class="action-checkbox">{}</td>', self.action_checkbox),
            "reference": ('<th class="field-reference">{}</th>', change_link),
            "student_name": (cell("student_name"), lambda r: display_for_value(self.student_name(r), empty)),
            "payment_status": (cell("payment_status"), lambda r: statuses.get(r.payment_status, empty)),
            "amount": (cell("amount"), lambda r: formatting.money(r.payment_amount)),
            "payment_method": (cell("payment_method"), lambda r: methods.get(r.payment_method, empty)),
            "payment_reported": (cell("payment_reported"), lambda r: reported_icons[self.payment_reported(r)]),
            "course": (cell("course", nowrap=True), lambda r: r.course),
            "class_time": (cell("class_time"), lambda r: display_for_value(self.class_time(r), empty)),
            "held_until": (cell("held_until"), lambda r: moment(r.payment_due_at)),
            "created": (cell("created"), lambda r: moment(r.created_at)),
        }

    @admin.display(description=_("student"), ordering="student__last_name")
    def student_name(self, obj):
        return obj.student.full_name

    @admin.display(description=_("class"))
    def class_time(self, obj):
        """When the class starts: "Tuesdays 7 pm" (a series), "Tue, Dec 8, 7 pm" (a drop-in's date or a dated slot)."""
        return formatting.class_start(obj.slot, obj.class_date)

    @admin.display(description=_("reported paid"), boolean=True, ordering="payment_reported_at")
    def payment_reported(self, obj):
        return obj.payment_reported_at is not None

    def has_add_permission(self, request):
        # Registering goes through the registration service (seats, crew rules, history): "Register a student".
        return False

    def has_delete_permission(self, request, obj=None):
        # The product never deletes a registration (README "How the studio runs"): cancel it instead. This also removes
        # "delete selected".
        return False


@admin.register(RegistrationEvent)
class RegistrationEventAdmin(ViewOnly, admin.ModelAdmin):
    """Every registration's history in one list, read-only."""

    list_display = ["when", "registration", "from_status", "to_status", "by", "reason"]
    list_filter = ["to_status", "from_status"]
    search_fields = [
        "registration__reference",
        "registration__student__first_name",
        "registration__student__last_name",
        "registration__student__email",
        "reason",
    ]
    list_select_related = ["registration__student", "registration__course", "actor"]
    date_hierarchy = "created_at"
    when = moment_field("created_at", _("when"))

    @admin.display(description=_("by"))
    def by(self, obj):
        return actor_name(obj)


# The "Holds by client" page (its own module: a page of its own, not an action of the registration list).
from registrations import admin_holds  # noqa: E402, F401
