"""The admin as the studio's own (README "Branding"): its name, logo and colour, light and dark; a favicon
everywhere."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from studio.admin_site import StudioAdminSite
from studio.branding import admin_branding_css_text
from studio.config import contrast_ratio
from studio.models import SystemSetting
from studio.tests.test_logo import store_logo

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind pytest-django's admin_client, without a password: hashing one costs seconds."""
    return django_user_model.objects.create_superuser(username="admin", email="admin@example.org", password=None)


def css_variables(css: str, selector: str) -> dict[str, str]:
    """The custom properties of the first rule whose selector starts with `selector`."""
    block = css.split(selector, 1)[1].split("}", 1)[0]
    return dict(re.findall(r"(--[\w-]+):\s*([^;]+);", block))


def test_the_default_admin_site_is_the_studios():
    assert isinstance(admin.site, StudioAdminSite)


def test_login_page_carries_the_studio_name_not_djangos(client):
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Groove <Studio>")

    html = client.get(LOGIN).content.decode()

    assert "<title>Log in | Groove &lt;Studio&gt;</title>" in html
    assert '<div id="site-name"><a href="/admin/"><span>Groove &lt;Studio&gt;</span></a></div>' in html
    assert "Django" not in html


def test_admin_pages_are_titled_with_the_studio_name_and_the_index_is_the_dashboard(admin_client):
    SystemSetting.objects.create(setting_key="studio_name", setting_value="Groove Studio")

    index = admin_client.get(INDEX).content.decode()
    changelist = admin_client.get(reverse("admin:registrations_registration_changelist")).content.decode()

    assert "<title>Dashboard | Groove Studio</title>" in index
    assert "<h1>Dashboard</h1>" in index
    assert "| Groove Studio</title>" in changelist
    assert "Django administration" not in index + changelist


def test_admin_has_no_model_sidebar_so_lists_keep_their_width(admin_client):
    html = admin_client.get(reverse("admin:registrations_registration_changelist")).content.decode()

    assert 'id="nav-sidebar"' not in html


def test_admin_header_shows_the_uploaded_logo_beside_the_name(client):
    logo = store_logo()
    version = int(logo.updated_at.timestamp() * 1000)

    html = client.get(LOGIN).content.decode()

    assert f'<img class="studio-admin-logo" src="/branding/logo?v={version}" alt="">' in html


def test_admin_links_the_colour_stylesheet_by_the_accent_colour(client):
    SystemSetting.objects.create(setting_key="accent_color", setting_value="#1a5e20")

    html = client.get(LOGIN).content.decode()

    assert '<link rel="stylesheet" href="/branding-admin.css?v=1a5e20"' in html
    # After Django's dark mode variables, so that the studio's win.
    assert html.index("admin/css/dark_mode.css") < html.index("/branding-admin.css")


def test_admin_colour_stylesheet_sets_djangos_variables_light_and_dark(client):
    SystemSetting.objects.create(setting_key="accent_color", setting_value="#1a5e20")

    response = client.get("/branding-admin.css?v=1a5e20")

    css = response.content.decode()
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert "max-age=86400" in response["Cache-Control"]
    light = css_variables(css, 'html[data-theme="light"], :root {')
    assert light["--primary"] == light["--header-bg"] == light["--button-bg"] == "#1a5e20"
    assert light["--header-link-color"] == light["--header-branding-color"] == "#ffffff"
    assert css_variables(css, "@media (prefers-color-scheme: dark) {\n  :root {")["--header-bg"]
    assert css_variables(css, 'html[data-theme="dark"] {') == css_variables(
        css, "@media (prefers-color-scheme: dark) {\n  :root {"
    )


@pytest.mark.parametrize("accent", ["#4b2a84", "#1a5e20", "#000000", "#767676", "#b3261e", "#0b57d0", "#6b4e00"])
def test_admin_colours_read_at_wcag_aa_on_the_backgrounds_they_sit_on(accent):
    """Every text colour the stylesheet makes is readable (4.5:1) on the admin's backgrounds, whatever accent the owner
    picks (the setting only promises white text is readable on the accent itself)."""
    css = admin_branding_css_text(accent)
    light = css_variables(css, 'html[data-theme="light"], :root {')
    dark = css_variables(css, 'html[data-theme="dark"] {')

    for background in ["#ffffff", "#f8f8f8", light["--selected-row"]]:  # body, darkened rows, a selected row
        assert contrast_ratio(light["--link-fg"], background) >= 4.5
    for background in ["#121212", "#212121", dark["--selected-row"]]:
        assert contrast_ratio(dark["--link-fg"], background) >= 4.5
    for background in [light["--header-bg"], light["--breadcrumbs-bg"], light["--button-bg"], dark["--header-bg"]]:
        assert contrast_ratio("#ffffff", background) >= 4.5
    assert contrast_ratio("#333333", light["--accent"]) >= 4.5  # the calendar's caption


def test_every_page_has_the_default_favicon_without_a_logo(client, admin_client):
    for html in (client.get("/").content.decode(), admin_client.get(INDEX).content.decode()):
        assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in html


def test_the_favicon_is_the_studio_logo_when_there_is_one(client, admin_client):
    logo = store_logo()
    icon = f'<link rel="icon" href="/branding/logo?v={int(logo.updated_at.timestamp() * 1000)}">'

    assert icon in client.get("/").content.decode()
    assert icon in client.get(LOGIN).content.decode()
    assert icon in admin_client.get(INDEX).content.decode()
