from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DancePortalConfig(AppConfig):
    """The project package, the top floor: URLs, the admin dashboard and the pages that compose every app."""

    name = "dance_portal"
    verbose_name = _("Dance portal")

    def ready(self):
        from django.db.models.signals import post_migrate

        from dance_portal.roles import sync_staff_groups

        # After each app's post_migrate, once Django's own handler (connected first) has made that app's permissions.
        # For every app, not for this one only: Django sends post_migrate only for apps with a models module, which
        # this app no longer has, so a new model's permissions would never reach the Studio admin.
        post_migrate.connect(
            lambda sender, using, **kwargs: sync_staff_groups(using=using),
            weak=False,
            dispatch_uid="dance_portal_sync_staff_groups",
        )
