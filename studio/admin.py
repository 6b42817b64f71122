"""Admin for the studio's settings, logo and email log."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from studio import emails
from studio.branding import LOGO_MAX_BYTES, sniff_image, versioned_logo_url
from studio.config import DEFINITIONS, studio_settings
from studio.models import EmailLog, StudioLogo, SystemSetting
from studio.services import save_setting


def missing_setting_keys() -> list[str]:
    """The settings that still run on their default (no row yet), in the registry's order."""
    stored = set(SystemSetting.objects.values_list("setting_key", flat=True))
    return [key for key in DEFINITIONS if key not in stored]


class SystemSettingForm(forms.ModelForm):
    """A setting row; the value is checked per key by SystemSetting.clean() (studio.config.parse_setting)."""

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


def settings_overview() -> list[dict]:
    """Every known setting, with or without a row: key, description, current value, default, its row if any."""
    rows = {row.setting_key: row for row in SystemSetting.objects.all()}
    current = studio_settings()
    return [
        {
            "key": key,
            "description": definition.description,
            "value": format_default(getattr(current, key)),
            "default": format_default(definition.default),
            "row": rows.get(key),
            "is_default": key not in rows or getattr(current, key) == definition.default,
        }
        for key, definition in DEFINITIONS.items()
    ]


@admin.register(SystemSetting)
class SystemSettingAdmin(admin.ModelAdmin):
    form = SystemSettingForm
    change_list_template = "admin/studio/systemsetting/change_list.html"
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

    def get_changeform_initial_data(self, request):
        # "Set" links of the overview open the add form with the key chosen (?setting_key=...).
        initial = super().get_changeform_initial_data(request)
        if initial.get("setting_key") not in DEFINITIONS:
            initial.pop("setting_key", None)
        return initial

    def save_model(self, request, obj, form, change):
        # Through the settings service, the one writer of settings (the form has checked the value already).
        saved = save_setting(key=obj.setting_key, value=obj.setting_value, description=obj.description)
        obj.updated_at = saved.updated_at

    def changelist_view(self, request, extra_context=None):
        context = {
            "settings_overview": settings_overview(),
            "has_change_permission": self.has_change_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

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
    actions = ["resend"]
    fields = [
        "kind",
        "to_email",
        "subject",
        "status",
        "delivery_note",
        "error",
        "dedupe_key",
        "about_link",
        "created_at",
        "sent_at",
        "attempts",
        "message_id",
        "body_text",
        "body_html",
    ]
    readonly_fields = fields

    @admin.display(description=_("delivery"))
    def delivery_note(self, obj):
        return obj.delivery_note or "–"

    @admin.display(description=_("Message-ID"))
    def message_id(self, obj):
        return emails.message_id(obj)

    @admin.display(description=_("about"))
    def about_link(self, obj):
        """A link to the admin page of the row the email is about (a registration, a waitlist entry...)."""
        about = obj.about
        if about is None:
            return "–"
        url = reverse(f"admin:{about._meta.app_label}_{about._meta.model_name}_change", args=[about.pk])
        return format_html('<a href="{}">{}</a>', url, about)

    def has_resend_permission(self, request):
        # Resending writes a new row: the "add" permission (the add form itself stays closed).
        return request.user.has_perm(f"{self.opts.app_label}.add_{self.opts.model_name}")

    @admin.action(description=_("Resend"), permissions=["resend"])
    def resend(self, request, queryset):
        """A copy of each email; a sign-in or offer email gets a fresh link, or is refused with the reason."""
        copies = []
        for log in queryset.order_by("created_at", "pk"):
            try:
                copies.append(emails.resend_email(log=log))
            except emails.ResendRefused as refusal:
                self.message_user(
                    request,
                    _("Not resent: %(email)s. %(reason)s") % {"email": log, "reason": refusal},
                    messages.ERROR,
                )
        skipped = sum(copy.status == EmailLog.Status.SKIPPED for copy in copies)
        if copies:
            self.message_user(
                request,
                ngettext("Resent %(count)d email.", "Resent %(count)d emails.", len(copies)) % {"count": len(copies)},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request, _("Email notifications are off: the copies were recorded but not sent."), messages.WARNING
            )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StudioLogoForm(forms.ModelForm):
    """The logo upload: PNG, JPEG or WebP up to 512 kB, recognised by its first bytes, not its name or browser type."""

    upload = forms.FileField(
        label=_("Logo file"),
        help_text=_("PNG, JPEG or WebP, at most 512 kB. Shown about 32 pixels high in the header."),
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )

    class Meta:
        model = StudioLogo
        fields = []

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        if upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(_("This file is too large: a logo may be at most 512 kB."))
        data = upload.read(LOGO_MAX_BYTES + 1)
        if len(data) > LOGO_MAX_BYTES:
            raise forms.ValidationError(_("This file is too large: a logo may be at most 512 kB."))
        # The bytes decide, never the file name or the browser's type: SVG and HTML can carry scripts.
        sniffed = sniff_image(data)
        if sniffed is None:
            raise forms.ValidationError(_("Upload a PNG, JPEG or WebP image (SVG and other files are refused)."))
        # The image's own fields are not form fields: set them on the row the admin saves.
        logo = self.instance
        logo.data, (logo.content_type, logo.width, logo.height) = data, sniffed
        return upload


@admin.register(StudioLogo)
class StudioLogoAdmin(admin.ModelAdmin):
    """One logo at most: add it, replace it by uploading another, or delete it to show the studio name again."""

    form = StudioLogoForm
    list_display = ["__str__", "preview", "content_type", "width", "height", "updated_at"]
    readonly_fields = ["preview", "content_type", "width", "height", "updated_at"]

    def get_fields(self, request, obj=None):
        return ["upload", *self.readonly_fields] if obj is not None else ["upload"]

    def add_view(self, request, form_url="", extra_context=None):
        # One row at most: with a logo there, "add" is replacing it. (Checked here, not in has_add_permission,
        # which every admin page's app list would pay for with a query.)
        if StudioLogo.objects.exists():
            return redirect(reverse("admin:studio_studiologo_change", args=[1]))
        return super().add_view(request, form_url, extra_context)

    @admin.display(description=_("preview"))
    def preview(self, obj):
        return format_html('<img src="{}" alt="" height="48">', versioned_logo_url(obj.updated_at))
