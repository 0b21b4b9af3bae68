from django.db import migrations

from registry.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("registry", "0007_sql_v3")]

    operations = [run_sql_file("0008_functions_v4.sql")]
