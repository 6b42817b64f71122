"""The admin pages that compose several apps: a course with its registrations and attendance, a student with everything
the studio holds about them, the studio's email log and settings with moments in the portal's words. Each app's own admin edits its own rows; these extend them from the top floor, which may
import every app (as Django's docs extend the User admin: unregister, then register the extended one).
"""

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from attendance.admin import ClassSessionAdmin
from attendance.models import ClassSession
from attendance.services import generate_class_sessions
from class_messages.admin import MessageClassAdminMixin
from courses import formatting
from courses.admin import CourseAdmin, CourseSlotAdmin
from courses.admin_columns import moment_field
from courses.models import Course, CourseSlot
from registrations.models import Registration
from students.admin import StudentAdmin
from students.models import Student
from studio.admin import EmailLogAdmin, SystemSettingAdmin
from studio.models import EmailLog, SystemSetting
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
    inlines = [RegistrationInline, WaitlistEntryInline]
    list_display = [name if name != "created_at" else "created" for name in StudentAdmin.list_display]
    created = moment_field("created_at", _("created at"))


class StudioCourseAdmin(MessageClassAdminMixin, CourseAdmin):
    """The course page with what the studio runs on it: registrations counted, attendance linked, sessions made, a
    message to its students."""

    list_display = [*CourseAdmin.list_display[:-2], "active_registration_count", *CourseAdmin.list_display[-2:]]
    readonly_fields = ["attendance_links", *CourseAdmin.readonly_fields]
    fieldsets = [
        *CourseAdmin.fieldsets[:-1],
        (_("Attendance"), {"fields": ["attendance_links"]}),
        CourseAdmin.fieldsets[-1],
    ]
    actions = ["generate_sessions", "message_class"]

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


class StudioCourseSlotAdmin(MessageClassAdminMixin, CourseSlotAdmin):
    actions = ["message_class"]
    list_display = [*CourseSlotAdmin.list_display[:3], "active_registration_count", *CourseSlotAdmin.list_display[3:]]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_active_registrations=Count("registrations", filter=ACTIVE_REGISTRATIONS))
        )

    @admin.display(description=_("registered"), ordering="_active_registrations")
    def active_registration_count(self, obj):
        return obj._active_registrations


class StudioClassSessionAdmin(MessageClassAdminMixin, ClassSessionAdmin):
    actions = [*ClassSessionAdmin.actions, "message_class"]


class StudioEmailLogAdmin(EmailLogAdmin):
    moment_text = staticmethod(formatting.moment)


class StudioSystemSettingAdmin(SystemSettingAdmin):
    moment_text = staticmethod(formatting.moment)


for model, model_admin in [
    (Student, StudioStudentAdmin),
    (Course, StudioCourseAdmin),
    (CourseSlot, StudioCourseSlotAdmin),
    (ClassSession, StudioClassSessionAdmin),
    (EmailLog, StudioEmailLogAdmin),
    (SystemSetting, StudioSystemSettingAdmin),
]:
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
