from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from studio.config import parse_setting


class SystemSetting(models.Model):
    """One studio setting; the keys, types and defaults live in `studio.config`."""

    # Any text here: the admin form offers the known keys, and clean() refuses the others.
    setting_key = models.CharField(_("setting"), max_length=64, primary_key=True)
    setting_value = models.TextField(_("value"), blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("system setting")
        verbose_name_plural = _("system settings")
        ordering = ["setting_key"]

    def __str__(self):
        return f"{self.setting_key} = {self.setting_value}"

    def clean(self):
        try:
            parse_setting(self.setting_key, self.setting_value)
        except ValidationError as error:
            raise ValidationError({"setting_value": error.messages}) from None


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    # Handed to the mail server; a row that stays here was interrupted (the worker killed mid-send): it may have
    # been sent. The worker sends it again (at least once), with the same Message-ID.
    SENDING = "sending", _("Sending – may have been sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped (notifications off)")


class EmailLog(models.Model):
    """Every email the portal sends (or skips, or fails to send), for the admin to read."""

    # Enums live at module level so Meta.constraints can name them; reached as Model.Enum.
    Status = Status

    kind = models.CharField(_("kind"), max_length=40)
    to_email = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.QUEUED)
    error = models.TextField(_("error"), blank=True)
    # Set for emails that must go out at most once (e.g. "payment confirmed:<registration id>").
    # NULL, not "": the unique key holds only for emails that have one (NULLs never clash).
    dedupe_key = models.CharField(_("dedupe key"), max_length=100, null=True, blank=True)  # noqa: DJ001
    # What the email is about (a registration, a waitlist entry, a class session...): any app's row, so that this
    # ground-floor app names no app above it. A resend keeps it.
    about_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("about (type)")
    )
    about_id = models.PositiveBigIntegerField(_("about (id)"), null=True, blank=True)
    about = GenericForeignKey("about_type", "about_id")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Times the email was handed to the mail server: more than one means an attempt was interrupted, so the student
    # may have received it twice (with the same Message-ID).
    attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)

    class Meta:
        verbose_name = _("email")
        verbose_name_plural = _("email log")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=Status.values), name="%(app_label)s_%(class)s_status_valid"),
            models.UniqueConstraint(fields=["dedupe_key"], name="%(app_label)s_%(class)s_dedupe_key_unique"),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="%(app_label)s_%(class)s_sent_has_sent_at"
            ),
            models.CheckConstraint(
                condition=Q(about_type__isnull=True, about_id__isnull=True)
                | Q(about_type__isnull=False, about_id__isnull=False),
                name="%(app_label)s_%(class)s_about_complete",
            ),
        ]
        indexes = [models.Index(fields=["about_type", "about_id"], name="studio_emaillog_about_idx")]

    def __str__(self):
        return f"{self.kind} → {self.to_email}"

    @property
    def delivery_note(self) -> str:
        """What the status means for the admin, where it is not plain: an interrupted send may have gone out."""
        if self.status == Status.SENDING:
            return str(_("May have been sent: sending was interrupted or is under way; the worker retries it."))
        if self.status == Status.SENT and self.attempts > 1:
            return str(_("May have been sent more than once: an earlier attempt was interrupted."))
        return ""


class LogoContentType(models.TextChoices):
    PNG = "image/png", "PNG"
    JPEG = "image/jpeg", "JPEG"
    WEBP = "image/webp", "WebP"


class StudioLogo(models.Model):
    """The studio's logo, at most one row (id 1), stored in the database so every web server can serve it."""

    ContentType = LogoContentType

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    data = models.BinaryField(_("image"), editable=False)
    content_type = models.CharField(_("type"), max_length=20, choices=LogoContentType, editable=False)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("studio logo")
        verbose_name_plural = _("studio logo")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="%(app_label)s_%(class)s_single_row"),
            models.CheckConstraint(
                condition=Q(content_type__in=LogoContentType.values), name="%(app_label)s_%(class)s_type_valid"
            ),
        ]

    def __str__(self):
        return str(_("Studio logo"))
