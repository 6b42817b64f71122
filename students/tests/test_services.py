"""Portal services on their own: links (check vs redeem), profile rules, calendar token."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from students import services
from students.models import Student
from students.tests.factories import StudentFactory
from studio.models import EmailLog

pytestmark = pytest.mark.django_db


def test_send_sign_in_link_emails_a_known_student_and_ignores_an_unknown_address():
    StudentFactory(email="ana@example.org")

    assert services.send_sign_in_link(email=" Ana@Example.org") is True
    assert services.send_sign_in_link(email="nobody@example.org") is False
    assert list(EmailLog.objects.values_list("kind", "to_email")) == [("sign_in_link", "ana@example.org")]


def test_sign_in_link_email_says_how_long_the_link_works_and_escapes_names():
    StudentFactory(email="ana@example.org", first_name="<b>Ana</b>")

    services.send_sign_in_link(email="ana@example.org")

    log = EmailLog.objects.get()
    assert "30 minutes" in log.body_text
    assert "<b>Ana</b>" in log.body_text  # plain text stays literal
    assert "&lt;b&gt;Ana&lt;/b&gt;" in log.body_html


def test_checking_a_link_does_not_use_it():
    student = StudentFactory()
    token = services.make_sign_in_token(student)

    assert services.check_sign_in_link(token=token) == student
    assert services.check_sign_in_link(token=token) == student
    assert services.redeem_sign_in_link(token=token) == student
    with pytest.raises(services.SignInLinkUsed):
        services.check_sign_in_link(token=token)


def test_redeeming_a_link_records_the_sign_in_time():
    student = StudentFactory()

    services.redeem_sign_in_link(token=services.make_sign_in_token(student))

    student.refresh_from_db()
    assert student.last_portal_login_at is not None


def test_update_profile_sets_profile_complete_from_name_and_phone():
    student = StudentFactory(phone="", profile_complete=False)

    updated = services.update_profile(student=student, first_name="Ana", last_name="Lima", phone="+1 415 555 0100")

    assert updated.profile_complete
    updated = services.update_profile(student=student, first_name="Ana", last_name="Lima", phone="")
    assert not updated.profile_complete
    assert not Student.objects.get(pk=student.pk).profile_complete


@pytest.mark.parametrize(
    "changes",
    [
        {"first_name": ""},
        {"last_name": "Lima\nX"},
        {"phone": "\x00"},
        {"first_name": "x" * 101},
        {"dance_experience": "guru"},
    ],
)
def test_update_profile_refuses_bad_values_and_changes_nothing(changes):
    student = StudentFactory(first_name="Ana", last_name="Lima")
    before = Student.objects.values().get(pk=student.pk)
    values = {"first_name": "Ana", "last_name": "Lima", "phone": "", **changes}

    with pytest.raises(ValidationError):
        services.update_profile(student=student, **values)

    assert Student.objects.values().get(pk=student.pk) == before


def test_update_profile_strips_the_at_sign_of_an_instagram_handle():
    student = StudentFactory()

    updated = services.update_profile(student=student, first_name="Ana", last_name="Lima", instagram_handle="@ana.d")

    assert updated.instagram_handle == "ana.d"


def test_renewed_calendar_token_differs_from_the_old_one():
    student = StudentFactory()
    old = services.ensure_calendar_token(student=student)

    new = services.renew_calendar_token(student=student)

    assert new != old
    assert Student.objects.get(pk=student.pk).calendar_token == new


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_link_posted_from_two_tabs_at_once_signs_in_once():
    student = StudentFactory()
    token = services.make_sign_in_token(student)
    barrier = threading.Barrier(2)
    outcomes = []

    def redeem():
        barrier.wait()
        try:
            services.redeem_sign_in_link(token=token)
            outcomes.append("signed in")
        except services.SignInLinkUsed:
            outcomes.append("used")
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["signed in", "used"]
