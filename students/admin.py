from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from students.models import Student, normalize_email


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


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    form = StudentAdminForm
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
    list_filter = ["admin_classified", "student_type", "dance_experience", "profile_complete"]
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
