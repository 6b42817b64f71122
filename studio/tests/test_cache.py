"""The shared cache (README "Scaling out"): every worker and server counts the same rate limits, in the portal's
database."""

import datetime
import json
import os
import runpy
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache, caches
from django.db import connection, connections
from django.test import RequestFactory
from django_ratelimit.core import is_ratelimited

from studio.cache import TABLE, SharedDatabaseCache

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def production_settings(monkeypatch, **env) -> dict:
    """The settings module as a server with this environment reads it."""
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.delenv("CACHE_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "dance_portal" / "settings.py"))


def test_the_default_cache_is_the_database_cache_in_the_portals_own_database(monkeypatch):
    default = production_settings(monkeypatch)["CACHES"]["default"]

    assert default["BACKEND"] == "studio.cache.SharedDatabaseCache"
    assert default["LOCATION"] == TABLE
    assert issubclass(SharedDatabaseCache, caches["default"].__class__.__mro__[1])  # Django's DatabaseCache
    # Made by `migrate` (studio/migrations/0004_shared_cache_table.py): no createcachetable step anywhere.
    assert TABLE in connection.introspection.table_names()


def test_cache_url_still_replaces_it_with_a_cache_server(monkeypatch):
    default = production_settings(monkeypatch, CACHE_URL="rediscache://10.0.0.5:6379/1")["CACHES"]["default"]

    assert default["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_rate_limits_and_the_page_cache_use_the_shared_cache():
    assert django_settings.RATELIMIT_USE_CACHE == "default"
    assert isinstance(caches["default"], SharedDatabaseCache)


def test_add_set_get_incr_and_expiry_behave_like_djangos_cache():
    with time_machine.travel(datetime.datetime(2031, 3, 1, 12, tzinfo=datetime.UTC), tick=False) as clock:
        assert cache.add("counter", 1, 60) is True
        assert cache.add("counter", 5, 60) is False  # a live key is kept
        assert cache.incr("counter") == 2
        assert cache.get("counter") == 2
        cache.set("counter", 10, 60)
        assert cache.get("counter") == 10
        clock.shift(datetime.timedelta(seconds=61))
        assert cache.get("counter") is None
        assert cache.add("counter", 7, 60) is True  # an expired key is replaced
        assert cache.get("counter") == 7
        with pytest.raises(ValueError):
            cache.incr("missing")
        cache.set("page", {"html": "<p>é</p>"}, None)
        assert cache.get("page") == {"html": "<p>é</p>"}


def test_set_many_stores_every_key_in_one_upsert(django_assert_num_queries):
    cache.set("page", "old", 60)

    with django_assert_num_queries(2):  # expired rows deleted, then one INSERT ... ON CONFLICT for both keys
        assert cache.set_many({"page": "new", "counts": {"slot": 3}}, 60) == []

    assert cache.get_many(["page", "counts"]) == {"page": "new", "counts": {"slot": 3}}


def test_expired_rows_are_deleted_by_the_next_write():
    with time_machine.travel(datetime.datetime(2031, 3, 1, 12, tzinfo=datetime.UTC), tick=False) as clock:
        cache.set("old", 1, 10)
        clock.shift(datetime.timedelta(minutes=5))
        cache.set("new", 1, 10)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key FROM {TABLE}")
        keys = [row[0] for row in cursor.fetchall()]
    assert [key.rsplit(":", 1)[-1] for key in keys] == ["new"]


# --- PostgreSQL: two connections, two processes -----------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_increments_from_many_connections_are_all_counted():
    """Django's own incr reads then writes: racing workers lose counts. Ours locks the row while it counts."""
    cache.add("burst", 0, 60)
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)

    def count():
        try:
            start.wait(timeout=10)
            for _ in range(per_thread):
                cache.incr("burst")
        finally:
            connections.close_all()

    workers = [threading.Thread(target=count) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert cache.get("burst") == threads * per_thread


SECOND_PROCESS = """
import json, django
django.setup()
from django.core.cache import caches
from django.test import RequestFactory
from django_ratelimit.core import is_ratelimited
caches["default"].key_prefix = {prefix!r}
request = RequestFactory().post("/courses/1/register/", REMOTE_ADDR="203.0.113.7")
print(json.dumps([is_ratelimited(request, group="courses.register", key="ip", rate="3/h", increment=True)
                  for _ in range(2)]))
"""


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_rate_limit_counter():
    """Two server processes on one database: the 4th request of a 3/h limit is refused, whichever process gets it."""
    request = RequestFactory().post("/courses/1/register/", REMOTE_ADDR="203.0.113.7")

    def here():
        return is_ratelimited(request, group="courses.register", key="ip", rate="3/h", increment=True)

    first, second = here(), here()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    result = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS.format(prefix=cache.key_prefix)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "dance_portal.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    other_process = json.loads(result.stdout.strip().splitlines()[-1])
    after = here()

    assert [first, second] == [False, False]
    assert other_process == [False, True]  # the 3rd request passes, the 4th is refused there
    assert after is True  # and the 5th here
