"""Admin for students. A student's type is changed only through students.services.classify_students (only an admin
makes a crew member). What the student page shows of registrations, waitlists and the rest is added by the project's
admin (dance_portal/admin.py), which stands above those apps.
"""

from django import forms
from django.contrib import admin, messages
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
        if Student.objects.filter(email=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("A student with this email address already exists."))
        return email


class ToClassifyFilter(admin.SimpleListFilter):
    """The studio's "to classify" list (SPEC §3 Students): students no admin has reviewed yet."""

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
    actions = ["make_crew_member", "make_general"]
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
    # "Not classified by an admin" is the studio's "to classify" list (SPEC §3 Students).
    list_filter = [ToClassifyFilter, "student_type", "dance_experience", "profile_complete"]
    search_fields = ["first_name", "last_name", "email", "phone", "instagram_handle"]
    date_hierarchy = "created_at"
    readonly_fields = ["admin_classified", "classified_at", "profile_complete", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["first_name", "last_name", "email", "phone", "instagram_handle", "dance_experience"]}),
        (_("Classification"), {"fields": ["student_type", "admin_classified", "classified_at", "profile_complete"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

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
        count = services.classify_students(students=queryset, student_type=student_type, by=request.user)
        label = Student.StudentType(student_type).label
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
