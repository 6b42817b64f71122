"""Production pieces: /healthz, the 404 and 500 pages through Django's real handlers (DEBUG off), static files with
far-future cache headers, the database task queue and its worker, the JSON log format, the gunicorn and cron files.
The whole stack together is `make prod-check` (scripts/prod_check.py)."""

import json
import logging
import runpy
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command, get_commands
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import path
from whitenoise.middleware import WhiteNoiseMiddleware

from courses.tests.factories import priced_slot
from dance_portal.settings import JsonLogFormatter
from dance_portal.urls import urlpatterns as site_urlpatterns
from registrations.services import register_student
from students.services import StudentDetails
from studio.models import EmailLog

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def broken_view(request):
    raise RuntimeError("something broke")


# This module doubles as a URLconf (pytest.mark.urls) with a view that raises, plus the site's own handlers.
urlpatterns = [path("broken/", broken_view), *site_urlpatterns]
handler404 = "dance_portal.views.page_not_found"
handler500 = "dance_portal.views.server_error"


def database_down():
    """Every new cursor fails, as when PostgreSQL is unreachable."""
    return mock.patch.object(BaseDatabaseWrapper, "cursor", side_effect=ConnectionError("database is down"))


# --- /healthz -------------------------------------------------------------------------------------------------------


def test_healthz_answers_ok_and_is_never_cached(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_fails(client):
    with database_down():
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.content == b"database unavailable"


# --- 404 and 500 pages -------------------------------------------------------------------------------------------


def test_unknown_address_gets_the_404_page_in_the_site_layout(client, settings):
    assert settings.DEBUG is False
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "404.html" in [template.name for template in response.templates]
    html = response.content.decode()
    assert "find that page" in html
    assert "css/site.css" in html
    assert 'href="/"' in html  # the way back to the classes


@pytest.mark.urls(__name__)
def test_error_gets_the_500_page_in_the_site_style_even_with_the_database_down():
    client = Client(raise_request_exception=False)

    with database_down():
        response = client.get("/broken/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "css/site.css" in html and "bootstrap.min.css" in html
    assert "Content-Security-Policy" in response.headers  # the middleware still runs around the error page


@pytest.mark.urls(__name__)
def test_500_page_needs_no_context_processor():
    client = Client(raise_request_exception=False)

    with mock.patch("studio.context_processors.studio", side_effect=AssertionError("called")) as studio:
        response = client.get("/broken/")

    assert response.status_code == 500
    studio.assert_not_called()


# --- static files ---------------------------------------------------------------------------------------------------


def test_collectstatic_gives_hashed_files_that_whitenoise_serves_for_ten_years(settings, tmp_path):
    source = tmp_path / "src"
    (source / "css").mkdir(parents=True)
    (source / "css" / "site.css").write_text("body { color: #4b2a84; }\n" * 50)
    settings.STATICFILES_DIRS = [source]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]  # quick: no admin files
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    from django.contrib.staticfiles.storage import staticfiles_storage

    hashed_url = staticfiles_storage.url("css/site.css")
    middleware = WhiteNoiseMiddleware(get_response=lambda request: HttpResponse(status=404), settings=settings)

    hashed = middleware(RequestFactory().get(hashed_url, HTTP_ACCEPT_ENCODING="gzip"))
    plain = middleware(RequestFactory().get("/static/css/site.css"))

    assert hashed_url != "/static/css/site.css"
    assert hashed.status_code == 200
    assert hashed["Cache-Control"] == "max-age=315360000, public, immutable"
    assert hashed["Content-Encoding"] == "gzip"
    assert plain.status_code == 200
    assert "immutable" not in plain["Cache-Control"]  # an unhashed name may change: cached briefly only


def test_production_settings_use_the_compressed_manifest_storage(monkeypatch):
    monkeypatch.setenv("DEBUG", "0")
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    production = runpy.run_path(str(ROOT / "dance_portal" / "settings.py"))

    assert production["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in production["MIDDLEWARE"]


def test_postgresql_connections_are_persistent_with_health_checks(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.setenv("DATABASE_URL", "postgres://dance@db.example.com:5432/dance_portal")
    production = runpy.run_path(str(ROOT / "dance_portal" / "settings.py"))

    database = production["DATABASES"]["default"]
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True


# --- the task queue and its worker ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_db_worker_sends_emails_queued_in_the_database_backend(settings, mailoutbox):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from django_tasks_db.models import DBTaskResult

    slot = priced_slot()
    register_student(
        course=slot.course,
        slot=slot,
        pricing_type="full_package",
        payment_method="venmo",
        details=StudentDetails(email="ana@example.org", first_name="Ana", last_name="Lima"),
    )
    assert EmailLog.objects.get().status == EmailLog.Status.QUEUED  # queued, not sent, by the web request
    assert mailoutbox == []

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0)
    finally:  # the worker installs its own SIGINT/SIGTERM handlers; give pytest its own back
        for sig, handler in handlers.items():
            signal.signal(sig, handler)

    log = EmailLog.objects.get()
    assert log.status == EmailLog.Status.SENT
    assert [message.to for message in mailoutbox] == [["ana@example.org"]]
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["SUCCESSFUL"]


def test_cron_file_runs_the_hold_and_offer_commands_every_five_minutes():
    entries = [
        line.split()
        for line in (DEPLOY / "crontab").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#") and "=" not in line.split()[0]
    ]
    commands = {fields[fields.index("manage.py") + 1]: fields[0] for fields in entries}

    assert commands["expire_holds"] == commands["expire_offers"] == "*/5"
    assert set(commands) <= set(get_commands())  # every command named there exists


# --- logs and gunicorn --------------------------------------------------------------------------------------------


def test_json_log_format_writes_one_json_object_per_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, 'Failed: "%s"', ("/x",), sys.exc_info()
        )
    record.status_code = 500

    line = JsonLogFormatter().format(record)

    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "django.request"
    assert entry["message"] == 'Failed: "/x"'
    assert entry["status"] == 500
    assert "ValueError: boom" in entry["exc"]


def test_gunicorn_config_reads_bind_and_workers_from_the_environment(monkeypatch):
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8301")
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))

    assert config["bind"] == "127.0.0.1:8301"
    assert config["workers"] == 3
    assert config["accesslog"] == "-"
    assert config["graceful_timeout"] > 0


def test_gunicorn_workers_default_to_twice_the_cores_plus_one_at_most_eight(monkeypatch):
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    with mock.patch("multiprocessing.cpu_count", return_value=2):
        assert runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["workers"] == 5
    with mock.patch("multiprocessing.cpu_count", return_value=16):
        assert runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["workers"] == 8


def test_gunicorn_loads_the_application_once_and_keeps_warm_workers(monkeypatch):
    """preload_app: workers fork from a master that has the application loaded; max_requests high, with a jitter of a
    tenth so the workers are not all replaced at once (README "Performance")."""
    monkeypatch.delenv("GUNICORN_MAX_REQUESTS", raising=False)
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))

    assert config["preload_app"] is True
    assert config["max_requests"] >= 20000
    assert config["max_requests_jitter"] == config["max_requests"] // 10


def test_loading_the_application_opens_no_database_connection():
    """With preload_app the master loads the application and then forks: a connection opened there would be shared by
    every worker. Django connects lazily, at the first query, and loading the project runs none."""
    script = (
        "import dance_portal.wsgi\n"
        "from django.db import connections\n"
        "print(sum(c.connection is not None for c in connections.all()))\n"
    )
    env = {"DEBUG": "0", "SECRET_KEY": "test-only-" + "x" * 50, "ALLOWED_HOSTS": "localhost", "PATH": "/usr/bin:/bin"}

    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)

    assert out.stdout.strip().splitlines()[-1] == "0"
