"""The table of the shared cache (studio/cache.py), made as `manage.py createcachetable` makes it, so that `migrate`
is the only set-up step (make run, make test, CI and deploy). Reversible: going back drops it."""

import io

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "studio_cache"  # studio.cache.TABLE when this was written


def create_cache_table(apps, schema_editor):
    command = CreateCacheTable(stdout=io.StringIO(), stderr=io.StringIO())
    command.verbosity = 0
    # Does nothing when the table exists already (someone ran createcachetable by hand).
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    if TABLE in schema_editor.connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("studio", "0003_status_invariants")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
