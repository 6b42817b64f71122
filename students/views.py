"""Signing in to the student portal with an emailed link (no password, no auth.User). The portal's own pages, which
show the student's registrations and waitlist places, are the portal app's.
"""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from students import services, session
from students.forms import SignInLinkForm
from students.models import normalize_email
from students.services import strip_typed_email
from studio.views import rate_limited

# Rate limits (settings.RATELIMIT_SIGN_IN*): link requests per client IP (a shared studio Wi-Fi still has room) and
# per address (no inbox flooding); following links, per IP: tokens are unforgeable, this only stops hammering.
PORTAL = "portal:home"


def _email_key(group, request) -> str:
    return normalize_email(strip_typed_email(request.POST.get("email", "")))[:254]


def _sign_in_link_limited(request) -> bool:
    """Count this sign-in link request against both limits; True when either is over."""
    by_ip = is_ratelimited(
        request,
        group="students.sign_in_link.ip",
        key="ip",
        rate=settings.RATELIMIT_SIGN_IN_LINK,
        method="POST",
        increment=True,
    )
    by_email = is_ratelimited(
        request,
        group="students.sign_in_link.email",
        key=_email_key,
        rate=settings.RATELIMIT_SIGN_IN_LINK_PER_EMAIL,
        method="POST",
        increment=True,
    )
    return by_ip or by_email


def request_sign_in_link(request):
    """The signed-out portal page: ask for a sign-in link by email, with the same answer for every address."""
    form = SignInLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if _sign_in_link_limited(request):
            return rate_limited(request)
        if form.is_valid():
            services.request_sign_in_link(email=form.cleaned_data["email"])
            return redirect("students:link_sent")
    return render(request, "students/sign_in_request.html", {"form": form})


@never_cache
def link_sent(request):
    """The one answer to a sign-in link request, whether or not the address is known (docs/bad-inputs.md #44)."""
    return render(request, "students/link_sent.html", {"valid_minutes": services.SIGN_IN_LINK_MINUTES})


def _link_problem(request, error: services.SignInLinkError):
    status = 404 if isinstance(error, services.SignInLinkInvalid) else 410
    return render(request, "students/link_invalid.html", {"error": error, "form": SignInLinkForm()}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request, token):
    """GET shows a "Sign in" button and changes nothing (mail scanners prefetch links); POST uses the link once."""
    if is_ratelimited(request, group="students.sign_in.ip", key="ip", rate=settings.RATELIMIT_SIGN_IN, increment=True):
        return rate_limited(request)
    try:
        if request.method == "POST":
            student = services.redeem_sign_in_link(token=token)
        else:
            student = services.check_sign_in_link(token=token)
    except services.SignInLinkError as error:
        return _link_problem(request, error)
    if request.method == "GET":
        return render(request, "students/sign_in_confirm.html", {"token": token})
    session.sign_in(request, student)
    messages.success(request, _("You're signed in."))
    return redirect(PORTAL)


@require_POST
def sign_out(request):
    session.sign_out(request)
    messages.success(request, _("You're signed out."))
    return redirect(PORTAL)
