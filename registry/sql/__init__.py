"""SQL installed by registry migrations. Files are versioned by name: change behaviour in a new file and migration."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent


def run_sql_file(name: str) -> migrations.RunSQL:
    return migrations.RunSQL((SQL_DIR / name).read_text(), reverse_sql=migrations.RunSQL.noop)
