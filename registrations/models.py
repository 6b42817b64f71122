import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from courses.formatting import money
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
    # Account credit taken off the amount when the registration was made (written once, with its CreditEntry rows).
    credit_applied = models.DecimalField(
        _("paid with account credit"), max_digits=8, decimal_places=2, default=Decimal("0.00"), editable=False
    )
    # Empty when there is nothing to pay (a free class, or one the student's credit covers): no method is asked.
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
            # Only a registration with nothing to pay (free, or covered by account credit) goes without a method.
            models.CheckConstraint(
                condition=~Q(payment_method="") | Q(payment_amount__lte=F("credit_applied")),
                name="%(app_label)s_%(class)s_method_unless_nothing_to_pay",
            ),
            models.CheckConstraint(
                condition=Q(credit_applied__gte=0) & Q(credit_applied__lte=F("payment_amount")),
                name="%(app_label)s_%(class)s_credit_within_amount",
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


# --- money: the ledger (README "Payments") ------------------------------------------------------------------------------
# Rows are written by registrations/ledger.py and registrations/transitions.py only, and never edited or deleted: a
# mistake is corrected by a new row (a refund, a credit entry).


class StatementKind(models.TextChoices):
    VENMO = "venmo", _("Venmo statement")
    BANK = "bank", _("Bank statement (Zelle)")


class StatementStatus(models.TextChoices):
    MAPPING = "mapping", _("Columns to choose")
    PREVIEW = "preview", _("Waiting for confirmation")
    CONFIRMED = "confirmed", _("Confirmed")


class StatementImport(models.Model):
    """One uploaded Venmo or bank statement: its parsed lines (the preview, kept here and not in the browser) until
    the owner confirms them, and what was recorded."""

    Kind = StatementKind
    Status = StatementStatus

    kind = models.CharField(_("kind"), max_length=10, choices=StatementKind)
    status = models.CharField(_("status"), max_length=10, choices=StatementStatus, default=StatementStatus.PREVIEW)
    filename = models.CharField(_("file"), max_length=200, blank=True)
    # A bank statement's text, only until its columns are chosen (then parsed into `lines` and emptied).
    source_text = models.TextField(_("statement text"), blank=True, editable=False)
    header = models.JSONField(_("header row"), default=list, blank=True, editable=False)
    lines = models.JSONField(_("lines"), default=list, blank=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement import")
        verbose_name_plural = _("statement imports")
        ordering = ["-uploaded_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=StatementKind.values), name="%(app_label)s_%(class)s_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=StatementStatus.values), name="%(app_label)s_%(class)s_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(confirmed_at__isnull=False),
                name="%(app_label)s_%(class)s_confirmed_has_confirmed_at",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.filename or self.pk}"


class BankColumnMapping(models.Model):
    """Which columns of a bank's CSV hold the date, the description and the amount, remembered per header row."""

    header_signature = models.CharField(_("header signature"), max_length=64, unique=True)
    header = models.JSONField(_("header row"), default=list)
    date_column = models.CharField(_("date column"), max_length=100)
    description_column = models.CharField(_("description column"), max_length=100)
    amount_column = models.CharField(_("amount column"), max_length=100)
    id_column = models.CharField(_("transaction id column"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("bank statement columns")
        verbose_name_plural = _("bank statement columns")

    def __str__(self):
        return ", ".join(self.header)[:100]


class PaymentSource(models.TextChoices):
    HAND = "hand", _("By hand")
    STATEMENT = "statement", _("Statement import")
    BEFORE_LEDGER = "before_ledger", _("Confirmed before the ledger")


class Payment(models.Model):
    """An amount received for a registration (Venmo or Zelle), recorded by hand or from a statement."""

    PaymentMethod = PaymentMethod
    Source = PaymentSource

    registration = models.ForeignKey(
        Registration, on_delete=models.PROTECT, related_name="payments", verbose_name=_("registration")
    )
    amount = models.DecimalField(_("amount"), max_digits=8, decimal_places=2)
    method = models.CharField(_("method"), max_length=10, choices=PaymentMethod)
    received_at = models.DateTimeField(_("received at"))
    transaction_id = models.CharField(
        _("transaction id"), max_length=100, blank=True, help_text=_("Venmo's or the bank's id, when known.")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=PaymentSource, default=PaymentSource.HAND)
    statement_import = models.ForeignKey(
        StatementImport,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        verbose_name=_("statement import"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["received_at"], name="registrations_paid_at_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"),
            models.CheckConstraint(
                condition=Q(method__in=PaymentMethod.values), name="%(app_label)s_%(class)s_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=PaymentSource.values),
                name="%(app_label)s_%(class)s_source_valid",
            ),
            # A Venmo or Zelle transaction is recorded once, whoever imports it and however often.
            models.UniqueConstraint(
                fields=["method", "transaction_id"],
                condition=~Q(transaction_id=""),
                name="%(app_label)s_%(class)s_one_per_transaction_id",
            ),
            models.CheckConstraint(
                condition=~Q(source="statement") | Q(statement_import__isnull=False),
                name="%(app_label)s_%(class)s_statement_has_import",
            ),
        ]

    def __str__(self):
        return f"{self.registration.reference} · {money(self.amount)} · {self.get_method_display()}"


class Refund(models.Model):
    """An amount given back for a registration, or a correction of a payment recorded by mistake."""

    PaymentMethod = PaymentMethod

    registration = models.ForeignKey(
        Registration, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("registration")
    )
    amount = models.DecimalField(_("amount"), max_digits=8, decimal_places=2)
    method = models.CharField(_("method"), max_length=10, choices=PaymentMethod)
    reason = models.CharField(_("reason"), max_length=200)
    transaction_id = models.CharField(_("transaction id"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("refunded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"),
            models.CheckConstraint(
                condition=Q(method__in=PaymentMethod.values), name="%(app_label)s_%(class)s_method_valid"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="%(app_label)s_%(class)s_reason_given"),
        ]

    def __str__(self):
        return f"{self.registration.reference} · −{money(self.amount)} · {self.get_method_display()}"


class CreditKind(models.TextChoices):
    GRANTED = "granted", _("Granted")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")


class CreditReason(models.TextChoices):
    # Granted
    OVERPAYMENT = "overpayment", _("Paid more than the price")
    CLASS_CANCELED = "class_canceled", _("The studio canceled a class")
    REGISTRATION_CANCELED = "registration_canceled", _("Registration canceled")
    HOLD_EXPIRED = "hold_expired", _("Payment hold ran out")
    # Used
    REGISTRATION = "registration", _("Used for a registration")
    # Expired
    EXPIRY = "expiry", _("Expired")


GRANT_REASONS = [
    CreditReason.OVERPAYMENT,
    CreditReason.CLASS_CANCELED,
    CreditReason.REGISTRATION_CANCELED,
    CreditReason.HOLD_EXPIRED,
]


class CreditEntry(models.Model):
    """One line of a student's account credit: a grant (with its expiry), or an amount used or expired out of one
    grant. A grant's balance is its amount less the entries drawn on it; a grant past its expiry counts for nothing."""

    Kind = CreditKind
    Reason = CreditReason

    student = models.ForeignKey(
        Student, on_delete=models.PROTECT, related_name="credit_entries", verbose_name=_("student")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=CreditKind)
    reason = models.CharField(_("reason"), max_length=30, choices=CreditReason)
    amount = models.DecimalField(_("amount"), max_digits=8, decimal_places=2)
    registration = models.ForeignKey(
        Registration,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_entries",
        verbose_name=_("registration"),
        help_text=_("The registration the credit comes from, or is used for."),
    )
    class_date = models.DateField(_("canceled class"), null=True, blank=True)
    grant = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="draws",
        verbose_name=_("drawn from"),
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit entry")
        verbose_name_plural = _("account credit")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="%(app_label)s_%(class)s_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=CreditKind.values), name="%(app_label)s_%(class)s_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind="granted", reason__in=GRANT_REASONS)
                | Q(kind="used", reason=CreditReason.REGISTRATION)
                | Q(kind="expired", reason=CreditReason.EXPIRY),
                name="%(app_label)s_%(class)s_reason_fits_kind",
            ),
            # A grant stands alone; what is used or expires is drawn from one grant.
            models.CheckConstraint(
                condition=Q(kind="granted", grant__isnull=True) | (~Q(kind="granted") & Q(grant__isnull=False)),
                name="%(app_label)s_%(class)s_drawn_from_a_grant",
            ),
            models.CheckConstraint(
                condition=Q(kind="granted") | Q(expires_at__isnull=True),
                name="%(app_label)s_%(class)s_expiry_only_on_grants",
            ),
            models.CheckConstraint(
                condition=~Q(kind="used") | Q(registration__isnull=False),
                name="%(app_label)s_%(class)s_used_for_a_registration",
            ),
            models.CheckConstraint(
                condition=~Q(reason="class_canceled") | Q(registration__isnull=False, class_date__isnull=False),
                name="%(app_label)s_%(class)s_canceled_class_named",
            ),
            # A canceled class is credited once per registration, however often the session is canceled.
            models.UniqueConstraint(
                fields=["registration", "class_date"],
                condition=Q(reason="class_canceled"),
                name="%(app_label)s_%(class)s_one_credit_per_canceled_class",
            ),
            models.UniqueConstraint(
                fields=["grant"], condition=Q(kind="expired"), name="%(app_label)s_%(class)s_one_expiry_per_grant"
            ),
        ]

    def __str__(self):
        sign = "+" if self.kind == CreditKind.GRANTED else "−"
        return f"{self.get_kind_display()} {sign}{money(self.amount)} · {self.get_reason_display()}"
