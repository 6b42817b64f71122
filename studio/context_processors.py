from studio.branding import logo_url
from studio.config import studio_settings


def studio(request):
    """Studio settings and the logo's URL for every template, read lazily so pages that never use them run no query."""
    from django.utils.functional import SimpleLazyObject

    return {"studio": SimpleLazyObject(studio_settings), "studio_logo_url": SimpleLazyObject(logo_url)}
