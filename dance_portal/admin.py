from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from dance_portal.models import EmailLog, SystemSetting
from dance_portal.studio_settings import DEFINITIONS


def missing_setting_keys() -> list[str]:
    """The settings that still run on their default (no row yet), in the registry's order."""
    stored = set(SystemSetting.objects.values_list("setting_key", flat=True))
    return [key for key in DEFINITIONS if key not in stored]


class SystemSettingForm(forms.ModelForm):
    """A setting row; the value is checked per key by SystemSetting.clean() (studio_settings.parse_setting)."""

    class Meta:
        model = SystemSetting
        fields = ["setting_key", "setting_value", "description"]
        widgets = {"setting_value": forms.TextInput(attrs={"class": "vTextField"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "setting_key" in self.fields:
            # Add form: only the keys that have no row yet (the key is the primary key).
            self.fields["setting_key"].choices = [
                ("", "---------"),
                *((key, f"{key} — {DEFINITIONS[key].description}") for key in missing_setting_keys()),
            ]
        definition = DEFINITIONS.get(self.instance.setting_key)
        if definition is not None:
            self.fields["setting_value"].help_text = _("%(description)s Default: %(default)s.") % {
                "description": definition.description,
                "default": format_default(definition.default) or _("(empty)"),
            }


def format_default(value) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return str(value)


@admin.register(SystemSetting)
class SystemSettingAdmin(admin.ModelAdmin):
    form = SystemSettingForm
    list_display = ["setting_key", "setting_value", "default_value", "setting_description", "updated_at"]
    search_fields = ["setting_key", "setting_value", "description"]
    fields = ["setting_key", "setting_value", "description", "updated_at"]

    def get_fields(self, request, obj=None):
        return self.fields if obj is not None else ["setting_key", "setting_value", "description"]

    def get_readonly_fields(self, request, obj=None):
        # The key is the row's identity: to use another key, add that setting.
        return ["setting_key", "updated_at"] if obj is not None else ["updated_at"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and bool(missing_setting_keys())

    @admin.display(description=_("default"))
    def default_value(self, obj):
        definition = DEFINITIONS.get(obj.setting_key)
        return (format_default(definition.default) or None) if definition else None

    @admin.display(description=_("description"))
    def setting_description(self, obj):
        definition = DEFINITIONS.get(obj.setting_key)
        return obj.description or (definition.description if definition else "")


@admin.register(EmailLog)
class EmailLogAdmin(admin.ModelAdmin):
    """The record of every email: read-only. Bodies are shown as escaped text, never rendered as HTML."""

    list_display = ["created_at", "kind", "to_email", "subject", "status", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to_email", "subject", "kind", "dedupe_key"]
    date_hierarchy = "created_at"
    fields = [
        "kind",
        "to_email",
        "subject",
        "status",
        "error",
        "dedupe_key",
        "created_at",
        "sent_at",
        "body_text",
        "body_html",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
