from pathlib import Path

from django.db import migrations

from spmis.core.sql import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("programs", "0008_payment_batches")]

    operations = [run_sql_file("0009_payment_ledger_checks_hashed.sql", SQL)]
