from django.db import migrations

from registry.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_sql")]

    operations = [run_sql_file("0003_functions.sql")]
