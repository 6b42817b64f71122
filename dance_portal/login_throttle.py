"""Staff login throttled by client address across usernames (README "Security", docs/bad-inputs.md #42).

django-axes locks a username and address pair after AXES_FAILURE_LIMIT wrong passwords; someone trying many usernames
from one address is never locked by it, and every try costs a password hash (~235 ms of Argon2, so a few such clients
slow the whole site). Here every failed staff login (Django's `user_login_failed`) counts against its client address
in the shared cache (settings.RATELIMIT_STAFF_LOGIN, per address whatever the username), and once the count is reached
the middleware answers the login POST with the 429 page before the login view runs: no password is hashed.
"""

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django_ratelimit.core import get_usage

GROUP = "staff_login.failures_per_address"


def _usage(request, *, increment: bool) -> dict | None:
    return get_usage(request, group=GROUP, key="ip", rate=settings.RATELIMIT_STAFF_LOGIN, increment=increment)


def count_failed_login(sender, credentials=None, request=None, **kwargs) -> None:
    """`user_login_failed` receiver: one more wrong password from this client address (connected in apps.py)."""
    if request is not None:
        _usage(request, increment=True)


def is_paused(request) -> bool:
    """True once this client address has had RATELIMIT_STAFF_LOGIN wrong staff passwords in the current window."""
    usage = _usage(request, increment=False)
    return usage is not None and usage["count"] >= usage["limit"]


class StaffLoginThrottleMiddleware:
    """Answer a paused address's admin login POST with the 429 page, before the login view hashes anything."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._login_path = None

    def __call__(self, request):
        if request.method == "POST":
            if self._login_path is None:
                self._login_path = reverse("admin:login")
            if request.path_info == self._login_path and is_paused(request):
                return render(request, "staff_login_paused.html", status=429)
        return self.get_response(request)
