import django.db.models.deletion
from django.db import migrations, models

# Results are derived data (reproducible from each run's recorded inputs), so the table is recreated with the
# composite primary key (run, household) rather than migrated: Django cannot alter a primary key into one.


class Migration(migrations.Migration):
    dependencies = [("response", "0002_sql"), ("registry", "0001_initial"), ("geo", "0002_sql")]

    operations = [
        migrations.RunSQL("DROP INDEX IF EXISTS response_result_run_rank", reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL("DROP INDEX IF EXISTS response_result_household", reverse_sql=migrations.RunSQL.noop),
        migrations.DeleteModel(name="ExposureResult"),
        migrations.CreateModel(
            name="ExposureResult",
            fields=[
                ("pk", models.CompositePrimaryKey("run", "household", blank=True, editable=False, primary_key=True, serialize=False)),
                ("run", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="response.exposurerun")),
                ("household", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="registry.household")),
                ("zone", models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="response.hazardzone")),
                ("hazard_class", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="response.hazardclass")),
                ("class_rank", models.PositiveSmallIntegerField()),
                ("area", models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="geo.area")),
                ("raster_value", models.FloatField(null=True)),
                ("distance_m", models.FloatField(null=True)),
                ("approximate", models.BooleanField(default=False)),
                ("reason", models.TextField()),
            ],
            options={
                "default_permissions": ("view",),
                "indexes": [models.Index(fields=["household"], name="response_result_household")],
            },
        ),
    ]
