import unicodedata

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


def normalize_domain(domain: str) -> str:
    """A mail domain written one way: NFKC, lower case, then through IDNA and back (fullwidth `ｅxample.org` is
    `example.org`, `BÜCHER.example` and `xn--bcher-kva.example` are `bücher.example`). A domain IDNA refuses is only
    NFKC'd and lower-cased (the email validator then refuses it)."""
    domain = unicodedata.normalize("NFKC", domain).lower()
    try:
        return domain.encode("idna").decode("idna")
    except UnicodeError:
        return domain


def normalize_email(email: str) -> str:
    """The one written form of an address, to compare and to store: trimmed, its domain normalized (normalize_domain:
    two spellings of one mailbox are one student) and, when it is ASCII, its local part lower-cased in Python
    (SQLite's LOWER() folds ASCII only, docs/bad-inputs.md #16). A non-ASCII local part is left as typed, for
    validate_deliverable_email to refuse: lower-casing could turn it into someone else's address (K, the Kelvin sign,
    becomes k)."""
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at:
        return email.lower()
    return f"{local.lower() if local.isascii() else local}@{normalize_domain(domain)}"


def validate_deliverable_email(value: str) -> None:
    """Refuse an address the mailer cannot send to: a local part (before the @) with letters outside ASCII, such as
    `ıvan@` or `ſam@`, which Django's email validator lets through but SMTP without SMTPUTF8 cannot deliver."""
    local = str(value).rpartition("@")[0]
    if not local.isascii():
        raise ValidationError(
            _(
                "We cannot send email to an address with letters such as ı, ſ or é before the @. Please check the "
                "address, or use another one."
            ),
            code="undeliverable",
        )


def reject_control_characters(value: str) -> None:
    """Names and phone numbers never contain control characters (NUL breaks PostgreSQL; CR/LF could break a header)."""
    if any(unicodedata.category(char) == "Cc" for char in str(value)):
        raise ValidationError(_("Remove the special (control) characters from this field."), code="control_characters")


class StudentType(models.TextChoices):
    GENERAL = "general", _("General")
    CREW_MEMBER = "crew_member", _("Crew member")


class DanceExperience(models.TextChoices):
    BEGINNER = "beginner", _("Beginner")
    INTERMEDIATE = "intermediate", _("Intermediate")
    ADVANCED = "advanced", _("Advanced")
    PROFESSIONAL = "professional", _("Professional")


class Student(models.Model):
    # Enums live at module level so Meta.constraints can name them; reached as Model.Enum.
    StudentType = StudentType
    DanceExperience = DanceExperience

    email = models.EmailField(_("email"), max_length=254, validators=[validate_deliverable_email])
    first_name = models.CharField(_("first name"), max_length=100, validators=[reject_control_characters])
    last_name = models.CharField(_("last name"), max_length=100, validators=[reject_control_characters])
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[reject_control_characters])
    instagram_handle = models.CharField(
        _("Instagram handle"), max_length=31, blank=True, validators=[reject_control_characters]
    )
    dance_experience = models.CharField(_("dance experience"), max_length=20, choices=DanceExperience, blank=True)
    student_type = models.CharField(_("student type"), max_length=20, choices=StudentType, default=StudentType.GENERAL)
    profile_complete = models.BooleanField(_("profile complete"), default=False)
    admin_classified = models.BooleanField(
        _("classified by an admin"), default=False, help_text=_("Set when an admin has reviewed the student type.")
    )
    classified_at = models.DateTimeField(_("classified at"), null=True, blank=True)
    # Portal: a sign-in link is valid only while this is what it was when the link was made (single use).
    last_portal_login_at = models.DateTimeField(_("last signed in to the portal"), null=True, blank=True)
    # Portal: the secret in the student's calendar feed address; made on first use, replaced to revoke the old one.
    calendar_token = models.CharField(
        _("calendar feed token"), max_length=64, null=True, blank=True, unique=True, editable=False
    )
    erased_at = models.DateTimeField(
        _("personal data erased at"), null=True, blank=True, help_text=_("Their records stay, without their details.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        permissions = [("export_contacts", _("Can export students' contact details"))]
        ordering = ["last_name", "first_name", "pk"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="%(app_label)s_%(class)s_email_ci_unique"),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="%(app_label)s_%(class)s_email_lowercase"),
            models.CheckConstraint(
                condition=Q(student_type__in=StudentType.values), name="%(app_label)s_%(class)s_student_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(dance_experience__in=[*DanceExperience.values, ""]),
                name="%(app_label)s_%(class)s_dance_experience_valid",
            ),
            # Only an admin makes a crew member, and classifying records when.
            models.CheckConstraint(
                condition=Q(student_type="general") | Q(admin_classified=True),
                name="%(app_label)s_%(class)s_crew_member_is_classified",
            ),
            models.CheckConstraint(
                condition=Q(admin_classified=False) | Q(classified_at__isnull=False),
                name="%(app_label)s_%(class)s_classified_has_classified_at",
            ),
        ]
        # Lookups compare the stored (lower-case) address as it is: `filter(email=...)` cannot use the Lower() index.
        indexes = [models.Index(fields=["email"], name="students_email_idx")]

    def __str__(self):
        return f"{self.full_name} <{self.email}>"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def has_complete_profile(self) -> bool:
        """What `profile_complete` records: first name, last name and phone are all filled in."""
        return bool(self.first_name and self.last_name and self.phone)

    @property
    def is_crew_member(self) -> bool:
        return self.student_type == self.StudentType.CREW_MEMBER

    def clean(self):
        self.email = normalize_email(self.email or "")
