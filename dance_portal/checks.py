"""The project's system checks (`manage.py check --deploy`)."""

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.checks import Tags, Warning, register
from django.db import DatabaseError
from django.db.models import Q

from dance_portal.management.commands.demo_studio import ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_USERNAME


@register(Tags.security, deploy=True)
def check_demo_admin_password(app_configs=None, **kwargs):
    """Warn while an active account can still sign in with the demo admin's password, which is published in the
    source (demo_studio): DEBUG off only. Looks at the demo admin's username and email only: each check hashes."""
    if settings.DEBUG:
        return []
    from django.contrib.auth import get_user_model

    User = get_user_model()
    try:
        candidates = list(
            User.objects.filter(Q(**{User.USERNAME_FIELD: ADMIN_USERNAME}) | Q(email=ADMIN_EMAIL), is_active=True)
        )
    except DatabaseError:
        return []  # no database yet (before `migrate`): nothing to check
    # hashers.check_password, not user.check_password: a check must not upgrade and save a hash.
    exposed = [user for user in candidates if check_password(ADMIN_PASSWORD, user.password)]
    return [
        Warning(
            f"The staff account “{user.get_username()}” still has the demo admin's password, which is published in "
            "the source code: anyone can sign in with it.",
            hint=f"Set a new password (manage.py changepassword {user.get_username()}) or deactivate the account.",
            obj=user,
            id="dance_portal.W001",
        )
        for user in exposed
    ]
