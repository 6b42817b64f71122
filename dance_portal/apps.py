from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DancePortalConfig(AppConfig):
    name = "dance_portal"
    verbose_name = _("Studio")

    def ready(self):
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import post_delete, post_save

        from dance_portal import studio_settings
        from dance_portal.models import SystemSetting

        request_started.connect(studio_settings.start_request_memo, dispatch_uid="studio_settings_start")
        request_finished.connect(studio_settings.end_request_memo, dispatch_uid="studio_settings_end")
        for signal in (post_save, post_delete):
            signal.connect(studio_settings.clear_request_memo, sender=SystemSetting, dispatch_uid=f"settings_{signal}")
