"""Admin for the waitlist.

Positions stay 1..n per course and an offer always has its seat, token and expiry, so joining, offering,
removing and renumbering happen in the waitlist services (admin actions will call them). Here an entry is
read, and only the preferred slot may be corrected; there is no raw add or delete.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from waitlist.models import WaitlistEntry


class WaitlistEntryForm(forms.ModelForm):
    class Meta:
        model = WaitlistEntry
        fields = ["preferred_slot"]

    def clean_preferred_slot(self):
        slot = self.cleaned_data["preferred_slot"]
        if slot is not None and slot.course_id != self.instance.course_id:
            raise forms.ValidationError(_("Choose a time slot of this course."))
        return slot


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    form = WaitlistEntryForm
    list_display = [
        "course",
        "waitlist_position",
        "student_name",
        "student__email",
        "status",
        "preferred_slot",
        "offer_expires_at",
        "created_at",
    ]
    list_display_links = ["course", "waitlist_position", "student_name"]
    list_filter = ["status", "notification_sent", "course"]
    search_fields = ["student__first_name", "student__last_name", "student__email", "course__name"]
    list_select_related = ["course", "student", "preferred_slot__course"]
    autocomplete_fields = ["preferred_slot"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "student",
        "course",
        "waitlist_position",
        "status",
        "notification_sent",
        "offer_slot",
        "offer_token_hash",
        "offered_at",
        "offer_expires_at",
        "responded_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["student", "course", "preferred_slot", "waitlist_position", "status"]}),
        (
            _("Offer"),
            {
                "fields": [
                    "offer_slot",
                    "notification_sent",
                    "offered_at",
                    "offer_expires_at",
                    "responded_at",
                    "offer_token_hash",
                ]
            },
        ),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("student"), ordering="student__last_name")
    def student_name(self, obj):
        return obj.student.full_name

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
