from pathlib import Path

from django.db import migrations

from spmis.core.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("interop", "0003_merge_id_verification")]

    operations = [run_sql_file("0002_dci_guard.sql", Path(__file__).resolve().parent.parent / "sql")]
