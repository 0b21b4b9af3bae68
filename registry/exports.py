"""Exports of (already scoped) querysets: CSV streamed by COPY, GeoPackage written in batches with pyogrio."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.db import connection
from django.db.models import QuerySet

from registry.models import Household, Individual
from spmis.api.files import temporary_folder

# (column expression, personal): personal columns are written only for users with registry.view_personal_data.
HOUSEHOLD_COLUMNS = [
    ("h.registrant_id", False),
    ("h.external_id", True),
    ("h.kind", False),
    ("ST_X(h.location) AS longitude", True),
    ("ST_Y(h.location) AS latitude", True),
    ("h.location_precision", False),
    ("a.code AS area_code", False),
    ("a.name AS area_name", False),
    ("h.address", True),
    ("h.registered_on", False),
    ("h.source", False),
    ("h.status", False),
    (
        "(SELECT count(*) FROM registry_membership m WHERE m.household_id = h.id AND m.end_date IS NULL) AS size",
        False,
    ),
    ("h.custom::text AS custom", True),
]
HOUSEHOLD_FROM = """
FROM registry_household h LEFT JOIN geo_area a ON a.id = h.area_id
WHERE h.id IN ({ids}) ORDER BY h.id
"""


def yes_no(column: str) -> str:
    """A boolean column as the words true and false (COPY would write PostgreSQL's t and f); empty when unknown."""
    return f"(CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END)"


INDIVIDUAL_COLUMNS = [
    ("i.registrant_id", False),
    ("i.external_id", True),
    ("i.given_name", True),
    ("i.family_name", True),
    ("i.other_names", True),
    ("i.birth_date", True),
    (f"{yes_no('i.birth_date_estimated')} AS birth_date_estimated", True),
    ("i.sex", True),
    (f"{yes_no('i.disability')} AS disability", True),
    (f"{yes_no('i.is_pregnant')} AS is_pregnant", True),
    (f"{yes_no('i.is_lactating')} AS is_lactating", True),
    ("i.status", False),
    ("i.status_date", False),
    ("h.registrant_id AS household_registrant_id", False),
    ("m.role", False),
    ("a.code AS area_code", False),
    (
        "(SELECT p.number FROM registry_phone p WHERE p.individual_id = i.id ORDER BY p.is_primary DESC, p.id LIMIT 1)"
        " AS phone",
        True,
    ),
    ("i.custom::text AS custom", True),
]
INDIVIDUAL_FROM = """
FROM registry_individual i
LEFT JOIN registry_membership m ON m.individual_id = i.id AND m.end_date IS NULL
LEFT JOIN registry_household h ON h.id = m.household_id
LEFT JOIN geo_area a ON a.id = h.area_id
WHERE i.id IN ({ids}) ORDER BY i.id
"""


def _select(columns: list[tuple[str, bool]], tail: str, *, personal: bool, extra: tuple[str, ...] = ()) -> str:
    chosen = [expression for expression, is_personal in columns if personal or not is_personal]
    return f"SELECT {', '.join([*chosen, *extra])}{tail}"


def _copy_csv(select: str, queryset: QuerySet):
    ids_sql, params = queryset.order_by().values("pk").query.sql_with_params()
    handle = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115  (returned open)
    with connection.cursor() as cursor:
        statement = f"COPY ({select.format(ids=ids_sql)}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        with cursor.cursor.copy(statement, params) as copy:
            for data in copy:
                handle.write(bytes(data))
    handle.seek(0)
    return handle


def households_csv(queryset: QuerySet[Household], *, personal: bool):
    """The households as CSV; without `personal`, no external id, coordinates, address or custom fields."""
    return _copy_csv(_select(HOUSEHOLD_COLUMNS, HOUSEHOLD_FROM, personal=personal), queryset)


def individuals_csv(queryset: QuerySet[Individual], *, personal: bool):
    """The individuals as CSV; without `personal`, only registrant id, status, household, role and area."""
    return _copy_csv(_select(INDIVIDUAL_COLUMNS, INDIVIDUAL_FROM, personal=personal), queryset)


def households_gpkg(queryset: QuerySet[Household], *, batch: int = 100_000) -> Path:
    """A GeoPackage (layer `households`, points in EPSG:4326) written in batches, so memory stays bounded. It holds
    exact locations: the caller checks registry.view_personal_data."""
    import geopandas
    import pyogrio
    import shapely

    ids_sql, params = queryset.order_by().values("pk").query.sql_with_params()
    query = _select(HOUSEHOLD_COLUMNS, HOUSEHOLD_FROM, personal=True, extra=("ST_AsBinary(h.location)",))
    query = query.format(ids=ids_sql)
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
