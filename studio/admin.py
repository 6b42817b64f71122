"""Admin for the studio's settings, logo and email log."""

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.csp import CSP
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from studio import emails
from studio.branding import LOGO_MAX_BYTES, sniff_image, versioned_logo_url
from studio.config import DEFINITIONS, studio_settings
from studio.models import EmailLog, StudioLogo, SystemSetting
from studio.services import save_setting


def django_moment(value) -> str:
    """A moment as Django writes it. The project's admin (dance_portal/admin.py) sets these admins' `moment_text` to
    the portal's words, which live above this floor (courses/formatting.py)."""
    return formats.localize(timezone.template_localtime(value)) if value is not None else ""


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
    list_display = ["setting_key", "setting_value", "default_value", "setting_description", "updated"]
    search_fields = ["setting_key", "setting_value", "description"]
    fields = ["setting_key", "setting_value", "description", "updated"]

    def get_fields(self, request, obj=None):
        return self.fields if obj is not None else ["setting_key", "setting_value", "description"]

    def get_readonly_fields(self, request, obj=None):
        # The key is the row's identity: to use another key, add that setting.
        return ["setting_key", "updated"] if obj is not None else ["updated"]

    moment_text = staticmethod(django_moment)  # the project's admin sets the portal's words

    @admin.display(description=_("updated at"), ordering="updated_at")
    def updated(self, obj):
        return self.moment_text(obj.updated_at) or self.get_empty_value_display()

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


class EmailKindFilter(admin.SimpleListFilter):
    """The kinds of email by their names in the log (studio.emails.KIND_LABELS), not their codes."""

    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return sorted(((kind, emails.kind_label(kind)) for kind in emails.KIND_LABELS), key=lambda lookup: lookup[1])

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


# What the HTML body of an email may do in its preview: show itself with its own inline styles, and nothing else
# (no script, no image, no font or request of any kind, no form); only the admin's own pages may frame it.
EMAIL_PREVIEW_CSP = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.NONE],
    "frame-ancestors": [CSP.SELF],
}


@admin.register(EmailLog)
class EmailLogAdmin(admin.ModelAdmin):
    """The record of every email: read-only. The text body is shown as text; the HTML body as the student sees it,
    in a sandboxed frame (no scripts, no images) served by its own URL, and as escaped source."""

    list_display = ["created", "kind_name", "to_email", "subject", "status", "sent"]
    list_filter = ["status", EmailKindFilter]
    search_fields = ["to_email", "subject", "kind", "dedupe_key"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "kind_name",
                    "to_email",
                    "subject",
                    "status",
                    "delivery_note",
                    "error",
                    "dedupe_key",
                    "about_link",
                ]
            },
        ),
        (None, {"fields": ["created", "sent", "attempts", "message_id"]}),
        (_("Body"), {"fields": ["bodies"]}),
        (_("HTML source"), {"fields": ["body_html"], "classes": ["collapse"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]  # every one

    moment_text = staticmethod(django_moment)  # the project's admin sets the portal's words

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, obj):
        return self.moment_text(obj.created_at) or self.get_empty_value_display()

    @admin.display(description=_("sent at"), ordering="sent_at")
    def sent(self, obj):
        return self.moment_text(obj.sent_at) or self.get_empty_value_display()

    @admin.display(description=_("kind"), ordering="kind")
    def kind_name(self, obj):
        return emails.kind_label(obj.kind)

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

    @admin.display(description=_("body"))
    def bodies(self, obj):
        """The text body, and beside it the HTML body in a frame sandboxed without any permission: no scripts, no
        forms, no same-origin access; its own CSP blocks images (EMAIL_PREVIEW_CSP)."""
        if not emails.is_rendered(obj):
            return format_html(
                '<p class="quiet">{}</p>',
                _(
                    "Not written yet: it is written from what it is about when it is sent, a moment after it was queued."
                ),
            )
        preview = (
            format_html(
                '<iframe class="email-preview" sandbox src="{}" title="{}" referrerpolicy="no-referrer"></iframe>',
                reverse("admin:studio_emaillog_preview", args=[obj.pk]),
                _("The HTML email as the student sees it, images blocked"),
            )
            if obj.body_html
            else format_html('<p class="quiet">{}</p>', _("This email has no HTML body."))
        )
        return format_html(
            '<div class="email-bodies"><div><h3>{}</h3><pre>{}</pre></div><div><h3>{}</h3>{}</div></div>',
            _("Text"),
            obj.body_text,
            _("HTML as the student sees it (images blocked)"),
            preview,
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="studio_emaillog_preview",
            ),
            *super().get_urls(),
        ]

    @method_decorator(xframe_options_sameorigin)
    def preview_view(self, request, object_id):
        """The stored HTML body alone, for the sandboxed frame of the email's page."""
        log = self.get_object(request, object_id)
        if log is None or not self.has_view_permission(request, log):
            raise Http404
        response = HttpResponse(log.body_html, content_type="text/html; charset=utf-8")
        response._csp_config = EMAIL_PREVIEW_CSP  # what django.views.decorators.csp.csp_override sets
        response["Referrer-Policy"] = "no-referrer"
        return response

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
