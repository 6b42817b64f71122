import pytest
from django.db import IntegrityError, transaction

from students.models import Student
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def test_student_email_used_twice_is_rejected():
    StudentFactory(email="ana@example.org")

    with pytest.raises(IntegrityError), transaction.atomic():
        StudentFactory(email="ana@example.org")


def test_student_email_not_stored_lower_case_is_rejected():
    """Together with the unique index on LOWER(email) this makes addresses unique case-insensitively."""
    with pytest.raises(IntegrityError, match="students_student_email_lowercase"), transaction.atomic():
        StudentFactory(email="Ana@Example.org")


@pytest.mark.postgres_only
def test_student_email_with_non_ascii_capitals_is_rejected_on_postgresql():
    """PostgreSQL's LOWER() folds Ä; SQLite's does not, hence normalize_email() in Python (docs/bad-inputs.md #16)."""
    with pytest.raises(IntegrityError, match="students_student_email_lowercase"), transaction.atomic():
        StudentFactory(email="ÄNNE@example.org")


@pytest.mark.parametrize(
    ("field", "constraint"),
    [
        ("student_type", "students_student_student_type_valid"),
        ("dance_experience", "students_student_dance_experience_valid"),
    ],
)
def test_student_choice_field_rejects_unknown_value(field, constraint):
    # Classified, so an unknown type breaks only its own constraint (PostgreSQL names the first it finds).
    student = StudentFactory(admin_classified=True)

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        Student.objects.filter(pk=student.pk).update(**{field: "wizard"})


def test_student_dance_experience_may_be_blank():
    student = StudentFactory(dance_experience="")

    assert Student.objects.get(pk=student.pk).dance_experience == ""


def test_a_crew_member_no_admin_classified_is_rejected():
    with pytest.raises(IntegrityError, match="crew_member_is_classified"), transaction.atomic():
        StudentFactory(student_type="crew_member", admin_classified=False)


def test_a_classified_student_without_when_is_rejected():
    student = StudentFactory()

    with pytest.raises(IntegrityError, match="classified_has_classified_at"), transaction.atomic():
        type(student).objects.filter(pk=student.pk).update(admin_classified=True)
