from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DancePortalConfig(AppConfig):
    """The project package, the top floor: URLs, the admin dashboard and the pages that compose every app."""

    name = "dance_portal"
    verbose_name = _("Dance portal")

    def ready(self):
        from django.contrib.auth.signals import user_login_failed
        from django.db.models.signals import post_migrate

        from dance_portal import checks  # noqa: F401  (registers the project's system checks)
        from dance_portal.login_throttle import count_failed_login
        from dance_portal.roles import sync_staff_groups

        # Every wrong staff password counts against its client address, whatever the username (login_throttle.py).
        user_login_failed.connect(count_failed_login, dispatch_uid="dance_portal_count_failed_login")

        # After Django's own post_migrate handlers, which create each app's permissions. Django sends post_migrate
        # only for apps with a models module, which this one no longer has: so on every app's (the groups only ever
        # gain permissions; the last app's run sees them all).
        post_migrate.connect(
            lambda sender, using, **kwargs: sync_staff_groups(using=using),
            weak=False,
            dispatch_uid="dance_portal_sync_staff_groups",
        )
