import pytest
from django.core.exceptions import ValidationError

from registrations.tests.factories import RegistrationFactory
from studio.branding import branding_css_text
from studio.config import contrast_with_white, parse_setting, studio_settings
from studio.models import SystemSetting

pytestmark = pytest.mark.django_db


def store(key: str, value: str) -> None:
    SystemSetting.objects.create(setting_key=key, setting_value=value)


@pytest.mark.parametrize("raw, value", [("#4B2A84", "#4b2a84"), (" #000000 ", "#000000"), ("#1a5e20", "#1a5e20")])
def test_accent_color_accepts_a_dark_hex_colour_in_lower_case(raw, value):
    assert parse_setting("accent_color", raw) == value


@pytest.mark.parametrize(
    "raw", ["", "4b2a84", "#4b2a8", "#4b2a8400", "#ggg000", "red", "rgb(0,0,0)", "#4b2a84;}body{display:none", "\x00"]
)
def test_accent_color_rejects_anything_but_hash_and_six_hex_digits(raw):
    with pytest.raises(ValidationError):
        parse_setting("accent_color", raw)


@pytest.mark.parametrize("raw", ["#ffffff", "#ffeb3b", "#8ab4f8"])
def test_accent_color_rejects_light_colours_white_text_is_unreadable_on(raw):
    with pytest.raises(ValidationError, match="darker"):
        parse_setting("accent_color", raw)


def test_contrast_with_white_spans_one_to_twenty_one():
    assert contrast_with_white("#ffffff") == pytest.approx(1)
    assert contrast_with_white("#000000") == pytest.approx(21)


@pytest.mark.parametrize(
    "raw, value", [("@groove.studio", "groove.studio"), ("groove_studio", "groove_studio"), ("", "")]
)
def test_social_handle_accepts_an_instagram_handle_without_the_at(raw, value):
    assert parse_setting("social_handle", raw) == value


@pytest.mark.parametrize("raw", ["groove studio", ".groove", "groove.", "gro..ove", "a" * 31, "<script>", "x/y"])
def test_social_handle_rejects_what_instagram_does_not_allow(raw):
    with pytest.raises(ValidationError):
        parse_setting("social_handle", raw)


def test_a_stored_bad_accent_color_falls_back_to_the_default():
    store("accent_color", "#ffffff")
    assert studio_settings().accent_color == "#4b2a84"


def test_branding_css_sets_the_accent_and_a_darker_hover_shade():
    css = branding_css_text("#1a5e20")
    assert "--studio-accent: #1a5e20;" in css
    assert "--bs-primary-rgb: 26, 94, 32;" in css
    assert "--studio-accent-dark: #144919;" in css


def test_branding_css_serves_the_stored_colour_as_cacheable_css(client):
    store("accent_color", "#1A5E20")
    response = client.get("/branding.css")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert "max-age=86400" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    assert "--studio-accent: #1a5e20;" in response.text


def test_branding_css_refuses_post(client):
    assert client.post("/branding.css").status_code == 405


def test_every_page_links_the_branding_stylesheet_versioned_by_colour_without_inline_style(client):
    store("accent_color", "#1a5e20")
    html = client.get("/").text
    assert 'href="/branding.css?v=1a5e20"' in html
    assert "style=" not in html
    assert '<meta name="theme-color" content="#1a5e20">' in html


def test_header_footer_and_payment_page_show_the_studio_contact_and_instagram(client):
    store("studio_name", "Groove Studio")
    store("contact_email", "hello@groove.example")
    store("social_handle", "groovestudio")
    registration = RegistrationFactory()
    html = client.get(registration.get_absolute_url()).text
    assert html.count("Groove Studio") >= 2
    assert 'href="mailto:hello@groove.example"' in html
    assert 'href="https://www.instagram.com/groovestudio/"' in html
    assert "Questions? Ask Groove Studio:" in html


def test_emails_carry_the_studio_colour_contact_and_instagram():
    from studio.emails import render_email

    store("studio_name", "Groove Studio")
    store("contact_email", "hello@groove.example")
    store("social_handle", "groovestudio")
    store("accent_color", "#1a5e20")
    registration = RegistrationFactory()
    subject, text, html = render_email(kind="registration_received", context={"registration": registration})
    assert "Groove Studio · hello@groove.example · Instagram @groovestudio" in text
    assert "background:#1a5e20" in html
    assert "@groovestudio" in html


def test_empty_catalog_says_so_and_points_to_the_studio_instagram(client):
    store("social_handle", "groovestudio")
    html = client.get("/").text
    assert "No classes are open for registration right now." in html
    assert "Follow @groovestudio for news" in html


def test_catalog_puts_crew_practices_in_their_own_section_with_a_crew_only_badge(client):
    from courses.tests.factories import CourseFactory, priced_slot

    priced_slot(course=CourseFactory(name="Open Crew Jam", course_type="crew_practice"), full_package=None)
    html = client.get("/").text
    assert 'class="catalog-section mb-4 crew-section"' in html
    assert '<span class="badge badge-crew ms-1">Crew only</span>' in html


def test_catalog_offers_the_waitlist_on_a_full_course(client):
    from courses.tests.factories import CourseFactory, priced_slot

    course = CourseFactory(name="Waacking")
    RegistrationFactory(slot=priced_slot(course=course, capacity=1))
    html = client.get("/").text
    assert f'href="{course.get_absolute_url()}#waitlist">Details and waitlist</a>' in html
