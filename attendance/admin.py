from django import forms
from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from attendance.makeups import cancel_makeup
from attendance.models import Absence, AttendanceRecord, ClassSession, MakeUp
from attendance.services import cancel_session
from studio.csv import csv_response


class ClassSessionForm(forms.ModelForm):
    class Meta:
        model = ClassSession
        fields = ["course", "slot", "session_date", "start_time", "end_time", "location", "notes"]

    def clean(self):
        cleaned_data = super().clean()
        course, slot = cleaned_data.get("course"), cleaned_data.get("slot")
        if course and slot and slot.course_id != course.pk:
            self.add_error("slot", _("Choose a time slot of this course."))
        return cleaned_data


@admin.register(ClassSession)
class ClassSessionAdmin(admin.ModelAdmin):
    form = ClassSessionForm
    list_display = [
        "session_date",
        "start_time",
        "end_time",
        "course",
        "location",
        "is_canceled",
        "attendance_count",
    ]
    list_display_links = ["session_date", "start_time"]
    list_filter = ["is_canceled", "course__course_type", "course"]
    search_fields = ["course__name", "location", "notes"]
    list_select_related = ["course"]
    autocomplete_fields = ["course", "slot"]
    date_hierarchy = "session_date"
    # Canceling a session emails its roster, so it is an action calling the attendance service, not a checkbox.
    readonly_fields = ["roster_link", "is_canceled", "canceled_at", "created_at", "updated_at"]
    actions = ["cancel_sessions"]
    fieldsets = [
        (None, {"fields": ["course", "slot", "session_date", ("start_time", "end_time"), "location", "notes"]}),
        (_("Status"), {"fields": ["roster_link", "is_canceled", "canceled_at", "created_at", "updated_at"]}),
    ]

    @admin.action(description=_("Cancel (emails the students)"), permissions=["change"])
    def cancel_sessions(self, request, queryset):
        canceled = sum(cancel_session(session=session) for session in queryset)
        self.message_user(request, ngettext("Canceled %d session.", "Canceled %d sessions.", canceled) % canceled)

    @admin.display(description=_("roster"))
    def roster_link(self, obj):
        if obj.pk is None:
            return "–"
        return format_html('<a href="{}">{}</a>', reverse("attendance:detail", args=[obj.pk]), _("Open the roster"))

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_attendance_count=Count("attendance_records"))

    @admin.display(description=_("marked"), ordering="_attendance_count")
    def attendance_count(self, obj):
        return obj._attendance_count


@admin.action(description=_("Export to CSV"), permissions=["view"])
def export_attendance_csv(modeladmin, request, queryset):
    """The selected attendance records as CSV (formula-safe, UTF-8 with a BOM)."""
    records = queryset.select_related("session__course", "student", "marked_by").order_by(
        "session__session_date", "session__start_time", "session_id", "student__last_name", "student__first_name"
    )
    header = [
        _("Date"),
        _("Start"),
        _("Course"),
        _("First name"),
        _("Last name"),
        _("Email"),
        _("Status"),
        _("Marked by"),
        _("Marked at"),
    ]
    rows = (
        [
            record.session.session_date,
            record.session.start_time,
            record.session.course.name,
            record.student.first_name,
            record.student.last_name,
            record.student.email,
            record.get_status_display(),
            record.marked_by.get_username() if record.marked_by else "",
            record.marked_at,
        ]
        for record in records.iterator(chunk_size=500)
    )
    return csv_response(f"attendance-{timezone.localdate():%Y-%m-%d}.csv", header, rows)


@admin.register(AttendanceRecord)
class AttendanceRecordAdmin(admin.ModelAdmin):
    """Attendance records, read-only: they are written on the session's roster page (the door tablet), which checks
    the roster, the session's date and who marks. A correction is made there too."""

    list_display = ["session", "student", "status", "marked_by", "marked_at"]
    list_filter = ["status", "session__course"]
    search_fields = [
        "student__first_name",
        "student__last_name",
        "student__email",
        "session__course__name",
    ]
    list_select_related = ["session__course", "student", "marked_by"]
    date_hierarchy = "marked_at"
    actions = [export_attendance_csv]
    fields = ["session", "roster_link", "student", "status", "marked_by", "marked_at"]
    readonly_fields = fields

    @admin.display(description=_("roster"))
    def roster_link(self, obj):
        url = reverse("attendance:detail", args=[obj.session_id])
        return format_html('<a href="{}">{}</a>', url, _("Correct it on the roster"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the services only (the student's link and portal, the studio's actions); the admin reads them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Absence)
class AbsenceAdmin(_ReadOnlyAdmin):
    """Excused absences ("can't make it"): who, which class, when and how they told us, whether a make-up came with it."""

    list_display = ["session", "student", "reported_at", "channel", "makeup_granted", "undone_at"]
    list_filter = ["makeup_granted", "channel", "session__course"]
    search_fields = ["student__first_name", "student__last_name", "student__email", "session__course__name"]
    list_select_related = ["session__course", "student"]
    date_hierarchy = "reported_at"
    fields = ["session", "student", "registration", "reported_at", "channel", "makeup_granted", "undone_at"]
    readonly_fields = fields


@admin.register(MakeUp)
class MakeUpAdmin(_ReadOnlyAdmin):
    """Make-up classes booked for excused absences; the studio may cancel one (the make-up goes back to the student)."""

    list_display = ["session", "student", "missed_class", "status", "booked_at", "canceled_at"]
    list_filter = ["status", "session__course"]
    search_fields = ["student__first_name", "student__last_name", "student__email", "session__course__name"]
    list_select_related = ["session__course", "student", "absence__session__course"]
    date_hierarchy = "booked_at"
    fields = ["session", "student", "absence", "status", "booked_at", "canceled_at", "canceled_by_studio"]
    readonly_fields = fields
    actions = ["cancel_makeups"]

    @admin.display(description=_("instead of"))
    def missed_class(self, obj):
        return obj.absence.session

    @admin.action(description=_("Cancel (the make-up goes back to the student)"), permissions=["view"])
    def cancel_makeups(self, request, queryset):
        canceled = sum(cancel_makeup(makeup=makeup, by_studio=True) for makeup in queryset)
        self.message_user(request, ngettext("Canceled %d make-up.", "Canceled %d make-ups.", canceled) % canceled)
