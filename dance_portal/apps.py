from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DancePortalConfig(AppConfig):
    name = "dance_portal"
    verbose_name = _("Studio")
