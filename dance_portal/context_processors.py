from dance_portal.branding import logo_url
from dance_portal.studio_settings import get_settings


def studio(request):
    """Studio settings and the logo's URL for every template, read lazily so pages that never use them run no query."""
    from django.utils.functional import SimpleLazyObject

    return {"studio": SimpleLazyObject(get_settings), "studio_logo_url": SimpleLazyObject(logo_url)}
