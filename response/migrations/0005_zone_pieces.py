import django.contrib.gis.db.models.fields
import django.db.models.deletion
from django.db import migrations, models

from response.sql import run_sql_file

# Results: the primary key becomes (household, run) and the separate household index goes. Each run is its own
# partition, so the key's one index serves joins within a run as well as a household's history across runs, and a
# run's rows load with one index to build instead of two.
RESULT_KEY = """
DROP INDEX IF EXISTS response_result_household;
ALTER TABLE response_exposureresult DROP CONSTRAINT response_exposureresult_pkey;
ALTER TABLE response_exposureresult ADD CONSTRAINT response_exposureresult_pkey PRIMARY KEY (household_id, run_id);
"""


class Migration(migrations.Migration):
    dependencies = [("response", "0004_result_partitions")]

    operations = [
        migrations.CreateModel(
            name="HazardZonePiece",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("geom", django.contrib.gis.db.models.fields.PolygonField(srid=4326)),
                (
                    "zone",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="response.hazardzone"
                    ),
                ),
            ],
            options={"default_permissions": ()},
        ),
        run_sql_file("0005_zone_pieces.sql"),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(RESULT_KEY, reverse_sql=migrations.RunSQL.noop)],
            state_operations=[
                migrations.RemoveIndex(model_name="exposureresult", name="response_result_household"),
                migrations.AlterField(
                    model_name="exposureresult",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "household", "run", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ],
        ),
    ]
