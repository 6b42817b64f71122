from django import template

from dance_portal.dashboard import Dashboard, studio_dashboard

register = template.Library()


@register.simple_tag
def studio_dashboard_data() -> Dashboard:
    """`{% studio_dashboard_data as dashboard %}`: the admin index dashboard (dance_portal.dashboard)."""
    return studio_dashboard()
