from pathlib import Path

from django.db import migrations

from spmis.core.sql import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("programs", "0014_payment_references")]

    operations = [run_sql_file("0015_payment_references_joined.sql", SQL)]
