"""SQL installed by migrations. Files are versioned by name: change behaviour in a new file and a new migration."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent


def run_sql_file(name: str, folder: Path = SQL_DIR) -> migrations.RunSQL:
    """Migration operation: run one versioned SQL file (from geo/sql unless another app's folder is given)."""
    return migrations.RunSQL((folder / name).read_text(), reverse_sql=migrations.RunSQL.noop)


def audit_enable(*tables: str) -> migrations.RunSQL:
    """Migration operation: audit every insert, update and delete on these tables."""
    return migrations.RunSQL(
        ";".join(f"SELECT audit_enable('{table}')" for table in tables), reverse_sql=migrations.RunSQL.noop
    )


def track_location(*tables: str) -> migrations.RunSQL:
    """Migration operation: keep these tables' area_id assigned from their location point."""
    return migrations.RunSQL(
        ";".join(f"SELECT geo_track_location('{table}')" for table in tables), reverse_sql=migrations.RunSQL.noop
    )
