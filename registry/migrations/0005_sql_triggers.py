from django.db import migrations

from geo.sql import audit_enable
from registry.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("registry", "0004_model_extensions")]

    operations = [
        run_sql_file("registry_triggers_v1.sql"),
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
