from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from registrations.models import Registration
from students.classification import classify_students
from students.models import Student, normalize_email
from waitlist.models import WaitlistEntry


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
            "admin_classified",
            "profile_complete",
        ]

    def clean_email(self):
        # The DB's case-insensitive constraint would only say "constraint violated"; say what is wrong instead.
        email = normalize_email(self.cleaned_data["email"])
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


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    form = StudentAdminForm
    inlines = [RegistrationInline, WaitlistEntryInline]
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
    readonly_fields = ["classified_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["first_name", "last_name", "email", "phone", "instagram_handle", "dance_experience"]}),
        (_("Classification"), {"fields": ["student_type", "admin_classified", "classified_at", "profile_complete"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        # An admin choosing the student type is the classification (SPEC: "that sets admin_classified").
        if "student_type" in form.changed_data:
            obj.admin_classified = True
        if obj.admin_classified and ("admin_classified" in form.changed_data or "student_type" in form.changed_data):
            obj.classified_at = timezone.now()
        super().save_model(request, obj, form, change)

    def _classify(self, request, queryset, student_type: str):
        count = classify_students(students=queryset, student_type=student_type, by=request.user)
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
