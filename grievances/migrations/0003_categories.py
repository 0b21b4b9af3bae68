"""The categories every deployment starts with (grievances/defaults.py)."""

from django.db import migrations

from grievances.defaults import ensure_categories


def seed(apps, schema_editor):
    ensure_categories(apps.get_model("grievances", "Category"))


class Migration(migrations.Migration):
    dependencies = [("grievances", "0002_history")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
