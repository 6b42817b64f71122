from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import ActionLocation
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from attendance.makeups import cancel_makeup
from attendance.models import Absence, AttendanceRecord, ClassSession, MakeUp
from attendance.selectors import has_studio_records
from attendance.services import cancel_session, delete_sessions
from courses.admin_columns import day_field, moment_field
from courses.formatting import time_range
from students.admin import ExportsContacts
from studio.admin_site import ViewOnly
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


_KEPT = _(
    "%(session)s has attendance records, excused absences or make-up classes: they are the studio's records, so the "
    "session cannot be deleted. "
    "If the class did not take place, cancel it instead (the “Cancel” action)."
)


class CancelSessionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("Sent to the students in the cancellation email, e.g. “The instructor is ill.”"),
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )


@admin.register(ClassSession)
class ClassSessionAdmin(admin.ModelAdmin):
    form = ClassSessionForm
    list_display = [
        "date",
        "hours",
        "course",
        "location",
        "is_canceled",
        "attendance_count",
    ]
    list_display_links = ["date", "hours"]
    list_filter = ["is_canceled", "course__course_type", "course"]
    search_fields = ["course__name", "location", "notes"]
    list_select_related = ["course"]
    autocomplete_fields = ["course", "slot"]
    date_hierarchy = "session_date"
    date = day_field("session_date", _("date"))
    # Canceling a session emails its roster, so it is an action calling the attendance service, not a checkbox.
    readonly_fields = ["roster_link", "is_canceled", "canceled_at", "cancel_reason", "created_at", "updated_at"]
    actions = ["cancel_sessions", "delete_sessions"]
    fieldsets = [
        (None, {"fields": ["course", "slot", "session_date", ("start_time", "end_time"), "location", "notes"]}),
        (
            _("Status"),
            {"fields": ["roster_link", "is_canceled", "canceled_at", "cancel_reason", "created_at", "updated_at"]},
        ),
    ]

    @admin.action(description=_("Cancel (emails the students the reason)"), permissions=["change"])
    def cancel_sessions(self, request, queryset):
        """Asks for the reason on an intermediate page, then cancels each session through the service."""
        form = CancelSessionForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            canceled = sum(cancel_session(session=session, reason=reason) for session in queryset)
            self.message_user(request, ngettext("Canceled %d session.", "Canceled %d sessions.", canceled) % canceled)
            return None
        sessions = queryset.select_related("course").order_by("session_date", "start_time")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cancel class sessions"),
            "subtitle": None,
            "intro": _(
                "Cancel these classes. Everyone on their rosters is emailed that the class is canceled, with your "
                "reason. A past class canceled after the fact only leaves the completion figures."
            ),
            "submit_label": _("Cancel the classes"),
            "opts": self.model._meta,
            "items": [(session.pk, str(session)) for session in sessions],
            "form": form,
            "action": "cancel_sessions",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/action_form.html", context)

    @admin.action(description=_("Delete (only sessions without attendance)"), permissions=["delete"])
    def delete_sessions(self, request, queryset):
        deleted, kept = delete_sessions(sessions=queryset)
        if deleted:
            self.message_user(request, ngettext("Deleted %d session.", "Deleted %d sessions.", deleted) % deleted)
        for session in kept:
            self.message_user(request, _KEPT % {"session": session}, messages.ERROR)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        # Django's "delete selected" would cascade to attendance: the action above keeps those sessions.
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        session = self.get_object(request, object_id)
        if session is not None and has_studio_records(session):
            self.message_user(request, _KEPT % {"session": session}, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:attendance_classsession_change", args=[session.pk]))
        return super().delete_view(request, object_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        # Moving a session that holds records would move who came, who was excused and who made up a class to
        # another class or date.
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and has_studio_records(obj):
            return ["course", "slot", "session_date", *fields]
        return fields

    @admin.display(description=_("time"), ordering="start_time")
    def hours(self, obj):
        return time_range(obj.start_time, obj.end_time)

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


@admin.action(description=_("Export to CSV"), permissions=["export_contacts"])
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
class AttendanceRecordAdmin(ViewOnly, ExportsContacts, admin.ModelAdmin):
    """Attendance records, read-only: they are written on the session's roster page (the door tablet), which checks
    the roster, the session's date and who marks. A correction is made there too."""

    list_display = ["session", "student", "status", "marked_by", "marked"]
    list_filter = ["status", "session__course"]
    search_fields = [
        "student__first_name",
        "student__last_name",
        "student__email",
        "session__course__name",
    ]
    list_select_related = ["session__course", "student", "marked_by"]
    marked = moment_field("marked_at", _("marked at"))
    date_hierarchy = "marked_at"
    actions = [export_attendance_csv]
    fields = ["session", "roster_link", "student", "status", "marked_by", "marked_at"]
    readonly_fields = fields

    @admin.display(description=_("roster"))
    def roster_link(self, obj):
        url = reverse("attendance:detail", args=[obj.session_id])
        return format_html('<a href="{}">{}</a>', url, _("Correct it on the roster"))


class _ReadOnlyAdmin(ViewOnly, admin.ModelAdmin):
    """Written by the services only (the student's link and portal, the studio's actions); the admin reads them."""


@admin.register(Absence)
class AbsenceAdmin(_ReadOnlyAdmin):
    """Excused absences ("can't make it"): who, which class, when and how they told us, whether a make-up came with it."""

    told = moment_field("reported_at", _("told us at"))
    undone = moment_field("undone_at", _("undone at"))
    list_display = ["session", "student", "told", "channel", "makeup_granted", "undone"]
    list_filter = ["makeup_granted", "channel", "session__course"]
    search_fields = ["student__first_name", "student__last_name", "student__email", "session__course__name"]
    list_select_related = ["session__course", "student"]
    date_hierarchy = "reported_at"
    fields = ["session", "student", "registration", "told", "channel", "makeup_granted", "undone"]
    readonly_fields = fields


@admin.register(MakeUp)
class MakeUpAdmin(_ReadOnlyAdmin):
    """Make-up classes booked for excused absences; the studio may cancel one (the make-up goes back to the student)."""

    booked = moment_field("booked_at", _("booked at"))
    canceled = moment_field("canceled_at", _("canceled at"))
    list_display = ["session", "student", "missed_class", "status", "booked", "canceled"]
    list_filter = ["status", "session__course"]
    search_fields = ["student__first_name", "student__last_name", "student__email", "session__course__name"]
    list_select_related = ["session__course", "student", "absence__session__course"]
    date_hierarchy = "booked_at"
    fields = ["session", "student", "absence", "status", "booked", "canceled", "canceled_by_studio"]
    readonly_fields = fields
    actions = ["cancel_makeups"]

    @admin.display(description=_("instead of"))
    def missed_class(self, obj):
        return obj.absence.session

    def has_cancel_permission(self, request):
        # The admin edits no make-up (ViewOnly), but cancelling one is a change: it needs change_makeup.
        return request.user.has_perm("attendance.change_makeup")

    @admin.action(description=_("Cancel (the make-up goes back to the student)"), permissions=["cancel"])
    def cancel_makeups(self, request, queryset):
        canceled = sum(cancel_makeup(makeup=makeup, by_studio=True) for makeup in queryset)
        self.message_user(request, ngettext("Canceled %d make-up.", "Canceled %d make-ups.", canceled) % canceled)
