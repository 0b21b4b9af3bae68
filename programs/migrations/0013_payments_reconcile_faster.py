"""Reconciliation and sending at scale: moving a payment is a HOT update (no index names its status), and the
payment ledger's references are checked once per statement (programs/sql/0013_payments_reconcile_faster.sql)."""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

import programs.payments.models
from spmis.core.sql import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("programs", "0012_entitlement_paused")]

    operations = [
        migrations.RemoveConstraint(model_name="payment", name="programs_payment_one_live"),
        migrations.RemoveIndex(model_name="payment", name="programs_payment_batch_status"),
        migrations.AddField(
            model_name="payment",
            name="live",
            field=models.GeneratedField(
                db_persist=True,
                expression=programs.payments.models._Live("status"),
                output_field=models.BooleanField(),
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("live", True)),
                fields=("entitlement",),
                name="programs_payment_one_live",
                violation_error_message="This entitlement already has a payment that has not failed.",
            ),
        ),
        # The ledger's references, checked by the SQL file's triggers instead of row-by-row foreign keys.
        *(
            migrations.AlterField(
                model_name="paymentevent",
                name=name,
                field=models.ForeignKey(
                    db_constraint=False,
                    db_index=False,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name=related_name,
                    to=to,
                    **optional,
                ),
            )
            for name, to, related_name, optional in (
                ("payment", "programs.payment", "events", {}),
                ("file", "programs.paymentfile", "+", {"blank": True, "null": True}),
                ("report", "programs.paymentreport", "+", {"blank": True, "null": True}),
            )
        ),
        migrations.AddIndex(
            model_name="paymentevent",
            index=models.Index(
                condition=models.Q(("file__isnull", False)), fields=["file"], name="programs_paymentevent_file"
            ),
        ),
        run_sql_file("0013_payments_reconcile_faster.sql", SQL),
    ]
