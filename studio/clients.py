"""Who is asking: the client's address, read once the same way for the rate limits, the staff login lockout and the
seat-hold cap (README "Security").

Behind a proxy the address comes from the header it sets (settings.CLIENT_IP_META_KEY, from the environment variable
RATELIMIT_IP_META_KEY, e.g. HTTP_X_REAL_IP). A request without that header (a health check or a balancer talking to
gunicorn directly) falls back to the socket address, with one warning per process, instead of failing.

The address itself is never stored: rows that must remember which client made them keep `client_key(request)`, a
keyed hash (HMAC with a key derived from SECRET_KEY) that tells clients apart without saying who they are.
"""

import ipaddress
import logging

from django.conf import settings
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

# IPv6 clients get a whole /64 (what one home or phone is given), as django-ratelimit counts them: otherwise one
# client could take a new address for every request.
IPV6_PREFIX = 64
CLIENT_KEY_SALT = "studio.clients.client_key"
CLIENT_KEY_LENGTH = 32

_warned: set[str] = set()


def _warn_once(reason: str, message: str, *args) -> None:
    if reason not in _warned:
        _warned.add(reason)
        logger.warning(message, *args)


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's IP address: from settings.CLIENT_IP_META_KEY when the request has it (and it is an address), else
    from the socket (REMOTE_ADDR), logging a warning once per process. Used by django-ratelimit and django-axes."""
    meta_key = settings.CLIENT_IP_META_KEY
    if meta_key != "REMOTE_ADDR":
        raw = request.META.get(meta_key, "")
        # A proxy may append: "client, proxy". The first is the client's.
        ip = _valid_ip(raw.split(",")[0]) if raw else None
        if ip is not None:
            return ip
        _warn_once(
            meta_key,
            "A request came without a usable %s header (a health check, or a client reaching the app server without "
            "the proxy?): using the socket address instead. Logged once per process.",
            meta_key,
        )
    ip = _valid_ip(request.META.get("REMOTE_ADDR", "") or "")
    if ip is None:
        _warn_once("REMOTE_ADDR", "A request came without a socket address (REMOTE_ADDR): counted as 0.0.0.0.")
        return "0.0.0.0"
    return ip


def client_network(request) -> str:
    """The address a client is counted by: its IPv4 address, or its IPv6 /64 network."""
    ip = ipaddress.ip_address(client_ip(request))
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False).network_address)
    return str(ip)


def client_key(request) -> str:
    """A keyed hash of the client's address (its IPv6 /64): equal for one client, unreadable without SECRET_KEY."""
    return salted_hmac(CLIENT_KEY_SALT, client_network(request), algorithm="sha256").hexdigest()[:CLIENT_KEY_LENGTH]
