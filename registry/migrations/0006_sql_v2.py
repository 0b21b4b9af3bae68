from django.db import migrations

from registry.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("registry", "0005_sql_triggers")]

    operations = [run_sql_file("0006_functions_v2.sql")]
