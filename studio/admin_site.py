"""The studio's Django admin: the studio's name in the header, page titles and login page instead of "Django
administration", its logo and colour (templates/admin/base_site.html, /branding-admin.css)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from studio.config import studio_settings


class StudioAdminSite(admin.AdminSite):
    """Installed as Django's default admin site (studio.apps.StudioAdminConfig), so `admin.site` and every
    `@admin.register` use it."""

    index_title = _("Dashboard")
    # The owner works at 1280 px: the model list beside every page left the changelists too narrow for their columns
    # next to the filters. The dashboard (the admin's home) lists every model, one click away.
    enable_nav_sidebar = False

    @property
    def site_header(self) -> str:
        return studio_settings().studio_name

    @property
    def site_title(self) -> str:
        return studio_settings().studio_name


class ViewOnly:
    """For a ModelAdmin or an inline of rows that the services write and nothing in the admin adds, edits or deletes
    (histories, the ledger, attendance, absences): the admin lists and shows them only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
