from django.db import migrations

from spmis.core.sql import audit_enable


class Migration(migrations.Migration):
    dependencies = [("layers", "0001_initial"), ("geo", "0002_sql")]

    # Features are not audited row by row: they are immutable copies of an uploaded file, written and deleted
    # only together with their layer, whose rows (and the import job naming the file and uploader) are audited.
    operations = [
        audit_enable("layers_vectorlayer", "layers_rasterlayer", "layers_capalert", "layers_layerimport"),
    ]
