"""Migration operations for SQL the apps ship beside their migrations.

Each app keeps its SQL in ``<app>/sql/<migration>_<purpose>.sql``, run by the migration of that number. A shipped
file is never edited: behaviour changes in a new file run by a new migration (tests/platform/test_sql_files.py holds
the checksum of every shipped file and fails when one changes in place). Statements built at run time use
``psycopg.sql`` for identifiers and parameters for values, never string formatting.
"""

from __future__ import annotations

from pathlib import Path

from django.db import migrations


def run_sql_file(name: str, folder: Path) -> migrations.RunSQL:
    """Migration operation: run one shipped SQL file from `folder` (an app's sql/ directory)."""
    return migrations.RunSQL((folder / name).read_text(), reverse_sql=migrations.RunSQL.noop)


def audit_enable(*tables: str) -> migrations.RunSQL:
    """Migration operation: audit every insert, update and delete on these tables (geo's audit_enable())."""
    return migrations.RunSQL(
        [("SELECT audit_enable(%s::regclass)", [table]) for table in tables], migrations.RunSQL.noop
    )
