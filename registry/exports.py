"""Exports of (already scoped) querysets: CSV streamed by COPY, GeoPackage written in batches with pyogrio."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.db import connection
from django.db.models import QuerySet

from registry.models import Household, Individual
from spmis.api.files import temporary_folder

HOUSEHOLD_CSV = """
SELECT h.registrant_id, h.external_id, h.kind, ST_X(h.location) AS longitude, ST_Y(h.location) AS latitude,
       h.location_precision, a.code AS area_code, a.name AS area_name, h.address, h.registered_on, h.source,
       h.status, (SELECT count(*) FROM registry_membership m WHERE m.household_id = h.id AND m.end_date IS NULL)
           AS size, h.custom
FROM registry_household h LEFT JOIN geo_area a ON a.id = h.area_id
WHERE h.id IN ({ids}) ORDER BY h.id
"""


def yes_no(column: str) -> str:
    """A boolean column as the words true and false (COPY would write PostgreSQL's t and f); empty when unknown."""
    return f"(CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END)"


INDIVIDUAL_CSV = f"""
SELECT i.registrant_id, i.external_id, i.given_name, i.family_name, i.other_names, i.birth_date,
       {yes_no("i.birth_date_estimated")} AS birth_date_estimated, i.sex, {yes_no("i.disability")} AS disability,
       {yes_no("i.is_pregnant")} AS is_pregnant, {yes_no("i.is_lactating")} AS is_lactating, i.status, i.status_date,
       h.registrant_id AS household_registrant_id, m.role, a.code AS area_code,
       (SELECT p.number FROM registry_phone p WHERE p.individual_id = i.id ORDER BY p.is_primary DESC, p.id LIMIT 1)
           AS phone,
       i.custom
FROM registry_individual i
LEFT JOIN registry_membership m ON m.individual_id = i.id AND m.end_date IS NULL
LEFT JOIN registry_household h ON h.id = m.household_id
LEFT JOIN geo_area a ON a.id = h.area_id
WHERE i.id IN ({{ids}}) ORDER BY i.id
"""


def _copy_csv(template: str, queryset: QuerySet):
    ids_sql, params = queryset.order_by().values("pk").query.sql_with_params()
    handle = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115  (returned open)
    with connection.cursor() as cursor:
        statement = f"COPY ({template.format(ids=ids_sql)}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        with cursor.cursor.copy(statement, params) as copy:
            for data in copy:
                handle.write(bytes(data))
    handle.seek(0)
    return handle


def households_csv(queryset: QuerySet[Household]):
    return _copy_csv(HOUSEHOLD_CSV, queryset)


def individuals_csv(queryset: QuerySet[Individual]):
    return _copy_csv(INDIVIDUAL_CSV, queryset)


def households_gpkg(queryset: QuerySet[Household], *, batch: int = 100_000) -> Path:
    """A GeoPackage (layer `households`, points in EPSG:4326) written in batches, so memory stays bounded."""
    import geopandas
    import pyogrio
    import shapely

    ids_sql, params = queryset.order_by().values("pk").query.sql_with_params()
    query = HOUSEHOLD_CSV.format(ids=ids_sql).replace(
        "h.custom\nFROM", "h.custom::text AS custom, ST_AsBinary(h.location)\nFROM"
    )
    path = temporary_folder() / "households.gpkg"
    written = False
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names = [column.name for column in cursor.description][:-1]
        while rows := cursor.fetchmany(batch):
            geometries = shapely.from_wkb([bytes(row[-1]) if row[-1] is not None else None for row in rows])
            frame = geopandas.GeoDataFrame(
                [row[:-1] for row in rows], columns=names, geometry=geometries, crs="EPSG:4326"
            )
            pyogrio.write_dataframe(frame, path, layer="households", driver="GPKG", append=written)
            written = True
    if not written:
        empty = geopandas.GeoDataFrame({name: [] for name in names}, geometry=[], crs="EPSG:4326")
        pyogrio.write_dataframe(empty, path, layer="households", driver="GPKG")
    return path
