from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The student portal at /me/: the pages that show a student everything they have across the apps."""

    name = "portal"
    verbose_name = _("Student portal")
