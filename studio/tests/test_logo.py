"""The studio logo (README "Branding"): uploaded in the admin, checked by its bytes, stored in the database, served
safely."""

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import http_date

from studio.branding import LOGO_MAX_BYTES, sniff_image
from studio.models import StudioLogo, SystemSetting

pytestmark = pytest.mark.django_db

LOGO = "/branding/logo"
ADD = "/admin/studio/studiologo/add/"


def png(width: int = 3, height: int = 2, padding: int = 0, grey: int = 0) -> bytes:
    """A valid PNG of `width`×`height` pixels of one `grey`, plus `padding` bytes of an ancillary chunk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + bytes([grey]) * width for _ in range(height)))
    extra = chunk(b"zzZz", b"\x00" * padding) if padding else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def webp_lossless(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    body = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + struct.pack("<I", bits)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


def upload(admin_client, name: str, data: bytes, content_type: str = "image/png", url: str = ADD):
    return admin_client.post(url, {"upload": SimpleUploadedFile(name, data, content_type=content_type)})


def store_logo(data: bytes | None = None) -> StudioLogo:
    return StudioLogo.objects.create(data=data or png(), content_type=StudioLogo.ContentType.PNG, width=3, height=2)


# --- Upload ---------------------------------------------------------------------------------------------------


def test_admin_upload_of_a_png_stores_its_bytes_type_and_size(admin_client):
    response = upload(admin_client, "logo.png", png(3, 2))

    assert response.status_code == 302
    logo = StudioLogo.objects.get()
    assert (logo.pk, bytes(logo.data), logo.content_type, logo.width, logo.height) == (
        1,
        png(3, 2),
        StudioLogo.ContentType.PNG,
        3,
        2,
    )


def test_admin_upload_trusts_the_bytes_not_the_name_or_browser_type(admin_client):
    upload(admin_client, "logo.txt", jpeg(40, 30), content_type="text/plain")

    logo = StudioLogo.objects.get()
    assert (logo.content_type, logo.width, logo.height) == (StudioLogo.ContentType.JPEG, 40, 30)


@pytest.mark.parametrize(
    "name, data, content_type",
    [
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
        ("logo.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "image/png"),
        ("logo.png", b"<!doctype html><script>alert(1)</script>", "image/png"),
        ("logo.png", b"just some text renamed to .png\n", "image/png"),
        ("logo.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"),
        ("logo.png", b"", "image/png"),
    ],
    ids=["svg", "svg-renamed-png", "html-renamed-png", "text-renamed-png", "gif", "empty"],
)
def test_admin_upload_refuses_anything_but_png_jpeg_or_webp_and_saves_nothing(admin_client, name, data, content_type):
    response = upload(admin_client, name, data, content_type)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["upload"]
    assert errors and ("PNG, JPEG or WebP" in errors[0] or "empty" in errors[0])
    assert not StudioLogo.objects.exists()


def test_admin_upload_refuses_a_png_over_512_kb_and_saves_nothing(admin_client):
    data = png(padding=LOGO_MAX_BYTES)
    assert len(data) > LOGO_MAX_BYTES

    response = upload(admin_client, "logo.png", data)

    assert response.status_code == 200
    assert "at most 512 kB" in response.context["adminform"].form.errors["upload"][0]
    assert not StudioLogo.objects.exists()


def test_admin_upload_accepts_a_png_of_exactly_512_kb(admin_client):
    data = png(padding=LOGO_MAX_BYTES - len(png()) - 12)
    assert len(data) == LOGO_MAX_BYTES

    assert upload(admin_client, "logo.png", data).status_code == 302
    assert StudioLogo.objects.exists()


def test_admin_offers_no_second_logo_but_replaces_the_one_there(admin_client):
    old = store_logo()

    assert admin_client.get(ADD).url == reverse("admin:studio_studiologo_change", args=[1])
    response = upload(
        admin_client,
        "new.webp",
        webp_lossless(64, 32),
        "image/webp",
        url=reverse("admin:studio_studiologo_change", args=[1]),
    )

    assert response.status_code == 302
    logo = StudioLogo.objects.get()
    assert (logo.content_type, logo.width, logo.height) == (StudioLogo.ContentType.WEBP, 64, 32)
    assert logo.updated_at > old.updated_at


def test_admin_change_page_shows_a_preview_of_the_logo(admin_client):
    store_logo()

    response = admin_client.get(reverse("admin:studio_studiologo_change", args=[1]))

    assert response.status_code == 200
    assert 'src="/branding/logo?v=' in response.content.decode()


@pytest.mark.parametrize(
    "data, sniffed",
    [
        (png(7, 5), ("image/png", 7, 5)),
        (jpeg(120, 48), ("image/jpeg", 120, 48)),
        (webp_lossless(300, 100), ("image/webp", 300, 100)),
        (b"\x89PNG\r\n\x1a\n", ("image/png", None, None)),
        (b"<svg/>", None),
        (b"%PDF-1.7", None),
        (b"RIFF\x00\x00\x00\x00WAVE", None),
    ],
    ids=["png", "jpeg", "webp", "png-no-header", "svg", "pdf", "wav"],
)
def test_sniff_image_tells_type_and_size_from_the_bytes(data, sniffed):
    assert sniff_image(data) == sniffed


# --- Serving --------------------------------------------------------------------------------------------------


def test_logo_is_served_with_its_type_nosniff_inline_and_a_csp_allowing_nothing(client):
    logo = store_logo()

    response = client.get(LOGO, {"v": "1"})

    assert response.status_code == 200
    assert response.content == png()
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == "inline"
    assert response["Content-Security-Policy"] == "default-src 'none'"
    assert "max-age=86400" in response["Cache-Control"] and "public" in response["Cache-Control"]
    assert response["Last-Modified"] == http_date(logo.updated_at.timestamp())


def test_logo_answers_not_modified_to_a_browser_holding_the_current_one(client):
    store_logo()
    last_modified = client.get(LOGO)["Last-Modified"]

    response = client.get(LOGO, headers={"if-modified-since": last_modified})

    assert response.status_code == 304
    assert response.content == b""


def test_logo_is_404_when_none_was_uploaded(client):
    assert client.get(LOGO).status_code == 404


def test_logo_refuses_post(client):
    store_logo()

    assert client.post(LOGO).status_code == 405


# --- Pages and emails -----------------------------------------------------------------------------------------


def test_header_shows_the_logo_with_the_studio_name_as_alt_text(client):
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Salsa <Loft>")
    logo = store_logo()

    html = client.get("/").content.decode()

    version = int(logo.updated_at.timestamp() * 1000)
    assert f'<img class="site-logo" src="/branding/logo?v={version}" alt="Salsa &lt;Loft&gt;">' in html


def test_header_shows_the_studio_name_without_a_logo(client):
    html = client.get("/").content.decode()

    assert 'class="site-brand" href="/">Dance Studio</a>' in html
    assert "site-logo" not in html


def test_cached_catalog_shows_a_logo_uploaded_after_it_was_cached(client, admin_client):
    assert "site-logo" not in client.get("/").content.decode()
    assert "site-logo" not in client.get("/").content.decode()  # now from the cache

    upload(admin_client, "logo.png", png())

    assert 'class="site-logo"' in client.get("/").content.decode()


def test_cached_catalog_shows_the_studio_name_again_after_the_logo_is_deleted(client):
    store_logo()
    assert 'class="site-logo"' in client.get("/").content.decode()

    StudioLogo.objects.all().delete()

    assert "site-logo" not in client.get("/").content.decode()


def test_email_header_shows_the_logo_by_its_absolute_url_when_given_one():
    context = {"studio": {"studio_name": "Salsa Loft", "accent_color": "#4b2a84"}, "site_url": "https://dance.example"}

    with_logo = render_to_string("emails/_base.html", {**context, "studio_logo_url": "/branding/logo?v=5"})
    without = render_to_string("emails/_base.html", context)

    assert '<img src="https://dance.example/branding/logo?v=5" alt="Salsa Loft"' in with_logo
    assert "<img" not in without


def test_sent_emails_carry_the_uploaded_logo(settings):
    from studio.emails import render_email

    settings.SITE_URL = "https://dance.example"
    logo = store_logo()

    _subject, _text, html = render_email(kind="already_registered", context={"registration_url": "https://x"})

    assert f'<img src="https://dance.example/branding/logo?v={int(logo.updated_at.timestamp() * 1000)}"' in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_header_logo_loads_under_the_csp_and_is_32_px_high(live_server, phone, screenshot):
    StudioLogo.objects.create(
        data=png(240, 80, grey=255), content_type=StudioLogo.ContentType.PNG, width=240, height=80
    )
    console = []
    phone.on("console", lambda message: console.append(message.text))

    phone.goto(live_server.url + "/")

    logo = phone.locator("img.site-logo")
    logo.wait_for()
    assert phone.evaluate("document.querySelector('img.site-logo').naturalWidth") == 240
    assert logo.bounding_box()["height"] == 32
    assert logo.get_attribute("alt") == "Dance Studio"
    assert not [text for text in console if "Content Security Policy" in text]
    screenshot(phone, "logo-header")
