from django.db import connection
from django.http import HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request):
    """200 `ok` when the app and its database answer; 503 otherwise (what a load balancer or monitor polls)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


def page_not_found(request, exception):
    """The site's 404 page, in the site's layout."""
    return render(request, "404.html", status=404)


def server_error(request):
    """The 500 page, rendered without the request: no context processors, so it needs neither the database nor
    the session, which may be what just failed."""
    return HttpResponseServerError(loader.get_template("500.html").render())
