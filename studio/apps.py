from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class StudioConfig(AppConfig):
    """The ground floor every app stands on: the studio's settings, its emails, CSV exports and branding."""

    name = "studio"
    verbose_name = _("Studio")

    def ready(self):
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import post_delete, post_save

        from studio import config
        from studio.models import SystemSetting

        request_started.connect(config.start_request_memo, dispatch_uid="studio_settings_start")
        request_finished.connect(config.end_request_memo, dispatch_uid="studio_settings_end")
        for signal in (post_save, post_delete):
            signal.connect(config.clear_request_memo, sender=SystemSetting, dispatch_uid=f"settings_{signal}")


class StudioAdminConfig(admin_apps.AdminConfig):
    """Django's admin app with the studio's admin site (studio.admin_site): its name, logo and colour. Named in
    INSTALLED_APPS in place of django.contrib.admin."""

    default = False  # "studio" alone still means StudioConfig
    default_site = "studio.admin_site.StudioAdminSite"
