from django.db import migrations

from spmis.core.sql import audit_enable

def seed(apps, schema_editor):
    from response.defaults import ensure_defaults

    ensure_defaults(apps.get_model("response", "HazardClass"), apps.get_model("response", "NeedsProfile"))


class Migration(migrations.Migration):
    dependencies = [("response", "0001_initial"), ("geo", "0002_sql")]

    operations = [
        audit_enable(
            "response_incident",
            "response_incident_areas",
            "response_hazardclass",
            "response_hazardzone",
            "response_needsprofile",
            "response_exposurerun",
            "response_exposurerun_zones",
            "response_exposedfacility",
        ),
        # Joins from eligibility rules, exports and maps go by run then class, or by household across runs.
        migrations.RunSQL(
            "CREATE INDEX response_result_run_rank ON response_exposureresult (run_id, class_rank);"
            "CREATE INDEX response_result_household ON response_exposureresult (household_id);",
            reverse_sql="DROP INDEX response_result_run_rank; DROP INDEX response_result_household;",
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
