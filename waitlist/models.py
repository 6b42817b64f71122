import uuid

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from courses.models import Course, CourseSlot
from students.models import Student


class Status(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    OFFERED = "offered", _("Offer sent")
    ACCEPTED = "accepted", _("Accepted (registered)")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Offer expired")
    LEFT = "left", _("Left the waitlist")
    REMOVED = "removed", _("Removed by the studio")


class WaitlistEntry(models.Model):
    """A student waiting for a seat in a course; an offer holds one seat until it is answered or expires."""

    # Enums live at module level so Meta.constraints can name them; reached as Model.Enum.
    Status = Status

    ACTIVE_STATUSES = [Status.WAITING, Status.OFFERED]

    # The student's own page (position, leave) is reached by this unguessable id, never by the pk.
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    student = models.ForeignKey(
        Student, on_delete=models.PROTECT, related_name="waitlist_entries", verbose_name=_("student")
    )
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="waitlist_entries", verbose_name=_("course")
    )
    preferred_slot = models.ForeignKey(
        CourseSlot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("preferred time slot"),
    )
    waitlist_position = models.PositiveIntegerField(
        _("position"), null=True, blank=True, help_text=_("1 is next; empty once the entry is no longer waiting.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.WAITING)
    notification_sent = models.BooleanField(_("offer emailed"), default=False)
    # The offer: the seat it holds, its hashed single-use token and its expiry.
    offer_slot = models.ForeignKey(
        CourseSlot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waitlist_offers",
        verbose_name=_("offered time slot"),
    )
    offer_token_hash = models.CharField(_("offer token (hashed)"), max_length=64, null=True, blank=True, unique=True)
    # The random value the offer link's token is made from with SECRET_KEY (waitlist/offers.py): the email log keeps
    # the offer email without its link, and the delivery makes the token again from this. Useless without the key.
    offer_token_seed = models.CharField(_("offer link seed"), max_length=64, blank=True, default="", editable=False)
    offered_at = models.DateTimeField(_("offer sent at"), null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("offer expires at"), null=True, blank=True)
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("joined at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        ordering = ["course", "waitlist_position", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "course"],
                condition=Q(status__in=["waiting", "offered"]),
                name="%(app_label)s_%(class)s_one_active_per_course",
            ),
            # Positions never repeat within a course (finished entries have none; NULLs do not clash).
            models.UniqueConstraint(
                fields=["course", "waitlist_position"], name="%(app_label)s_%(class)s_one_entry_per_position"
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="%(app_label)s_%(class)s_status_valid"),
            models.CheckConstraint(
                condition=Q(waitlist_position__isnull=True) | Q(waitlist_position__gte=1),
                name="%(app_label)s_%(class)s_position_positive",
            ),
            # Only waiting and offered entries have a place in the line.
            models.CheckConstraint(
                condition=Q(status__in=["waiting", "offered"]) | Q(waitlist_position__isnull=True),
                name="%(app_label)s_%(class)s_finished_has_no_position",
            ),
            # An answered offer says when it was answered.
            models.CheckConstraint(
                condition=~Q(status__in=["accepted", "declined"]) | Q(responded_at__isnull=False),
                name="%(app_label)s_%(class)s_answer_has_responded_at",
            ),
            # An outstanding offer always names its seat, token and expiry.
            models.CheckConstraint(
                condition=~Q(status="offered")
                | Q(offer_slot__isnull=False, offer_token_hash__isnull=False, offer_expires_at__isnull=False),
                name="%(app_label)s_%(class)s_offer_complete",
            ),
        ]

    def __str__(self):
        return f"{self.student.full_name} · {self.course} · #{self.waitlist_position or '–'}"

    def get_absolute_url(self):
        return reverse("waitlist:detail", args=[self.public_id])
