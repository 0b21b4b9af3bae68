from django.db import migrations

from geo.sql import run_sql_file
from spmis.core.sql import audit_enable


class Migration(migrations.Migration):
    dependencies = [("geo", "0001_initial")]

    operations = [
        migrations.RunSQL(
            ";".join(
                f"CREATE EXTENSION IF NOT EXISTS {name}"
                for name in ("hstore", "postgis_raster", "pgrouting", "pg_trgm", "unaccent", "fuzzystrmatch")
            ),
            reverse_sql=migrations.RunSQL.noop,
        ),
        run_sql_file("0002_areas.sql"),
        run_sql_file("0002_audit.sql"),
        audit_enable("geo_area", "geo_areascope", "geo_areascope_areas", "geo_areaimport"),
    ]
