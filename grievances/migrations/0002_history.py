from django.db import migrations

from grievances.sql import run_sql_file
from spmis.core.sql import audit_enable


class Migration(migrations.Migration):
    dependencies = [("grievances", "0001_initial"), ("geo", "0002_sql")]

    operations = [
        # Append-only ticket history and the decision guard (grievances/sql/0002_history.sql); tickets, teams,
        # categories and messages are in the audit log.
        run_sql_file("0002_history.sql"),
        audit_enable("grievances_ticket", "grievances_team", "grievances_category", "grievances_message"),
    ]
