# The national ID checks (built beside the DCI server) join the merged interop migrations.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("interop", "0002_merge_dci_crvs"), ("interop", "0002_crvs_id_verification")]
    operations: list = []
