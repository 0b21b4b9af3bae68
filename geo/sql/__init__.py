"""SQL installed by geo migrations: areas, location tracking and the audit log's triggers."""

from functools import partial
from pathlib import Path

from django.db import migrations

from spmis.core.sql import run_sql_file as _run_sql_file

SQL_DIR = Path(__file__).resolve().parent
run_sql_file = partial(_run_sql_file, folder=SQL_DIR)


def track_location(*tables: str) -> migrations.RunSQL:
    """Migration operation: keep these tables' area_id assigned from their location point."""
    return migrations.RunSQL(
        [("SELECT geo_track_location(%s::regclass)", [table]) for table in tables], migrations.RunSQL.noop
    )
