"""The admin pages that compose several apps: a course with its registrations and attendance, a student with everything
the studio holds about them. Each app's own admin edits its own rows; these extend them from the top floor, which may
import every app (as Django's docs extend the User admin: unregister, then register the extended one).
"""

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from attendance.services import generate_class_sessions
from courses.admin import CourseAdmin, CourseSlotAdmin
from courses.models import Course, CourseSlot
from registrations.admin_ledger import StudentCreditInline
from registrations.models import Registration
from students.admin import StudentAdmin
from students.models import Student
from waitlist.models import WaitlistEntry

ACTIVE_REGISTRATIONS = Q(registrations__payment_status__in=Registration.ACTIVE_STATUSES)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RegistrationInline(ReadOnlyInline):
    """The student's registrations; they change only through the registration actions."""

    model = Registration
    fields = [
        "reference",
        "course",
        "slot",
        "pricing_type",
        "class_date",
        "payment_status",
        "payment_amount",
        "created_at",
    ]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("course", "slot__course")


class WaitlistEntryInline(ReadOnlyInline):
    model = WaitlistEntry
    fields = ["course", "waitlist_position", "status", "preferred_slot", "offer_expires_at", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("course", "preferred_slot__course")


class StudioStudentAdmin(StudentAdmin):
    inlines = [RegistrationInline, WaitlistEntryInline, StudentCreditInline]


class StudioCourseAdmin(CourseAdmin):
    """The course page with what the studio runs on it: registrations counted, attendance linked, sessions made."""

    list_display = [*CourseAdmin.list_display[:-2], "active_registration_count", *CourseAdmin.list_display[-2:]]
    readonly_fields = ["attendance_links", *CourseAdmin.readonly_fields]
    fieldsets = [
        *CourseAdmin.fieldsets[:-1],
        (_("Attendance"), {"fields": ["attendance_links"]}),
        CourseAdmin.fieldsets[-1],
    ]
    actions = ["generate_sessions"]

    @admin.action(description=_("Generate class sessions"), permissions=["change"])
    def generate_sessions(self, request, queryset):
        created = sum(len(generate_class_sessions(course=course)) for course in queryset)
        self.message_user(request, ngettext("Created %d session.", "Created %d sessions.", created) % created)

    @admin.display(description=_("attendance"))
    def attendance_links(self, obj):
        if obj.pk is None:
            return "–"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("attendance:completion", args=[obj.pk]),
            _("Completion (students × sessions)"),
            reverse("attendance:export", args=[obj.pk]),
            _("Export CSV"),
        )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_active_registrations=Count("registrations", filter=ACTIVE_REGISTRATIONS, distinct=True))
        )

    @admin.display(description=_("registered"), ordering="_active_registrations")
    def active_registration_count(self, obj):
        return obj._active_registrations


class StudioCourseSlotAdmin(CourseSlotAdmin):
    list_display = [*CourseSlotAdmin.list_display[:5], "active_registration_count", *CourseSlotAdmin.list_display[5:]]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_active_registrations=Count("registrations", filter=ACTIVE_REGISTRATIONS))
        )

    @admin.display(description=_("registered"), ordering="_active_registrations")
    def active_registration_count(self, obj):
        return obj._active_registrations


for model, model_admin in [
    (Student, StudioStudentAdmin),
    (Course, StudioCourseAdmin),
    (CourseSlot, StudioCourseSlotAdmin),
]:
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
