from pathlib import Path

from django.db import migrations

from spmis.core.sql import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("programs", "0003_cycle_approval_permission")]

    operations = [run_sql_file("0004_faster_codes.sql", SQL)]
