# The catalog version becomes a model, one row per course (courses.services.catalog_changed), instead of one raw-SQL
# counter for the whole catalog: a seat taken in one course no longer makes every other course's page out of date.
# Pages cached under the old counter are keyed differently, so none is served again.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("courses", "0002_catalog_version")]

    operations = [
        migrations.RunSQL(
            "DROP TABLE courses_catalogversion",
            reverse_sql=[
                "CREATE TABLE courses_catalogversion (id integer NOT NULL PRIMARY KEY, version bigint NOT NULL)",
                "INSERT INTO courses_catalogversion (id, version) VALUES (1, 0)",
            ],
        ),
        migrations.CreateModel(
            name="CatalogVersion",
            fields=[
                (
                    "course",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="courses.course",
                        verbose_name="course",
                    ),
                ),
                ("version", models.PositiveBigIntegerField(default=0, verbose_name="version")),
                ("changed_at", models.DateTimeField(auto_now=True, verbose_name="changed at")),
            ],
            options={"verbose_name": "catalog version", "verbose_name_plural": "catalog versions"},
        ),
    ]
