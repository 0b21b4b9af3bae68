# The DCI server and the CRVS client were built side by side; this joins their first migrations.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("interop", "0001_dci"), ("interop", "0001_crvs")]
    operations: list = []
