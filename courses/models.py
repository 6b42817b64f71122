import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

MAX_CAPACITY = 500


class CourseType(models.TextChoices):
    SERIES = "series", _("Series (multi-week)")
    DROP_IN = "drop_in", _("Drop-in class")
    CREW_PRACTICE = "crew_practice", _("Crew practice")


class RequiredStudentType(models.TextChoices):
    ANY = "any", _("Anyone")
    CREW_MEMBER = "crew_member", _("Crew members only")


class MakeupPolicy(models.TextChoices):
    """Which students may come to a class of this course as a make-up for a class they missed (README "Make-up
    classes"): the level rule compares the difficulty of the two classes' time slots (`difficulty_rank`)."""

    LEVEL = "level", _("Its own students, and students of the same or a higher level")
    COURSE = "course", _("Only its own students")
    CLOSED = "closed", _("Not open to make-ups")


class Course(models.Model):
    # Enums live at module level so Meta.constraints can name them; reached as Model.Enum.
    CourseType = CourseType
    RequiredStudentType = RequiredStudentType
    MakeupPolicy = MakeupPolicy

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    instructor = models.CharField(_("instructor"), max_length=120, blank=True)
    level = models.CharField(_("level"), max_length=60, blank=True, help_text=_("For example “Beginner” or “L2”."))
    course_type = models.CharField(_("course type"), max_length=20, choices=CourseType, default=CourseType.SERIES)
    required_student_type = models.CharField(
        _("who may register"), max_length=20, choices=RequiredStudentType, default=RequiredStudentType.ANY
    )
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Inactive courses are not listed."))
    makeup_policy = models.CharField(
        _("open to make-ups"),
        max_length=10,
        choices=MakeupPolicy,
        default=MakeupPolicy.LEVEL,
        help_text=_(
            "Who may book a class of this course as a make-up for a class they missed. The level compares the time "
            "slots' difficulty: all levels and beginner, then intermediate, then advanced."
        ),
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["start_date", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__lte=F("end_date")), name="%(app_label)s_%(class)s_start_before_end"
            ),
            models.CheckConstraint(
                condition=Q(course_type__in=CourseType.values), name="%(app_label)s_%(class)s_course_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(required_student_type__in=RequiredStudentType.values),
                name="%(app_label)s_%(class)s_required_student_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(makeup_policy__in=MakeupPolicy.values), name="%(app_label)s_%(class)s_makeup_policy_valid"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("registrations:course", args=[self.pk])

    @property
    def is_crew_only(self) -> bool:
        return self.required_student_type == self.RequiredStudentType.CREW_MEMBER

    @property
    def is_dated(self) -> bool:
        """Drop-in classes and crew practices happen on the dates of their slots, not weekly."""
        return self.course_type != self.CourseType.SERIES

    def clean(self):
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The end date must be on or after the start date.")})


class DayOfWeek(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class DifficultyLevel(models.TextChoices):
    ALL_LEVELS = "all_levels", _("All levels")
    BEGINNER = "beginner", _("Beginner")
    INTERMEDIATE = "intermediate", _("Intermediate")
    ADVANCED = "advanced", _("Advanced")


# The order of the difficulty levels (a make-up goes to a class of the same or a lower rank): a class for all levels
# is as easy to join as a beginner class.
DIFFICULTY_RANK = {
    DifficultyLevel.ALL_LEVELS: 0,
    DifficultyLevel.BEGINNER: 0,
    DifficultyLevel.INTERMEDIATE: 1,
    DifficultyLevel.ADVANCED: 2,
}


class CourseSlot(models.Model):
    DayOfWeek = DayOfWeek
    DifficultyLevel = DifficultyLevel

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="slots", verbose_name=_("course"))
    capacity = models.PositiveIntegerField(
        _("capacity"), validators=[MinValueValidator(1), MaxValueValidator(MAX_CAPACITY)]
    )
    difficulty_level = models.CharField(
        _("difficulty"), max_length=20, choices=DifficultyLevel, default=DifficultyLevel.ALL_LEVELS
    )
    day_of_week = models.PositiveSmallIntegerField(
        _("day of week"), choices=DayOfWeek, null=True, blank=True, help_text=_("For a weekly series.")
    )
    practice_date = models.DateField(
        _("date"), null=True, blank=True, help_text=_("For a drop-in class or a crew practice.")
    )
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))
    location = models.CharField(_("location"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("time slot")
        verbose_name_plural = _("time slots")
        ordering = ["course", "day_of_week", "practice_date", "start_time", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity__gte=1, capacity__lte=MAX_CAPACITY),
                name="%(app_label)s_%(class)s_capacity_range",
            ),
            models.CheckConstraint(
                condition=Q(start_time__lt=F("end_time")), name="%(app_label)s_%(class)s_start_before_end"
            ),
            # A slot is either weekly (day_of_week) or on one date (practice_date), never both or neither.
            models.CheckConstraint(
                condition=Q(day_of_week__isnull=False, practice_date__isnull=True)
                | Q(day_of_week__isnull=True, practice_date__isnull=False),
                name="%(app_label)s_%(class)s_weekly_xor_dated",
            ),
            models.CheckConstraint(
                condition=Q(day_of_week__isnull=True) | Q(day_of_week__in=DayOfWeek.values),
                name="%(app_label)s_%(class)s_day_of_week_valid",
            ),
            models.CheckConstraint(
                condition=Q(difficulty_level__in=DifficultyLevel.values),
                name="%(app_label)s_%(class)s_difficulty_level_valid",
            ),
        ]

    def __str__(self):
        from courses.formatting import slot_when  # formatting reads this module's prices

        return f"{self.course} · {slot_when(self)}"

    def clean(self):
        errors = {}
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            errors["end_time"] = _("The class must end after it starts.")
        # A slot added inline with a new course has its course cached but no course_id yet.
        course = self.course if (self.course_id or CourseSlot.course.is_cached(self)) else None
        if course is not None:
            if course.is_dated:
                if self.practice_date is None:
                    errors["practice_date"] = _("A drop-in class or crew practice needs a date.")
                elif (
                    course.start_date
                    and course.end_date
                    and not (course.start_date <= self.practice_date <= course.end_date)
                ):
                    errors["practice_date"] = _("The date must fall between the course's start and end dates.")
                if self.day_of_week is not None:
                    errors["day_of_week"] = _("A dated class has a date, not a weekday.")
            else:
                if self.day_of_week is None:
                    errors["day_of_week"] = _("A weekly series needs a day of the week.")
                if self.practice_date is not None:
                    errors["practice_date"] = _("A weekly series has a weekday, not a date.")
        if errors:
            raise ValidationError(errors)

    @property
    def difficulty_rank(self) -> int:
        """0 for all levels and beginner, 1 intermediate, 2 advanced (DIFFICULTY_RANK)."""
        return DIFFICULTY_RANK[self.difficulty_level]

    def scheduled_dates(self) -> list[datetime.date]:
        """The dates this slot is scheduled on, studio closures included: weekly between the course dates, or its one
        date."""
        if self.practice_date is not None:
            return [self.practice_date]
        start, end = self.course.start_date, self.course.end_date
        first = start + datetime.timedelta(days=(self.day_of_week - start.weekday()) % 7)
        return (
            [first + datetime.timedelta(weeks=n) for n in range(((end - first).days // 7) + 1)] if first <= end else []
        )

    def class_dates(self) -> list[datetime.date]:
        """The dates this slot meets: its scheduled dates but the studio's closures (the classes actually held)."""
        return [day for day in self.scheduled_dates() if day not in self.closed_dates]

    def skipped_dates(self) -> list[datetime.date]:
        """Its scheduled dates on which the studio is closed: "no class on Dec 24"."""
        return [day for day in self.scheduled_dates() if day in self.closed_dates]

    @property
    def closed_dates(self) -> frozenset[datetime.date]:
        """The studio's closed dates, read once per slot (one query) unless a caller set them for many slots at once
        (courses.selectors.attach_closures)."""
        if not hasattr(self, "_closed_dates"):
            self._closed_dates = frozenset(Closure.objects.values_list("date", flat=True))
        return self._closed_dates

    @closed_dates.setter
    def closed_dates(self, dates) -> None:
        self._closed_dates = frozenset(dates)


class Closure(models.Model):
    """A day the studio is closed (a holiday, a studio trip): no class meets, in any course."""

    date = models.DateField(_("date"), unique=True)
    reason = models.CharField(_("reason"), max_length=120, help_text=_("Shown to students, e.g. “Winter holiday”."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("studio closure")
        verbose_name_plural = _("studio closures")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%a %b %-d, %Y}: {self.reason}"


class PricingType(models.TextChoices):
    FULL_PACKAGE = "full_package", _("Full package")
    DROP_IN = "drop_in", _("Drop-in")


class CoursePricing(models.Model):
    PricingType = PricingType

    course_slot = models.ForeignKey(
        CourseSlot, on_delete=models.CASCADE, related_name="prices", verbose_name=_("time slot")
    )
    pricing_type = models.CharField(_("pricing type"), max_length=20, choices=PricingType)
    price = models.DecimalField(
        _("price"),
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("In dollars; 0 for a free class."),
    )

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["course_slot", "pricing_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["course_slot", "pricing_type"], name="%(app_label)s_%(class)s_one_price_per_type"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="%(app_label)s_%(class)s_price_not_negative"),
            models.CheckConstraint(
                condition=Q(pricing_type__in=PricingType.values), name="%(app_label)s_%(class)s_pricing_type_valid"
            ),
        ]

    def __str__(self):
        from courses.formatting import money  # formatting reads this module's prices

        return f"{self.get_pricing_type_display()}: {money(self.price)}"


class CatalogVersion(models.Model):
    """How often what the catalog shows of a course has changed: anything (`version`: its details, slots, prices or
    seats), and anything but its seats (`details_version`).

    The cached catalog and course pages are keyed by the details versions and draw their seat counts in from counts
    kept under `version`, so a page or a count stored before a change is never served after it. Written by
    courses.services.catalog_changed() and seats_changed() only.
    """

    course = models.OneToOneField(
        Course, on_delete=models.CASCADE, primary_key=True, related_name="+", verbose_name=_("course")
    )
    version = models.PositiveBigIntegerField(_("version"), default=0)
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)
    details_version = models.PositiveBigIntegerField(_("details version"), default=0)
    details_changed_at = models.DateTimeField(_("details changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("catalog version")
        verbose_name_plural = _("catalog versions")

    def __str__(self):
        return f"{self.course_id} v{self.version}"
