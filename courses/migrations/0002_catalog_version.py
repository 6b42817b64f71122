# The catalog version (courses/page_cache.py): one row whose counter every write that changes seats or courses
# bumps in its own transaction. A table without a model: nothing but that module reads or writes it.

from django.db import migrations

CREATE = [
    "CREATE TABLE courses_catalogversion (id integer NOT NULL PRIMARY KEY, version bigint NOT NULL)",
    "INSERT INTO courses_catalogversion (id, version) VALUES (1, 0)",
]


class Migration(migrations.Migration):
    dependencies = [("courses", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, reverse_sql=["DROP TABLE courses_catalogversion"])]
