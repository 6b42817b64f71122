from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from attendance.models import ClassSession
from courses.models import Course, CourseSlot
from students.models import Student

SUBJECT_MAX_LENGTH = 150
# About two pages of text: a note to a class, not a newsletter (and a 100 kB paste is a mistake).
BODY_MAX_LENGTH = 5000


class Audience(models.TextChoices):
    PAID = "paid", _("Paid students")
    PAID_AND_PENDING = "paid_and_pending", _("Paid students and those who have not paid yet")


class ClassMessage(models.Model):
    """One message the studio sent to a class: what, to whom, by whom and when. Each student's copy is an EmailLog
    row about the course, time slot or session it was sent to."""

    Audience = Audience

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="+", verbose_name=_("course"))
    slot = models.ForeignKey(
        CourseSlot, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("time slot")
    )
    session = models.ForeignKey(
        ClassSession, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("session")
    )
    audience = models.CharField(_("sent to"), max_length=20, choices=Audience)
    include_waitlist = models.BooleanField(_("and the waitlist"), default=False)
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX_LENGTH)
    body = models.TextField(_("message"), max_length=BODY_MAX_LENGTH)
    recipient_count = models.PositiveIntegerField(_("students emailed"))
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("message to a class")
        verbose_name_plural = _("messages to a class")
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(audience__in=Audience.values), name="%(app_label)s_%(class)s_audience_valid"
            ),
            # A session's message names its time slot too.
            models.CheckConstraint(
                condition=Q(session__isnull=True) | Q(slot__isnull=False),
                name="%(app_label)s_%(class)s_session_has_slot",
            ),
            models.CheckConstraint(condition=Q(recipient_count__gte=1), name="%(app_label)s_%(class)s_sent_to_someone"),
        ]

    def __str__(self):
        return self.subject


class MessageOptOut(models.Model):
    """A student who asked not to get messages to their class any more (the link in every such message). Payment,
    registration and class emails still reach them."""

    student = models.OneToOneField(
        Student, on_delete=models.CASCADE, related_name="+", verbose_name=_("student"), primary_key=True
    )
    created_at = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("student who stopped class messages")
        verbose_name_plural = _("students who stopped class messages")
        ordering = ["-created_at"]

    def __str__(self):
        return str(self.student)
