"""The studio classifies students (SPEC §3 Students): only an admin makes someone a crew member."""

import logging

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from students.models import Student

logger = logging.getLogger(__name__)


def classify_students(*, students, student_type: str, by: User | None = None) -> int:
    """Set the type of `students` as classified by an admin now, in one transaction; returns how many changed.

    Raises ValueError for an unknown student type. Student has no "classified by" field, so `by` goes to the log.
    """
    if student_type not in Student.StudentType.values:
        raise ValueError(f"Unknown student type {student_type!r}.")
    ids = [student.pk for student in students]
    now = timezone.now()
    with transaction.atomic():
        count = Student.objects.filter(pk__in=ids).update(
            student_type=student_type, admin_classified=True, classified_at=now, updated_at=now
        )
    logger.info("%s classified %d student(s) as %s", by, count, student_type)
    return count
