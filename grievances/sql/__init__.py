"""SQL shipped with grievances' migrations (see spmis.core.sql)."""

from pathlib import Path

from django.db import migrations

from spmis.core.sql import run_sql_file as _run

SQL = Path(__file__).parent


def run_sql_file(name: str) -> migrations.RunSQL:
    return _run(name, SQL)
