"""Admin for the waitlist.

Positions stay 1..n per course and an offer always has its seat, token and expiry, so joining, offering,
removing and renumbering happen in the waitlist services, which the actions below call. Here an entry is
read, and only the preferred slot may be corrected; there is no raw add or delete.

Revoking an offer puts the entry back to "waiting" at its place (the emailed link then says the offer was
withdrawn) and does NOT offer the seat again automatically: the studio revokes to decide itself who gets it
(send an offer to someone else, or remove the entry). "Remove" takes an entry off the list for good; an
outstanding offer is given up with it and its seat goes to the next student.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from courses.admin_columns import moment_field
from students.admin import ExportsContacts
from studio.csv import csv_response
from waitlist import offers, services
from waitlist.models import WaitlistEntry


class OnTheListFilter(admin.SimpleListFilter):
    title = _("on the list")
    parameter_name = "on_list"

    def lookups(self, request, model_admin):
        return [("yes", _("Waiting or offered")), ("no", _("No longer on the list"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=WaitlistEntry.ACTIVE_STATUSES)
        if self.value() == "no":
            return queryset.exclude(status__in=WaitlistEntry.ACTIVE_STATUSES)
        return queryset


class WaitlistEntryForm(forms.ModelForm):
    class Meta:
        model = WaitlistEntry
        fields = ["preferred_slot"]

    def clean_preferred_slot(self):
        slot = self.cleaned_data["preferred_slot"]
        if slot is not None and slot.course_id != self.instance.course_id:
            raise forms.ValidationError(_("Choose a time slot of this course."))
        return slot


@admin.action(description=_("Export to CSV"), permissions=["export_contacts"])
def export_waitlist_csv(modeladmin, request, queryset):
    """The selected waitlist entries as CSV (formula-safe, UTF-8 with a BOM)."""
    entries = queryset.select_related("student", "course", "preferred_slot__course", "offer_slot__course").order_by(
        "course__name", "course_id", "waitlist_position", "created_at", "pk"
    )
    header = [
        _("Course"),
        _("Position"),
        _("First name"),
        _("Last name"),
        _("Email"),
        _("Phone"),
        _("Instagram"),
        _("Status"),
        _("Preferred time slot"),
        _("Offered time slot"),
        _("Offer expires"),
        _("Joined"),
    ]
    rows = (
        [
            entry.course.name,
            entry.waitlist_position,
            entry.student.first_name,
            entry.student.last_name,
            entry.student.email,
            entry.student.phone,
            entry.student.instagram_handle,
            entry.get_status_display(),
            str(entry.preferred_slot) if entry.preferred_slot else "",
            str(entry.offer_slot) if entry.offer_slot else "",
            entry.offer_expires_at,
            entry.created_at,
        ]
        for entry in entries.iterator(chunk_size=500)
    )
    return csv_response(f"waitlist-{timezone.localdate():%Y-%m-%d}.csv", header, rows)


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ExportsContacts, admin.ModelAdmin):
    form = WaitlistEntryForm
    list_display = [
        "course",
        "waitlist_position",
        "student_name",
        "student__email",
        "status",
        "preferred_slot",
        "offer_slot",
        "offered",
        "offer_expires",
        "joined",
    ]
    list_display_links = ["course", "waitlist_position", "student_name"]
    list_filter = [OnTheListFilter, "status", "notification_sent", "course"]
    # Per course in position order; finished entries (no position) after the waiting ones.
    ordering = ["course__name", "course_id", F("waitlist_position").asc(nulls_last=True), "-created_at", "-pk"]
    actions = [
        "send_offer",
        "send_offer_over_capacity",
        "move_up",
        "move_down",
        "revoke_offer",
        "remove",
        export_waitlist_csv,
    ]
    search_fields = ["student__first_name", "student__last_name", "student__email", "course__name"]
    list_select_related = ["course", "student", "preferred_slot__course", "offer_slot__course"]
    autocomplete_fields = ["preferred_slot"]
    date_hierarchy = "created_at"
    offered = moment_field("offered_at", _("offered at"))
    offer_expires = moment_field("offer_expires_at", _("offer expires at"))
    joined = moment_field("created_at", _("joined"))
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

    def _report_offers(self, request, offered, skipped):
        if offered:
            self.message_user(
                request,
                ngettext("Sent %(count)d offer.", "Sent %(count)d offers.", len(offered)) % {"count": len(offered)},
                messages.SUCCESS,
            )
        for reason in skipped:
            self.message_user(request, reason, messages.WARNING)
        if not offered and not skipped:
            self.message_user(request, _("No offers sent."), messages.WARNING)

    @admin.action(description=_("Send offer (free seats only)"), permissions=["change"])
    def send_offer(self, request, queryset):
        offered, skipped = offers.send_offers(entries=queryset)
        self._report_offers(request, offered, skipped)

    @admin.action(description=_("Send offer over capacity"), permissions=["change"])
    def send_offer_over_capacity(self, request, queryset):
        offered, skipped = offers.send_offers(entries=queryset, over_capacity=True)
        self._report_offers(request, offered, skipped)

    def _move(self, request, queryset, *, up: bool):
        # Moving several: the top one first when moving up, the bottom one first when moving down.
        entries = sorted(queryset, key=lambda e: (e.course_id, e.waitlist_position or 0), reverse=not up)
        moved = sum(services.move_entry(entry=entry, up=up) for entry in entries)
        self.message_user(
            request, ngettext("Moved %(count)d entry.", "Moved %(count)d entries.", moved) % {"count": moved}
        )

    @admin.action(description=_("Move up one place"), permissions=["change"])
    def move_up(self, request, queryset):
        self._move(request, queryset, up=True)

    @admin.action(description=_("Move down one place"), permissions=["change"])
    def move_down(self, request, queryset):
        self._move(request, queryset, up=False)

    @admin.action(description=_("Revoke offer (back to waiting, seat not re-offered)"), permissions=["change"])
    def revoke_offer(self, request, queryset):
        revoked = offers.revoke_offers(entries=queryset)
        self.message_user(
            request,
            ngettext(
                "Revoked %(count)d offer; its seat is free for the next offer.",
                "Revoked %(count)d offers; their seats are free for the next offers.",
                revoked,
            )
            % {"count": revoked},
        )

    @admin.action(description=_("Remove from the waitlist"), permissions=["change"])
    def remove(self, request, queryset):
        removed = services.remove_entries(entries=queryset)
        self.message_user(
            request,
            ngettext("Removed %(count)d entry.", "Removed %(count)d entries.", removed) % {"count": removed},
        )
