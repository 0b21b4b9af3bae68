from django.db import migrations

from geo.sql import audit_enable, track_location


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial"), ("geo", "0002_sql")]

    operations = [
        track_location("registry_household"),
        audit_enable("registry_household", "registry_individual", "registry_membership"),
    ]
