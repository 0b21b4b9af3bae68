from django.db import migrations

from geo.sql import audit_enable, track_location


class Migration(migrations.Migration):
    dependencies = [("distribution", "0001_initial"), ("geo", "0002_sql")]

    operations = [
        track_location("distribution_warehouse", "distribution_distributionpoint"),
        audit_enable("distribution_warehouse", "distribution_distributionpoint"),
    ]
