"""The client's address (README "Scaling out"): read once the same way for rate limits, the login lockout and the hold
cap; a request without the proxy's header falls back to the socket address with one warning, never a 500."""

import logging
import runpy
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.urls import reverse

from courses.tests.factories import priced_slot
from students.services import make_sign_in_token
from students.tests.factories import StudentFactory
from studio import clients

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def behind_nginx(settings, monkeypatch):
    """The settings a server reads with RATELIMIT_IP_META_KEY=HTTP_X_REAL_IP (README's production advice)."""
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.setenv("RATELIMIT_IP_META_KEY", "HTTP_X_REAL_IP")
    production = runpy.run_path(str(ROOT / "dance_portal" / "settings.py"))
    for name in ("RATELIMIT_IP_META_KEY", "CLIENT_IP_META_KEY", "AXES_CLIENT_IP_CALLABLE"):
        if name in production:
            setattr(settings, name, production[name])
    monkeypatch.setattr(clients, "_warned", set())
    return settings


def registration_form(slot, email):
    return {
        "email": email,
        "first_name": "Ana",
        "last_name": "Lima",
        "slot": str(slot.pk),
        "pricing_type": "full_package",
        "payment_method": "venmo",
    }


def test_requests_without_the_proxy_header_fall_back_to_the_socket_address_with_one_warning(
    client, behind_nginx, caplog
):
    """A health check or a balancer talking to gunicorn directly sends no X-Real-IP: never a 500."""
    slot = priced_slot()
    caplog.set_level(logging.WARNING, logger="studio.clients")

    offer = client.get(reverse("waitlist:offer", args=["x" * 43]))
    sign_in = client.get(reverse("students:sign_in", args=[make_sign_in_token(StudentFactory())]))
    registered = client.post(
        reverse("registrations:create", args=[slot.course.pk]), registration_form(slot, "ana@example.org")
    )

    assert (offer.status_code, sign_in.status_code, registered.status_code) == (404, 200, 302)
    warnings = [record for record in caplog.records if record.name == "studio.clients"]
    assert len(warnings) == 1
    assert "HTTP_X_REAL_IP" in warnings[0].getMessage()


def test_requests_without_the_header_are_counted_by_their_socket_address(client, behind_nginx):
    behind_nginx.RATELIMIT_WAITLIST_OFFER = "2/h"
    offer = reverse("waitlist:offer", args=["x" * 43])

    answers = [client.get(offer, REMOTE_ADDR="198.51.100.1").status_code for _ in range(3)]
    other_socket = client.get(offer, REMOTE_ADDR="198.51.100.2").status_code

    assert answers == [404, 404, 429]
    assert other_socket == 404


def test_the_proxy_header_names_the_client_when_it_is_there(client, behind_nginx):
    behind_nginx.RATELIMIT_WAITLIST_OFFER = "1/h"
    offer = reverse("waitlist:offer", args=["x" * 43])

    # Every request reaches gunicorn from nginx (one socket address); the header tells the clients apart.
    first = client.get(offer, HTTP_X_REAL_IP="203.0.113.7").status_code
    again = client.get(offer, HTTP_X_REAL_IP="203.0.113.7").status_code
    other = client.get(offer, HTTP_X_REAL_IP="203.0.113.8").status_code

    assert (first, again, other) == (404, 429, 404)


def test_a_header_that_is_not_an_address_falls_back_to_the_socket(behind_nginx):
    request = RequestFactory().get("/", HTTP_X_REAL_IP="not-an-ip", REMOTE_ADDR="198.51.100.1")

    assert clients.client_ip(request) == "198.51.100.1"


def test_a_list_of_addresses_counts_the_first(behind_nginx):
    request = RequestFactory().get("/", HTTP_X_REAL_IP="203.0.113.7, 10.0.0.1", REMOTE_ADDR="10.0.0.1")

    assert clients.client_ip(request) == "203.0.113.7"


def test_client_key_is_a_keyed_hash_the_same_for_one_client_and_not_the_address():
    def key(ip):
        return clients.client_key(RequestFactory().get("/", REMOTE_ADDR=ip))

    assert key("203.0.113.7") == key("203.0.113.7")
    assert key("203.0.113.7") != key("203.0.113.8")
    assert "203" not in key("203.0.113.7") and len(key("203.0.113.7")) == 32
    # One IPv6 client (a /64) is one client, whichever address of it it takes.
    assert key("2001:db8:1:2::7") == key("2001:db8:1:2:ffff::1")
    assert key("2001:db8:1:2::7") != key("2001:db8:1:3::7")


def test_client_key_changes_with_the_secret_key(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
    before = clients.client_key(request)
    settings.SECRET_KEY = "another-key-" + "x" * 40

    assert clients.client_key(request) != before
