"""The studio's colour as a tiny stylesheet, so branding needs no code change and no inline style (the CSP forbids
them). base.html links it with the colour in the query string: a new colour is a new URL, so it may be cached long.

The admin gets the same colour through Django admin's own CSS variables (`--primary`, `--header-bg`, `--link-fg`...),
light and dark, from `/branding-admin.css`: shades of the colour chosen so that every text on them stays readable
(WCAG AA, 4.5:1), whatever colour the owner picks.

The studio's logo: uploaded in the admin, checked by its first bytes (PNG, JPEG or WebP only; never SVG, which can
carry scripts), stored in the database (no media folder to share between web servers) and served by `studio_logo`
with its own type, nosniff and a CSP that allows nothing. Its URL carries the upload time, so a new logo is a new URL.
"""

import struct

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.csp import CSP
from django.views.decorators.cache import cache_control
from django.views.decorators.csp import csp_override
from django.views.decorators.http import condition, require_GET, require_safe

from studio.config import contrast_ratio, studio_settings

LOGO_MAX_BYTES = 512 * 1024

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
    return HttpResponse(branding_css_text(studio_settings().accent_color), content_type="text/css; charset=utf-8")


# Django admin's backgrounds that links and text sit on (django/contrib/admin/static/admin/css/base.css, dark_mode.css).
_ADMIN_LIGHT_BACKGROUNDS = ["#ffffff", "#f8f8f8"]  # --body-bg, --darkened-bg
_ADMIN_DARK_BACKGROUNDS = ["#121212", "#212121"]
_WHITE, _BLACK, _DARK_BODY = (255, 255, 255), (0, 0, 0), (18, 18, 18)
_AA = 4.5

ADMIN_BRANDING_CSS = """/* Django admin in the studio's colour: its own variables, light theme (and the default)... */
html[data-theme="light"], :root {{
  --primary: {accent};
  --secondary: {accent};
  --accent: {tint};
  --header-bg: {accent};
  --header-color: #ffffff;
  --header-branding-color: #ffffff;
  --header-link-color: #ffffff;
  --breadcrumbs-bg: {dark};
  --breadcrumbs-fg: #ffffff;
  --breadcrumbs-link-fg: #ffffff;
  --link-fg: {link};
  --link-hover-color: {link_hover};
  --link-selected-fg: {link};
  --button-bg: {accent};
  --button-hover-bg: {dark};
  --default-button-bg: {dark};
  --default-button-hover-bg: {accent};
  --object-tools-bg: {dark};
  --object-tools-hover-bg: {accent};
  --selected-row: {selected_row};
}}
/* ...and dark: the browser's preference unless the theme toggle says light, or the toggle's dark. */
@media (prefers-color-scheme: dark) {{
  :root {{
{dark_block}
  }}
}}
html[data-theme="dark"] {{
{dark_block}
}}
"""

_ADMIN_DARK_VARIABLES = """    --primary: {dark};
    --secondary: {accent};
    --accent: {tint};
    --header-bg: {dark};
    --breadcrumbs-bg: {accent};
    --link-fg: {link};
    --link-hover-color: {link_hover};
    --link-selected-fg: {link};
    --button-bg: {accent};
    --button-hover-bg: {dark};
    --default-button-bg: {accent};
    --default-button-hover-bg: {dark};
    --object-tools-bg: {accent};
    --object-tools-hover-bg: {dark};
    --selected-row: {selected_row};"""


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _mix(rgb, other, amount: float) -> tuple[int, int, int]:
    """`rgb` moved `amount` (0 to 1) of the way towards `other`."""
    return tuple(round(c + (o - c) * amount) for c, o in zip(rgb, other, strict=True))


def readable_shade(rgb, backgrounds: list[str], *, towards) -> tuple[int, int, int]:
    """The shade of `rgb` nearest to it, moved towards `towards` (black or white), that reads at 4.5:1 or more on
    every one of `backgrounds`."""
    for step in range(21):
        shade = _mix(rgb, towards, step / 20)
        if all(contrast_ratio(_hex(shade), background) >= _AA for background in backgrounds):
            return shade
    return towards


def admin_branding_css_text(accent: str) -> str:
    """Django admin's colour variables for `accent` (#rrggbb, white text readable on it: see studio.config)."""
    rgb = _rgb(accent)
    dark = _mix(rgb, _BLACK, 0.22)  # the hover shade of /branding.css
    tint = _mix(rgb, _WHITE, 0.85)  # behind dark text: the calendar's caption
    light_row = _mix(rgb, _WHITE, 0.9)
    dark_row = _mix(rgb, _DARK_BODY, 0.7)
    light_link = readable_shade(rgb, [*_ADMIN_LIGHT_BACKGROUNDS, _hex(light_row)], towards=_BLACK)
    dark_link = readable_shade(rgb, [*_ADMIN_DARK_BACKGROUNDS, _hex(dark_row)], towards=_WHITE)
    dark_variables = _ADMIN_DARK_VARIABLES.format(
        accent=accent,
        dark=_hex(dark),
        tint=_hex(tint),
        link=_hex(dark_link),
        link_hover=_hex(_mix(dark_link, _WHITE, 0.4)),
        selected_row=_hex(dark_row),
    )
    return ADMIN_BRANDING_CSS.format(
        accent=accent,
        dark=_hex(dark),
        tint=_hex(tint),
        link=_hex(light_link),
        link_hover=_hex(_mix(light_link, _BLACK, 0.3)),
        selected_row=_hex(light_row),
        dark_block=dark_variables,
    )


@require_GET
@cache_control(public=True, max_age=24 * 3600)
def admin_branding_css(request):
    """/branding-admin.css: the studio colour as Django admin's CSS variables, light and dark."""
    css = admin_branding_css_text(studio_settings().accent_color)
    return HttpResponse(css, content_type="text/css; charset=utf-8")


def sniff_image(data: bytes) -> tuple[str, int | None, int | None] | None:
    """(content type, width, height) of PNG, JPEG or WebP bytes, told by their magic bytes; None for anything else.

    Width and height are None when the header does not give them plainly.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        size = struct.unpack(">II", data[16:24]) if data[12:16] == b"IHDR" and len(data) >= 24 else (None, None)
        return ("image/png", *size)
    if data.startswith(b"\xff\xd8\xff"):
        return ("image/jpeg", *_jpeg_size(data))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ("image/webp", *_webp_size(data))
    return None


def _jpeg_size(data: bytes) -> tuple[int | None, int | None]:
    """Walk the JPEG segments to the first start-of-frame marker, which holds height then width."""
    i = 2
    while i + 9 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return None, None


def _webp_size(data: bytes) -> tuple[int | None, int | None]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None, None


def logo_url() -> str:
    """The logo's URL with its upload time as version (one small query), or "" when there is no logo."""
    from studio.models import StudioLogo

    updated_at = StudioLogo.objects.values_list("updated_at", flat=True).first()
    return "" if updated_at is None else versioned_logo_url(updated_at)


def versioned_logo_url(updated_at) -> str:
    """/branding/logo?v=<upload time in ms>: a new upload is a new URL, so browsers may keep the old one a day."""
    return f"{reverse('studio_logo')}?v={int(updated_at.timestamp() * 1000)}"


def _logo_updated_at(request):
    from studio.models import StudioLogo

    return StudioLogo.objects.values_list("updated_at", flat=True).first()


@require_safe
@csp_override({"default-src": [CSP.NONE]})
@cache_control(public=True, max_age=24 * 3600)
@condition(last_modified_func=_logo_updated_at)
def studio_logo(request):
    """/branding/logo: the uploaded logo as stored, never sniffed or run as a document; 404 when there is none."""
    from studio.models import StudioLogo

    logo = StudioLogo.objects.filter(pk=1).first()
    if logo is None:
        raise Http404("No logo")
    response = HttpResponse(bytes(logo.data), content_type=logo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response
