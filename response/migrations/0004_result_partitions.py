from django.db import migrations

# Results are partitioned by run: each run loads its rows into a fresh table without indexes (COPY at full speed),
# builds its indexes in bulk when the table is attached, and a deleted run is a dropped table rather than a
# million-row DELETE. The model state is unchanged; only the table's physical layout differs. Derived data: the
# table is recreated rather than migrated.

CREATE = """
DROP TABLE IF EXISTS response_exposureresult;
CREATE TABLE response_exposureresult (
    run_id bigint NOT NULL,
    household_id bigint NOT NULL,
    zone_id bigint NULL,
    hazard_class_id bigint NOT NULL,
    class_rank smallint NOT NULL CHECK (class_rank >= 0),
    area_id bigint NULL,
    raster_value double precision NULL,
    distance_m double precision NULL,
    approximate boolean NOT NULL,
    reason text NOT NULL,
    CONSTRAINT response_exposureresult_pkey PRIMARY KEY (run_id, household_id)
) PARTITION BY LIST (run_id);
CREATE INDEX response_result_household ON response_exposureresult (household_id);
"""


class Migration(migrations.Migration):
    dependencies = [("response", "0003_result_composite_key")]

    operations = [migrations.RunSQL(CREATE, reverse_sql=migrations.RunSQL.noop)]
