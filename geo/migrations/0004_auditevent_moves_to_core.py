from django.db import migrations


def move_content_type(apps, schema_editor):
    """Keep the audit log's permission (and the groups holding it): its content type changes app, not id."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="core", model="auditevent").exists():
        ContentType.objects.filter(app_label="geo", model="auditevent").update(app_label="core")


class Migration(migrations.Migration):
    """The audit log's model moves to the kernel (spmis.core); its table, data, indexes and triggers stay."""

    dependencies = [
        ("geo", "0003_job_heartbeat"),
        ("core", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AuditEvent")]),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
    ]
