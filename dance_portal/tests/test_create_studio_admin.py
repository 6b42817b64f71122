import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db

PASSWORD = "mambo-on-two-since-1998"


def create(*args, **options) -> str:
    out = io.StringIO()
    call_command("create_studio_admin", *args, stdout=out, stderr=out, **options)
    return out.getvalue()


@pytest.fixture
def typed(monkeypatch):
    """typed("a", "b"): what the user types at the password prompts, in order."""

    def answers(*values):
        replies = iter(values)
        monkeypatch.setattr("getpass.getpass", lambda prompt="": next(replies))

    return answers


def test_creates_a_staff_user_in_the_studio_admin_group_with_the_typed_password(typed):
    typed(PASSWORD, PASSWORD)

    output = create("owner", email="owner@example.org")

    user = User.objects.get(username="owner")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Studio admin"]
    assert user.email == "owner@example.org"
    assert user.check_password(PASSWORD)
    assert PASSWORD not in output
    assert 'Created staff user "owner" in the "Studio admin" group.' in output


def test_instructor_flag_puts_the_user_in_the_instructor_group(typed):
    typed(PASSWORD, PASSWORD)

    create("door", instructor=True)

    assert list(User.objects.get(username="door").groups.values_list("name", flat=True)) == ["Instructor"]


def test_password_can_come_from_an_environment_variable_and_is_not_printed(monkeypatch):
    monkeypatch.setenv("STUDIO_ADMIN_PASSWORD", PASSWORD)

    output = create("owner", password_from_env="STUDIO_ADMIN_PASSWORD")

    assert User.objects.get(username="owner").check_password(PASSWORD)
    assert PASSWORD not in output


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ((PASSWORD, "something-else-entirely"), "The two passwords differ"),
        (("", ""), "may not be empty"),
        (("password", "password"), "too weak"),
        (("owner", "owner"), "too weak"),
    ],
)
def test_bad_passwords_create_nothing(typed, answers, message):
    typed(*answers)

    with pytest.raises(CommandError, match=message):
        create("owner")

    assert not User.objects.filter(username="owner").exists()


def test_missing_environment_variable_creates_nothing(monkeypatch):
    monkeypatch.delenv("NO_SUCH_PASSWORD", raising=False)

    with pytest.raises(CommandError, match="NO_SUCH_PASSWORD is not set"):
        create("owner", password_from_env="NO_SUCH_PASSWORD")

    assert not User.objects.exists()


def test_an_existing_user_is_left_alone(typed):
    existing = User.objects.create_user(username="owner", password="the-old-password-stays")
    typed(PASSWORD, PASSWORD)

    with pytest.raises(CommandError, match="already exists"):
        create("owner")

    existing.refresh_from_db()
    assert existing.check_password("the-old-password-stays")
    assert not existing.is_staff
