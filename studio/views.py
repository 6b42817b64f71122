from django.shortcuts import render


def rate_limited(request, exception=None):
    """The friendly 429 page for every rate-limited request (settings.RATELIMIT_VIEW)."""
    return render(request, "429.html", status=429)
