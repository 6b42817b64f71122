"""The admin pages that compose several apps: a course with its registrations and attendance, a student with everything
the studio holds about them, the studio's email log and settings with moments in the portal's words. Each app's own admin edits its own rows; these extend them from the top floor, which may
import every app (as Django's docs extend the User admin: unregister, then register the extended one).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
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
from dance_portal.crew import crew_eligibility
from dance_portal.forms import CrewEligibilityForm
from dance_portal.student_data import CannotErase, erase_student, student_data
from registrations.admin_ledger import StudentCreditInline
from registrations.models import Registration
from students.admin import StudentAdmin
from students.models import Student
from students.services import classify_students
from studio.admin import EmailLogAdmin, SystemSettingAdmin
from studio.admin_site import ViewOnly
from studio.models import EmailLog, SystemSetting
from waitlist.models import WaitlistEntry

ACTIVE_REGISTRATIONS = Q(registrations__payment_status__in=Registration.ACTIVE_STATUSES)
CREW_MEMBER = Student.StudentType.CREW_MEMBER


class ReadOnlyInline(ViewOnly, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


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
    """The student's page with their registrations and waitlist places, and their data: download it (JSON), read
    it, or erase it on request (dance_portal/student_data.py)."""

    inlines = [RegistrationInline, WaitlistEntryInline, StudentCreditInline]
    list_display = [name if name != "created_at" else "created" for name in StudentAdmin.list_display]
    created = moment_field("created_at", _("created at"))
    change_form_template = "admin/students/student/change_form.html"

    # --- crew eligibility: who attends enough to join the crew (dance_portal/crew.py) --------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("crew-eligibility/", view(self.crew_eligibility_view), name="students_student_crew_eligibility"),
            path("<int:student_id>/data/", view(self.data_view), name="students_student_data"),
            path("<int:student_id>/data.json", view(self.data_json_view), name="students_student_data_json"),
            path("<int:student_id>/erase/", view(self.erase_view), name="students_student_erase"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        context = {"crew_eligibility_url": reverse("admin:students_student_crew_eligibility"), **(extra_context or {})}
        return super().changelist_view(request, context)

    def crew_eligibility_view(self, request):
        """The report (GET: courses, period, threshold) and its "Make crew member" (POST: the ticked students)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = CrewEligibilityForm(request.GET or None, initial=CrewEligibilityForm.initial_values())
        candidates = None
        if form.is_valid():
            data = form.cleaned_data
            candidates = crew_eligibility(
                courses=list(data["courses"]), start=data["start"], end=data["end"], threshold=data["threshold"]
            )
            if request.method == "POST":
                if not self.has_change_permission(request):
                    raise PermissionDenied
                return self._make_crew_from_report(request, candidates, data)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Crew eligibility"),
            "subtitle": None,
            "opts": self.model._meta,
            "form": form,
            "candidates": candidates,
            "can_classify": self.has_change_permission(request),
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/students/student/crew_eligibility.html", context)

    def _make_crew_from_report(self, request, candidates, data):
        """Classify the ticked general students of the report as crew members (students.services.classify_students),
        each recorded on their History page with the figures that qualified them."""
        ticked = set(request.POST.getlist("student"))
        chosen = [c for c in candidates if str(c.student.pk) in ticked and c.student.student_type != CREW_MEMBER]
        if not chosen:
            self.message_user(request, _("Tick the students to make crew members."), messages.WARNING)
            return HttpResponseRedirect(request.get_full_path())
        count = classify_students(students=[c.student for c in chosen], student_type=CREW_MEMBER, by=request.user)
        period = formatting.date_range(data["start"], data["end"])
        courses = ", ".join(course.name for course in data["courses"])
        for candidate in chosen:
            self.log_change(
                request,
                candidate.student,
                _(
                    "Made a crew member from the crew eligibility report: %(percent)d%% (%(attended)d of %(held)d "
                    "classes) in %(courses)s, %(period)s."
                )
                % {
                    "percent": candidate.percent,
                    "attended": candidate.attended,
                    "held": candidate.held,
                    "courses": courses,
                    "period": period,
                },
            )
        self.message_user(
            request,
            ngettext("Made %(count)d student a crew member.", "Made %(count)d students crew members.", count)
            % {"count": count},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(request.get_full_path())

    # --- a student's data: read, download, erase (dance_portal/student_data.py) ---------------------------------

    def _student_or_404(self, request, student_id, *, change: bool = False) -> Student:
        student = self.get_object(request, str(student_id))
        if student is None:
            raise Http404("No such student")
        allowed = self.has_change_permission(request, student) if change else self.has_view_permission(request, student)
        if not allowed or not request.user.has_perm("students.export_contacts"):
            raise PermissionDenied
        return student

    def data_view(self, request, student_id):
        """Everything the portal holds about the student, as a page to read."""
        student = self._student_or_404(request, student_id)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Data held about %(name)s") % {"name": student.full_name},
            "subtitle": None,
            "opts": self.opts,
            "original": student,
            "data": student_data(student),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/students/student/data.html", context)

    def data_json_view(self, request, student_id):
        """The same as a JSON file to hand to the student."""
        student = self._student_or_404(request, student_id)
        response = JsonResponse(student_data(student), json_dumps_params={"ensure_ascii": False, "indent": 2})
        response["Content-Disposition"] = f'attachment; filename="student-{student.pk}.json"'
        return response

    def erase_view(self, request, student_id):
        """GET asks "erase this student's personal data?"; POST erases it through the service."""
        student = self._student_or_404(request, student_id, change=True)
        change_url = reverse("admin:students_student_change", args=[student.pk])
        if request.method == "POST":
            try:
                erase_student(student=student)
            except CannotErase as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, _("The student's personal data is erased; their records stay, anonymised."))
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase %(name)s's personal data?") % {"name": student.full_name},
            "subtitle": None,
            "opts": self.opts,
            "original": student,
            "change_url": change_url,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/students/student/erase.html", context)


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
