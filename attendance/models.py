import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from courses.formatting import session_when
from courses.models import Course, CourseSlot
from registrations.models import Registration
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
    # The door tablet's tap that wrote this mark: the same tap sent again (a lost answer, a reload) changes nothing.
    tap_id = models.UUIDField(_("tap"), null=True, blank=True, editable=False)

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


class Channel(models.TextChoices):
    EMAIL = "email", _("Reminder email link")
    PORTAL = "portal", _("Student portal")


class Absence(models.Model):
    """A student's "can't make it" for one class: an excused absence (README "Can't make it"). While it stands it
    gives the seat of their registration back on that date; told before the cut-off, it comes with a make-up class.

    Written by attendance/absences.py only and never deleted: undoing it sets `undone_at`."""

    Channel = Channel

    # The portal's make-up picker is reached by this unguessable id, never by the pk.
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    session = models.ForeignKey(
        ClassSession, on_delete=models.PROTECT, related_name="absences", verbose_name=_("class session")
    )
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="absences", verbose_name=_("student"))
    registration = models.ForeignKey(
        Registration,
        on_delete=models.PROTECT,
        related_name="absences",
        verbose_name=_("registration"),
        help_text=_("The registration whose seat is given back for this class."),
    )
    reported_at = models.DateTimeField(_("told us at"))
    channel = models.CharField(_("told us through"), max_length=10, choices=Channel)
    makeup_granted = models.BooleanField(
        _("make-up granted"),
        default=False,
        help_text=_("Told before the cut-off, with make-ups left on the registration."),
    )
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        verbose_name = _("excused absence")
        verbose_name_plural = _("excused absences")
        ordering = ["-reported_at", "-pk"]
        constraints = [
            # One standing absence per student and class (an undone one may be followed by a new one).
            models.UniqueConstraint(
                fields=["session", "student"],
                condition=Q(undone_at__isnull=True),
                name="%(app_label)s_%(class)s_one_per_student_session",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="%(app_label)s_%(class)s_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(undone_at__isnull=True) | Q(undone_at__gte=F("reported_at")),
                name="%(app_label)s_%(class)s_undone_after_reported",
            ),
        ]

    def __str__(self):
        return f"{self.student.full_name}: {self.session}"


class MakeUpStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CANCELED = "canceled", _("Canceled (returned)")


class MakeUp(models.Model):
    """A make-up class booked for a missed one: a seat in another class session, on its date (README "Make-up
    classes"). Written by attendance/makeups.py only and never deleted: cancelling it returns the make-up."""

    Status = MakeUpStatus

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    absence = models.ForeignKey(
        Absence,
        on_delete=models.PROTECT,
        related_name="makeups",
        verbose_name=_("missed class"),
        help_text=_("The excused absence this class makes up for."),
    )
    session = models.ForeignKey(
        ClassSession, on_delete=models.PROTECT, related_name="makeups", verbose_name=_("make-up class")
    )
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="makeups", verbose_name=_("student"))
    status = models.CharField(_("status"), max_length=10, choices=MakeUpStatus, default=MakeUpStatus.BOOKED)
    booked_at = models.DateTimeField(_("booked at"))
    canceled_at = models.DateTimeField(_("canceled at"), null=True, blank=True)
    canceled_by_studio = models.BooleanField(_("canceled by the studio"), default=False)

    class Meta:
        verbose_name = _("make-up class")
        verbose_name_plural = _("make-up classes")
        ordering = ["-booked_at", "-pk"]
        constraints = [
            # One booked make-up per missed class, and one seat per student in a class.
            models.UniqueConstraint(
                fields=["absence"], condition=Q(status="booked"), name="%(app_label)s_%(class)s_one_per_absence"
            ),
            models.UniqueConstraint(
                fields=["session", "student"],
                condition=Q(status="booked"),
                name="%(app_label)s_%(class)s_one_per_student_session",
            ),
            models.CheckConstraint(
                condition=Q(status__in=MakeUpStatus.values), name="%(app_label)s_%(class)s_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="canceled") | Q(canceled_at__isnull=False),
                name="%(app_label)s_%(class)s_canceled_has_canceled_at",
            ),
            models.CheckConstraint(
                condition=Q(status="canceled") | Q(canceled_at__isnull=True, canceled_by_studio=False),
                name="%(app_label)s_%(class)s_booked_is_not_canceled",
            ),
        ]

    def __str__(self):
        return f"{self.student.full_name}: {self.session}"
