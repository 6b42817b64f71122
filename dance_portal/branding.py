"""The studio's colour as a tiny stylesheet, so branding needs no code change and no inline style (the CSP forbids
them). base.html links it with the colour in the query string: a new colour is a new URL, so it may be cached long."""

from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from dance_portal.studio_settings import get_setting

BRANDING_CSS = """:root {{
  --studio-accent: {accent};
  --studio-accent-dark: {dark};
  --bs-primary: {accent};
  --bs-primary-rgb: {rgb};
  --bs-link-color: {accent};
  --bs-link-color-rgb: {rgb};
  --bs-link-hover-color: {dark};
  --bs-link-hover-color-rgb: {dark_rgb};
}}
"""


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


def branding_css_text(accent: str) -> str:
    """The stylesheet for `accent` (#rrggbb, already validated): the colour, a darker hover shade and their RGB."""
    rgb = _rgb(accent)
    dark_rgb = tuple(round(c * 0.78) for c in rgb)
    return BRANDING_CSS.format(
        accent=accent,
        dark="#{:02x}{:02x}{:02x}".format(*dark_rgb),
        rgb=", ".join(map(str, rgb)),
        dark_rgb=", ".join(map(str, dark_rgb)),
    )


@require_GET
@cache_control(public=True, max_age=24 * 3600)
def branding_css(request):
    """/branding.css: the studio colour as CSS custom properties for site.css to use."""
    return HttpResponse(branding_css_text(get_setting("accent_color")), content_type="text/css; charset=utf-8")
