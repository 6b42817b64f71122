"""Admin for registrations and their history.

Registrations are created and change status only through the registration services (seat checks, history,
emails), so the admin never deletes one and offers no raw add form; status changes will be actions calling
those services. The one field typed here is the admin's own transaction note.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from registrations.models import Registration, RegistrationEvent


def actor_name(event: RegistrationEvent) -> str:
    return event.actor_label or (event.actor.get_username() if event.actor else "")


class RegistrationEventInline(admin.TabularInline):
    """The registration's history, read-only: written by the services only."""

    model = RegistrationEvent
    fields = ["created_at", "from_status", "to_status", "by", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("by"))
    def by(self, obj):
        return actor_name(obj)


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "student_name",
        "payment_status",
        "payment_amount",
        "payment_method",
        "payment_reported",
        "course",
        "class_time",
        "created_at",
    ]
    list_filter = [
        "payment_status",
        "payment_method",
        "pricing_type",
        ("payment_reported_at", admin.EmptyFieldListFilter),
        "admin_override",
        "course",
    ]
    search_fields = ["reference", "student__first_name", "student__last_name", "student__email", "course__name"]
    list_select_related = ["student", "course", "slot__course"]
    autocomplete_fields = ["student", "course", "slot"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "reference",
        "public_id",
        "student",
        "course",
        "slot",
        "pricing_type",
        "class_date",
        "payment_amount",
        "payment_method",
        "payment_status",
        "admin_override",
        "payment_due_at",
        "payment_reported_at",
        "payment_reported_method",
        "confirmed_at",
        "confirmed_by",
        "canceled_at",
        "canceled_by",
        "cancel_reason",
        "created_at",
        "updated_at",
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
                    "class_date",
                    "payment_status",
                    "admin_override",
                ]
            },
        ),
        (
            _("Payment"),
            {
                "fields": [
                    "payment_amount",
                    "payment_method",
                    "payment_due_at",
                    "payment_reported_at",
                    "payment_reported_method",
                    "confirmed_at",
                    "confirmed_by",
                    "transaction_note",
                ]
            },
        ),
        (_("Cancellation"), {"fields": ["canceled_at", "canceled_by", "cancel_reason"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [RegistrationEventInline]

    @admin.display(description=_("student"), ordering="student__last_name")
    def student_name(self, obj):
        return obj.student.full_name

    @admin.display(description=_("class"))
    def class_time(self, obj):
        """The one date of a drop-in, else the slot's weekday or date, with the start time."""
        slot = obj.slot
        when = obj.class_date or slot.practice_date or slot.get_day_of_week_display()
        return f"{when} {slot.start_time:%H:%M}"

    @admin.display(description=_("reported paid"), boolean=True, ordering="payment_reported_at")
    def payment_reported(self, obj):
        return obj.payment_reported_at is not None

    def has_add_permission(self, request):
        # Registering goes through the registration service (seats, crew rules, history); see the module docstring.
        return False

    def has_delete_permission(self, request, obj=None):
        # The product never deletes a registration (SPEC §3): cancel it instead. This also removes "delete selected".
        return False


@admin.register(RegistrationEvent)
class RegistrationEventAdmin(admin.ModelAdmin):
    """Every registration's history in one list, read-only."""

    list_display = ["created_at", "registration", "from_status", "to_status", "by", "reason"]
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("by"))
    def by(self, obj):
        return actor_name(obj)
