from django.db import migrations

from spmis.core.sql import audit_enable
from registry.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("registry", "0004_model_extensions")]

    operations = [
        run_sql_file("0005_triggers.sql"),
        audit_enable(
            "registry_phone",
            "registry_idtype",
            "registry_iddocument",
            "registry_customfield",
            "registry_customfilter",
            "registry_importmapping",
            "registry_changerequest",
            "registry_duplicatecandidate",
        ),
    ]
