"""The studio adds a student on the spot (README "The studio's admin"): one student per address, as everywhere."""

import pytest
from django.core.exceptions import ValidationError

from students.models import Student
from students.services import EmailTaken, StudentDetails, check_email_free, create_student_by_admin
from students.tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def test_create_student_by_admin_cleans_the_details_and_makes_a_general_student():
    student = create_student_by_admin(
        details=StudentDetails(email=" \u200bAna@Example.ORG ", first_name=" Ana ", last_name="Lima", phone="555 0100")
    )

    assert (student.email, student.first_name, student.last_name) == ("ana@example.org", "Ana", "Lima")
    assert student.student_type == Student.StudentType.GENERAL and student.admin_classified is False
    assert student.profile_complete is True


def test_create_student_by_admin_refuses_an_address_on_file_and_names_its_student():
    existing = StudentFactory(email="ana@example.org")

    with pytest.raises(EmailTaken) as taken:
        create_student_by_admin(details=StudentDetails(email="ANA@example.org", first_name="Other", last_name="Ana"))

    assert taken.value.student == existing
    assert Student.objects.count() == 1
    assert existing.first_name != "Other"


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b@example.org"])
def test_create_student_by_admin_refuses_a_bad_address(email):
    with pytest.raises(ValidationError) as error:
        create_student_by_admin(details=StudentDetails(email=email, first_name="Ana", last_name="Lima"))

    assert "email" in error.value.message_dict
    assert not Student.objects.exists()


def test_check_email_free_ignores_the_student_being_edited():
    student = StudentFactory(email="ana@example.org")

    check_email_free("ana@example.org", exclude=student)
    with pytest.raises(EmailTaken):
        check_email_free("ana@example.org")
