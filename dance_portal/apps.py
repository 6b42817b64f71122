from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DancePortalConfig(AppConfig):
    """The project package, the top floor: URLs, the admin dashboard and the pages that compose every app."""

    name = "dance_portal"
    verbose_name = _("Dance portal")

    def ready(self):
        from django.db.models.signals import post_migrate

        from dance_portal.roles import sync_staff_groups

        # post_migrate is sent once per app with models, each after Django's handler has made that app's permissions
        # (this app has none, so it gets no signal of its own): after the last app, the groups hold every permission.
        post_migrate.connect(
            lambda sender, using, **kwargs: sync_staff_groups(using=using),
            weak=False,
            dispatch_uid="dance_portal_sync_staff_groups",
        )
