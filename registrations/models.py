import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from courses.models import Course, CoursePricing, CourseSlot
from students.models import Student

# No 0/O, 1/I/L: references are read aloud and typed into Venmo notes.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 6


def new_reference() -> str:
    return "DRP-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending payment")
    COMPLETED = "completed", _("Paid")
    CANCELED = "canceled", _("Canceled")
    EXPIRED = "expired", _("Expired")


class PaymentMethod(models.TextChoices):
    VENMO = "venmo", _("Venmo")
    ZELLE = "zelle", _("Zelle")


class Registration(models.Model):
    # Enums live at module level so Meta.constraints can name them; reached as Model.Enum.
    PaymentStatus = PaymentStatus
    PaymentMethod = PaymentMethod

    ACTIVE_STATUSES = [PaymentStatus.PENDING, PaymentStatus.COMPLETED]

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference"), max_length=12, unique=True, default=new_reference, editable=False)
    student = models.ForeignKey(
        Student, on_delete=models.PROTECT, related_name="registrations", verbose_name=_("student")
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="registrations", verbose_name=_("course"))
    slot = models.ForeignKey(
        CourseSlot,
        on_delete=models.PROTECT,
        related_name="registrations",
        verbose_name=_("time slot"),
        db_index=False,  # registrations_slot_hold_idx starts with the slot
    )
    pricing_type = models.CharField(_("pricing type"), max_length=20, choices=CoursePricing.PricingType)
    class_date = models.DateField(
        _("class date"), null=True, blank=True, help_text=_("The one class a drop-in registration is for.")
    )
    first_class_date = models.DateField(
        _("first class"),
        null=True,
        blank=True,
        help_text=_("A late joiner's first class: the classes before it are not theirs. Empty: from the first class."),
    )
    payment_status = models.CharField(
        _("payment status"), max_length=20, choices=PaymentStatus, default=PaymentStatus.PENDING
    )
    payment_amount = models.DecimalField(_("amount"), max_digits=8, decimal_places=2)
    # Empty when there is nothing to pay (a free class): no method is asked.
    payment_method = models.CharField(_("payment method"), max_length=10, choices=PaymentMethod, blank=True)
    payment_due_at = models.DateTimeField(
        _("seat held until"), null=True, blank=True, help_text=_("A pending registration holds its seat until then.")
    )
    payment_reported_at = models.DateTimeField(_("student reported payment at"), null=True, blank=True)
    payment_reported_method = models.CharField(
        _("student reported method"), max_length=10, choices=PaymentMethod, blank=True
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    transaction_note = models.CharField(_("transaction note"), max_length=200, blank=True)
    canceled_at = models.DateTimeField(_("canceled at"), null=True, blank=True)
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("canceled by"),
    )
    cancel_reason = models.CharField(_("cancel reason"), max_length=200, blank=True)
    admin_override = models.BooleanField(
        _("admin override"), default=False, help_text=_("Registered by an admin past the crew-only or seat rules.")
    )
    # Which client (network address) registered online, as a keyed hash (studio.clients.client_key), never the address
    # itself: the cap on unpaid holds per client counts by it. Empty for registrations made by the studio or an offer.
    client_key = models.CharField(_("client"), max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        permissions = [("view_money", _("Can see payments, amounts due and revenue"))]
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Seats of one slot: its registrations by status and hold end (every count, under every slot lock).
            models.Index(fields=["slot", "payment_status", "payment_due_at"], name="registrations_slot_hold_idx"),
            # The next hold to run out (the cached catalog's pages), and the holds to expire.
            models.Index(fields=["payment_status", "payment_due_at"], name="registrations_status_due_idx"),
            # The admin changelist's default order: its first page without sorting every row.
            models.Index(fields=["-created_at", "-id"], name="registrations_created_desc_idx"),
            # A client's pending holds (the cap per client, the admin's "Holds by client"): pending rows only.
            models.Index(
                fields=["client_key", "payment_due_at"],
                condition=Q(payment_status="pending"),
                name="registrations_client_hold_idx",
            ),
        ]
        constraints = [
            # Full package: one active registration per student and slot.
            models.UniqueConstraint(
                fields=["student", "slot"],
                condition=Q(payment_status__in=["pending", "completed"], class_date__isnull=True),
                name="%(app_label)s_%(class)s_one_active_per_slot",
            ),
            # Drop-in on a series: one active registration per student, slot and class date.
            models.UniqueConstraint(
                fields=["student", "slot", "class_date"],
                condition=Q(payment_status__in=["pending", "completed"], class_date__isnull=False),
                name="%(app_label)s_%(class)s_one_active_per_slot_date",
            ),
            models.CheckConstraint(
                condition=Q(payment_status__in=PaymentStatus.values),
                name="%(app_label)s_%(class)s_payment_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(payment_method__in=[*PaymentMethod.values, ""]),
                name="%(app_label)s_%(class)s_payment_method_valid",
            ),
            # Only a free registration goes without a payment method.
            models.CheckConstraint(
                condition=~Q(payment_method="") | Q(payment_amount=0),
                name="%(app_label)s_%(class)s_method_unless_free",
            ),
            models.CheckConstraint(
                condition=Q(payment_reported_method__in=[*PaymentMethod.values, ""]),
                name="%(app_label)s_%(class)s_payment_reported_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(pricing_type__in=CoursePricing.PricingType.values),
                name="%(app_label)s_%(class)s_pricing_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(payment_amount__gte=0), name="%(app_label)s_%(class)s_amount_not_negative"
            ),
            # Only a drop-in names a class date.
            models.CheckConstraint(
                condition=Q(class_date__isnull=True) | Q(pricing_type="drop_in"),
                name="%(app_label)s_%(class)s_class_date_only_for_drop_in",
            ),
            # A pending registration always says until when it holds its seat (0 hours: until it was made).
            models.CheckConstraint(
                condition=~Q(payment_status="pending") | Q(payment_due_at__isnull=False),
                name="%(app_label)s_%(class)s_pending_has_hold_deadline",
            ),
            # A paid registration says when it was confirmed; a canceled one when it was canceled.
            models.CheckConstraint(
                condition=~Q(payment_status="completed") | Q(confirmed_at__isnull=False),
                name="%(app_label)s_%(class)s_completed_has_confirmed_at",
            ),
            models.CheckConstraint(
                condition=~Q(payment_status="canceled") | Q(canceled_at__isnull=False),
                name="%(app_label)s_%(class)s_canceled_has_canceled_at",
            ),
            # Who confirmed or canceled goes with when.
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True) | Q(confirmed_at__isnull=False),
                name="%(app_label)s_%(class)s_confirmed_by_has_confirmed_at",
            ),
            models.CheckConstraint(
                condition=Q(canceled_by__isnull=True) | Q(canceled_at__isnull=False),
                name="%(app_label)s_%(class)s_canceled_by_has_canceled_at",
            ),
            # The student's "I've sent the payment" has both its time and its method, or neither.
            models.CheckConstraint(
                condition=Q(payment_reported_at__isnull=True, payment_reported_method="")
                | (Q(payment_reported_at__isnull=False) & ~Q(payment_reported_method="")),
                name="%(app_label)s_%(class)s_payment_report_complete",
            ),
        ]

    def __str__(self):
        return f"{self.reference} · {self.student.full_name} · {self.course}"

    def get_absolute_url(self):
        return reverse("registrations:detail", args=[self.public_id])


class HoldsByClient(Registration):
    """Registrations seen from the client that made them: the admin's "Holds by client" page
    (registrations/admin_holds.py), which lists clients holding unpaid seats and releases their holds."""

    class Meta:
        proxy = True
        verbose_name = _("holds by client")
        verbose_name_plural = _("holds by client")


class RegistrationEvent(models.Model):
    """One transition of a registration: who, when, from → to, why. Written by the services only."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="events", verbose_name=_("registration")
    )
    from_status = models.CharField(_("from"), max_length=20, choices=Registration.PaymentStatus, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Registration.PaymentStatus)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by staff user"),
    )
    actor_label = models.CharField(
        _("by"), max_length=60, blank=True, help_text=_("“student”, “system” or the staff user's name.")
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("registration event")
        verbose_name_plural = _("registration history")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(to_status__in=Registration.PaymentStatus.values),
                name="%(app_label)s_%(class)s_to_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(from_status__in=[*Registration.PaymentStatus.values, ""]),
                name="%(app_label)s_%(class)s_from_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.from_status or '∅'} → {self.to_status}"
