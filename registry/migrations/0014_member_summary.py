import django.db.models.deletion
from django.db import migrations, models

from registry.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("registry", "0013_household_membership_scope_indexes")]

    operations = [
        migrations.CreateModel(
            name="HouseholdMembers",
            fields=[
                (
                    "household",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="registry.household",
                    ),
                ),
                ("members", models.IntegerField(default=0)),
            ],
            options={"db_table": "registry_household_members"},
        ),
        # The triggers, the rebuild function, and the backfill (one grouped INSERT … SELECT).
        run_sql_file("0014_member_summary.sql"),
    ]
