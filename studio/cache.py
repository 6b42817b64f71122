"""The cache every web worker and server shares (README "Scaling out"): Django's database cache, in the portal's own
database, so a small install needs no cache server. Rate-limit counters, the staff login throttle and the catalog's
page cache live here; CACHE_URL replaces it with Redis or Memcached.

TABLE is created by a migration (studio/migrations/0004_shared_cache_table.py), the way `createcachetable` makes it.
"""

import base64
import pickle
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now as tz_now

TABLE = "studio_cache"


class SharedDatabaseCache(DatabaseCache):
    """Django's DatabaseCache with an atomic `incr`, and `add`/`set` as one upsert.

    Django's own `incr` reads the value, then writes value + 1: two workers counting the same client at once both
    write the same number and one request goes uncounted. Here the row is locked while it is counted (SELECT ... FOR
    UPDATE on PostgreSQL; on SQLite the IMMEDIATE transaction holds the write lock), so every request is counted.

    Django's `add` and `set` count the whole table, read the key, then insert (an `add` of a live key inserts and fails
    on the primary key, on every rate-limited request). Here they are one INSERT ... ON CONFLICT (PostgreSQL and
    SQLite), after deleting the rows that have expired (on the `expires` index): rate-limit counters of past windows
    are never read again, so they go this way rather than by culling.
    """

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._upsert({key: value}, timeout, version, replace_live=True)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        """Every key in one upsert (a cached page and its seat counts are stored together)."""
        if data:
            self._upsert(data, timeout, version, replace_live=True)
        return []

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._upsert({key: value}, timeout, version, replace_live=False)

    def _upsert(self, data: dict, timeout, version, *, replace_live: bool) -> bool:
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if connection.vendor not in ("postgresql", "sqlite"):
            # No INSERT ... ON CONFLICT in this form elsewhere: Django's own way.
            if not replace_live:
                ((key, value),) = data.items()
                return super().add(key, value, timeout, version)
            for key, value in data.items():
                super().set(key, value, timeout, version)
            return True
        quote_name = connection.ops.quote_name
        table, cache_key, value_column, expires = (
            quote_name(name) for name in (self._table, "cache_key", "value", "expires")
        )
        timeout = self.get_backend_timeout(timeout)
        if timeout is None:
            expiry = datetime.max
        else:
            expiry = datetime.fromtimestamp(timeout, tz=UTC if settings.USE_TZ else None)
        now = tz_now().replace(microsecond=0)
        expiry = connection.ops.adapt_datetimefield_value(expiry.replace(microsecond=0))
        parameters = []
        for key, value in data.items():
            pickled = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            parameters += [self.make_and_validate_key(key, version=version), pickled, expiry]
        # `add` replaces only a row that has expired; `set` any row.
        only_expired = "" if replace_live else f" WHERE {table}.{expires} < %s"
        if not replace_live:
            parameters.append(connection.ops.adapt_datetimefield_value(now))
        rows = ", ".join(["(%s, %s, %s)"] * len(data))
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE {expires} < %s", [connection.ops.adapt_datetimefield_value(now)])
            cursor.execute(
                f"INSERT INTO {table} ({cache_key}, {value_column}, {expires}) VALUES {rows} "
                f"ON CONFLICT ({cache_key}) DO UPDATE SET {value_column} = excluded.{value_column}, "
                f"{expires} = excluded.{expires}{only_expired}",
                parameters,
            )
            return cursor.rowcount > 0

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote_name = connection.ops.quote_name
        table = quote_name(self._table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote_name('value')}, {quote_name('expires')} FROM {table} "
                f"WHERE {quote_name('cache_key')} = %s{lock}",
                [key],
            )
            row = cursor.fetchone()
            if row is None or self._read_datetime(row[1], connection) < tz_now():
                raise ValueError(f"Key '{key}' not found.")
            value = pickle.loads(base64.b64decode(connection.ops.process_clob(row[0]).encode(), validate=True))
            value += delta
            cursor.execute(
                f"UPDATE {table} SET {quote_name('value')} = %s WHERE {quote_name('cache_key')} = %s",
                [base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1"), key],
            )
        return value

    @staticmethod
    def _read_datetime(value, connection):
        """The `expires` column as an aware datetime, converted as DatabaseCache.get_many converts it."""
        expression = models.Expression(output_field=models.DateTimeField())
        for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(connection):
            value = converter(value, expression, connection)
        return value
