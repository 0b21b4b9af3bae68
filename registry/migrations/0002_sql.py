from django.db import migrations

from geo.sql import track_location
from spmis.core.sql import audit_enable


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial"), ("geo", "0002_sql")]

    operations = [
        track_location("registry_household"),
        audit_enable("registry_household", "registry_individual", "registry_membership"),
    ]
