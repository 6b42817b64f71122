"""Admin for students. A student's type is changed only through students.services.classify_students (only an admin
makes a crew member). What the student page shows of registrations, waitlists and the rest is added by the project's
admin (dance_portal/admin.py), which stands above those apps.
"""

from collections import Counter

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import NestedObjects
from django.db import router
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from students import services
from students.forms import clean_typed_email
from students.models import Student


class StudentAdminForm(forms.ModelForm):
    class Meta:
        model = Student
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "instagram_handle",
            "dance_experience",
            "student_type",
        ]

    def clean_email(self):
        # The DB's case-insensitive constraint would only say "constraint violated"; say what is wrong instead.
        email = clean_typed_email(self.cleaned_data["email"])
        services.check_email_free(email, exclude=self.instance)
        return email


_KEPT = _(
    "%(student)s cannot be deleted: %(records)s name them, and those are the studio's records (payments, attendance, "
    "history), which are kept. Leave the student as they are; they only register again if they choose to."
)


class ExportsContacts:
    """Mixed into the admins whose CSV exports carry students' contact details: such an action, declared with
    permissions=["export_contacts"], needs students.export_contacts (the Studio admin has it, an Instructor not)."""

    def has_export_contacts_permission(self, request):
        return request.user.has_perm("students.export_contacts")


class ToClassifyFilter(admin.SimpleListFilter):
    """The studio's "to classify" list: students no admin has reviewed yet."""

    title = _("to classify")
    parameter_name = "to_classify"

    def lookups(self, request, model_admin):
        return [("yes", _("To classify")), ("no", _("Classified"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(admin_classified=False)
        if self.value() == "no":
            return queryset.filter(admin_classified=True)
        return queryset


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    form = StudentAdminForm
    actions = ["make_crew_member", "make_general", "delete_students"]
    list_display = [
        "last_name",
        "first_name",
        "email",
        "phone",
        "instagram_handle",
        "student_type",
        "admin_classified",
        "profile_complete",
        "created_at",
    ]
    list_display_links = ["last_name", "first_name"]
    # "Not classified by an admin" is the studio's "to classify" list.
    list_filter = [ToClassifyFilter, "student_type", "dance_experience", "profile_complete"]
    search_fields = ["first_name", "last_name", "email", "phone", "instagram_handle"]
    date_hierarchy = "created_at"
    readonly_fields = ["admin_classified", "classified_at", "profile_complete", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["first_name", "last_name", "email", "phone", "instagram_handle", "dance_experience"]}),
        (_("Classification"), {"fields": ["student_type", "admin_classified", "classified_at", "profile_complete"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    def _kept_records(self, request, student) -> list[str]:
        """What keeps `student` from being deleted: the rows of other apps that name them (registrations, waitlist
        places, attendance...), as "3 registrations"; empty when nothing does."""
        collector = NestedObjects(using=router.db_for_write(Student))
        collector.collect([student])
        counts = Counter(type(row) for row in collector.protected)
        return [
            f"{count} {model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural}"
            for model, count in sorted(counts.items(), key=lambda item: item[0]._meta.label)
        ]

    def delete_view(self, request, object_id, extra_context=None):
        student = self.get_object(request, object_id)
        kept = self._kept_records(request, student) if student is not None else []
        if kept:
            self.message_user(
                request, _KEPT % {"student": student.full_name, "records": ", ".join(kept)}, messages.ERROR
            )
            return HttpResponseRedirect(reverse("admin:students_student_change", args=[student.pk]))
        return super().delete_view(request, object_id, extra_context)

    @admin.action(description=_("Delete (only students without records)"), permissions=["delete"])
    def delete_students(self, request, queryset):
        deleted = 0
        for student in queryset:
            kept = self._kept_records(request, student)
            if kept:
                self.message_user(
                    request, _KEPT % {"student": student.full_name, "records": ", ".join(kept)}, messages.ERROR
                )
            else:
                student.delete()
                deleted += 1
        if deleted:
            self.message_user(request, ngettext("Deleted %d student.", "Deleted %d students.", deleted) % deleted)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        # Django's "delete selected" would say "your account doesn't have permission": the action above says why.
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        # Choosing the student type is the classification: the one service does it (and sets admin_classified).
        new_type = obj.student_type
        if "student_type" in form.changed_data:
            obj.student_type = form.initial.get("student_type", Student.StudentType.GENERAL)
        services.save_student_by_admin(student=obj)
        if "student_type" in form.changed_data:
            services.classify_students(students=[obj], student_type=new_type, by=request.user)
            obj.refresh_from_db()

    def _classify(self, request, queryset, student_type: str):
        students = list(queryset)
        count = services.classify_students(students=students, student_type=student_type, by=request.user)
        label = Student.StudentType(student_type).label
        # Who classified, and when, on each student's History page (a student row keeps only when).
        for student in students:
            self.log_change(request, student, _("Classified as “%(type)s”.") % {"type": label})
        self.message_user(
            request,
            ngettext(
                "Classified %(count)d student as “%(type)s”.",
                "Classified %(count)d students as “%(type)s”.",
                count,
            )
            % {"count": count, "type": label},
            messages.SUCCESS,
        )

    @admin.action(description=_("Make crew member"), permissions=["change"])
    def make_crew_member(self, request, queryset):
        self._classify(request, queryset, Student.StudentType.CREW_MEMBER)

    @admin.action(description=_("Make general"), permissions=["change"])
    def make_general(self, request, queryset):
        self._classify(request, queryset, Student.StudentType.GENERAL)
