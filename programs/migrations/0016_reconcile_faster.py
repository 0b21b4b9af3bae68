"""Reconciliation at a million payments: the check that a payment changes only its status, and only forward, made
per row by a trigger's WHEN clause instead of by joining transition tables (programs/sql/0016_reconcile_faster.sql)."""

from pathlib import Path

from django.db import migrations

from spmis.core.sql import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("programs", "0015_payment_references_joined")]

    operations = [run_sql_file("0016_reconcile_faster.sql", SQL)]
