from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

from spmis.core.sql import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    # Also joins the two 0013 branches (entitlements and reconciliation, written side by side).
    dependencies = [
        ("programs", "0013_entitlements_faster"),
        ("programs", "0013_payments_reconcile_faster"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payment",
            name="batch",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payments",
                to="programs.paymentbatch",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="entitlement",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payments",
                to="programs.entitlement",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="household",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.household",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="account",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="programs.paymentaccount",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="reissue_of",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="programs.payment",
            ),
        ),
        # The foreign keys above are gone; the same references are checked per statement from here on.
        run_sql_file("0014_payment_references.sql", SQL),
    ]
