from django.db import migrations

from registry.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_sql_v2")]

    operations = [run_sql_file("0007_functions_v3.sql")]
