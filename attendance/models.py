from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from courses.formatting import session_when
from courses.models import Course, CourseSlot
from students.models import Student


class ClassSession(models.Model):
    """One meeting of a slot on one date: what attendance is taken for."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("course"))
    slot = models.ForeignKey(CourseSlot, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("time slot"))
    session_date = models.DateField(_("date"))
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))
    location = models.CharField(_("location"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_canceled = models.BooleanField(_("canceled"), default=False)
    canceled_at = models.DateTimeField(_("canceled at"), null=True, blank=True)
    cancel_reason = models.CharField(
        _("cancel reason"), max_length=200, blank=True, help_text=_("Sent to the students in the cancellation email.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("class session")
        verbose_name_plural = _("class sessions")
        ordering = ["session_date", "start_time", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["slot", "session_date"], name="%(app_label)s_%(class)s_one_per_slot_date"),
            models.CheckConstraint(
                condition=Q(start_time__lt=F("end_time")), name="%(app_label)s_%(class)s_start_before_end"
            ),
            models.CheckConstraint(
                condition=Q(is_canceled=False) | Q(canceled_at__isnull=False),
                name="%(app_label)s_%(class)s_canceled_has_canceled_at",
            ),
        ]

    def __str__(self):
        return f"{self.course} · {session_when(self)}"

    def clean(self):
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": _("The class must end after it starts.")})


class Status(models.TextChoices):
    PRESENT = "present", _("Present")
    LATE = "late", _("Late")
    ABSENT = "absent", _("Absent")


class AttendanceRecord(models.Model):
    # Enums live at module level so Meta.constraints can name them; reached as Model.Enum.
    Status = Status

    # PROTECT: a session with attendance is the studio's record and cannot be deleted (cancel it instead).
    session = models.ForeignKey(
        ClassSession, on_delete=models.PROTECT, related_name="attendance_records", verbose_name=_("session")
    )
    student = models.ForeignKey(
        Student, on_delete=models.PROTECT, related_name="attendance_records", verbose_name=_("student")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marked by"),
    )
    marked_at = models.DateTimeField(_("marked at"))

    class Meta:
        verbose_name = _("attendance record")
        verbose_name_plural = _("attendance records")
        ordering = ["session", "student"]
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="%(app_label)s_%(class)s_one_per_student"),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="%(app_label)s_%(class)s_status_valid"),
        ]

    def __str__(self):
        return f"{self.student.full_name}: {self.get_status_display()}"
