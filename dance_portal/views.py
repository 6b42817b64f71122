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


def bad_request(request, exception):
    """The site's 400 page (a request Django cannot read: a form posted in another charset than UTF-8, a broken
    multipart body, too large a body...). Unlike Django's own, it does not run the CSRF check, which reads the body
    again and would fail a second time: that failure was a 500."""
    return render(request, "400.html", status=400)


def page_not_found(request, exception):
    """The site's 404 page, in the site's layout."""
    return render(request, "404.html", status=404)


def server_error(request):
    """The 500 page, rendered without the request: no context processors, so it needs neither the database nor
    the session, which may be what just failed."""
    return HttpResponseServerError(loader.get_template("500.html").render())
