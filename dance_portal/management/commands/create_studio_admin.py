"""Create a staff account for the studio: a "Studio admin" (everything) or, with --instructor, an "Instructor"
(the attendance page, read-only registrations). The password is typed twice (never echoed) or read from an
environment variable; it is checked by AUTH_PASSWORD_VALIDATORS and never printed."""

import getpass
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

STUDIO_ADMIN_GROUP = "Studio admin"
INSTRUCTOR_GROUP = "Instructor"


class Command(BaseCommand):
    help = (
        'Create a staff user in the "Studio admin" group (or "Instructor" with --instructor). '
        "The password is asked for twice, or read from the environment variable named by --password-from-env."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="The user's email address (optional).")
        parser.add_argument("--instructor", action="store_true", help='Put the user in the "Instructor" group instead.')
        parser.add_argument(
            "--password-from-env",
            metavar="VAR",
            help="Read the password from this environment variable instead of asking (for scripts).",
        )

    def handle(self, *args, username, email, instructor, password_from_env, **options):
        User = get_user_model()
        group_name = INSTRUCTOR_GROUP if instructor else STUDIO_ADMIN_GROUP
        try:
            group = Group.objects.get(name=group_name)
        except Group.DoesNotExist:
            raise CommandError(f'The "{group_name}" group is missing: run `manage.py migrate` first.') from None
        if User.objects.filter(username=username).exists():
            # Never touch an existing account's password from here: that is what the admin's password form is for.
            raise CommandError(f'A user named "{username}" already exists; nothing was changed.')
        user = User(username=username, email=email, is_staff=True)
        password = self.read_password(password_from_env)
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError("That password is too weak: " + " ".join(error.messages)) from None
        user.set_password(password)
        with transaction.atomic():
            user.full_clean()
            user.save()
            user.groups.add(group)
        self.stdout.write(self.style.SUCCESS(f'Created staff user "{username}" in the "{group_name}" group.'))

    def read_password(self, variable: str | None) -> str:
        if variable:
            password = os.environ.get(variable, "")
            if not password:
                raise CommandError(f"The environment variable {variable} is not set or empty.")
            return password
        password = getpass.getpass("Password: ")
        if not password:
            raise CommandError("The password may not be empty.")
        if getpass.getpass("Password (again): ") != password:
            raise CommandError("The two passwords differ; nothing was created.")
        return password
