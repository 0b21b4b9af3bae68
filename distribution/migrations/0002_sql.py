from django.db import migrations

from geo.sql import track_location
from spmis.core.sql import audit_enable


class Migration(migrations.Migration):
    dependencies = [("distribution", "0001_initial"), ("geo", "0002_sql")]

    operations = [
        track_location("distribution_warehouse", "distribution_distributionpoint"),
        audit_enable("distribution_warehouse", "distribution_distributionpoint"),
    ]
