from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DancePortalConfig(AppConfig):
    """The project package, the top floor: URLs, the admin dashboard and the pages that compose every app."""

    name = "dance_portal"
    verbose_name = _("Dance portal")

    def ready(self):
        from django.db.models.signals import post_migrate

        from dance_portal.roles import sync_staff_groups

        # After Django's own post_migrate handler, which creates each app's permissions (connected first). For every
        # app, not only this one: post_migrate is not sent for an app without models (this one), and the last app's
        # signal comes after every permission exists, whichever migrations ran (a model added later included).
        post_migrate.connect(
            lambda sender, using, **kwargs: sync_staff_groups(using=using),
            weak=False,
            dispatch_uid="dance_portal_sync_staff_groups",
        )
