from pathlib import Path

from django.db import migrations

from spmis.core.sql import audit_enable, run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("programs", "0001_initial")]

    operations = [
        audit_enable(
            "programs_program",
            "programs_cycle",
            "programs_enrolmentrun",
            "programs_entitlementrun",
            "programs_simulation",
            "programs_scenario",
            "programs_trigger",
            "programs_triggerfiring",
        ),
        run_sql_file("0002_audit_and_guards.sql", SQL),
    ]
