"""Exports of a run's affected list (CSV, XLSX, GeoPackage) and the situation report. Rows stream from the database
(COPY for CSV, a server-side cursor otherwise), so memory does not grow with the list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from response.models import ExposureRun
from response.selectors import exposure_result_list
from spmis.api.files import remove_folder, temporary_folder

AFFECTED_COLUMNS = [
    "household_id",
    "registrant_id",
    "external_id",
    "head_name",
    "area_code",
    "area_name",
    "hazard_class",
    "class_name",
    "class_rank",
    "raster_value",
    "distance_m",
    "approximate",
    "zone_name",
    "zone_version",
    "reason",
    "lon",
    "lat",
]
XLSX_MAX_ROWS = 1_048_575
EXPORT_FORMATS = ("csv", "xlsx", "gpkg")


def affected_list_sql(*, run: ExposureRun, user, text_booleans: bool = False, **filters) -> tuple[str, list]:
    """The affected-list query (approximate households last) restricted to what the user may see. With
    `text_booleans`, yes/no columns are the words true and false (COPY would write PostgreSQL's t and f)."""
    approximate = "CASE WHEN r.approximate THEN 'true' ELSE 'false' END" if text_booleans else "r.approximate"
    scoped = exposure_result_list(run=run, user=user, **filters).values("household_id").order_by()
    scoped_sql, scoped_params = scoped.query.sql_with_params()
    sql = f"""
        SELECT h.id AS household_id, h.registrant_id, h.external_id, head.name AS head_name,
               ar.code AS area_code, ar.name AS area_name, c.key AS hazard_class, c.name AS class_name,
               r.class_rank, round(r.raster_value::numeric, 3)::float8 AS raster_value,
               round(r.distance_m::numeric, 1)::float8 AS distance_m, {approximate} AS approximate, z.name AS zone_name,
               z.version AS zone_version, r.reason,
               ST_X(h.location) AS lon, ST_Y(h.location) AS lat
        FROM response_exposureresult r
        JOIN registry_household h ON h.id = r.household_id
        JOIN response_hazardclass c ON c.id = r.hazard_class_id
        LEFT JOIN response_hazardzone z ON z.id = r.zone_id
        LEFT JOIN geo_area ar ON ar.id = r.area_id
        LEFT JOIN LATERAL (
            SELECT concat_ws(' ', i.given_name, i.family_name) AS name
            FROM registry_membership m JOIN registry_individual i ON i.id = m.individual_id
            WHERE m.household_id = h.id AND m.end_date IS NULL AND m.role = 'head'
            ORDER BY m.start_date LIMIT 1
        ) head ON true
        WHERE r.run_id = %s AND r.household_id IN ({scoped_sql})
        ORDER BY r.approximate, r.class_rank DESC, h.id
    """
    return sql, [run.pk, *scoped_params]


def _literal_sql(sql: str, params: list) -> str:
    """COPY takes no bind parameters: render them client-side with psycopg's own quoting."""
    import psycopg

    connection.ensure_connection()
    return psycopg.ClientCursor(connection.connection).mogrify(sql, params)


def affected_csv(*, run: ExposureRun, user, **filters) -> Iterator[bytes]:
    """CSV with a header row, streamed straight from COPY."""
    sql, params = affected_list_sql(run=run, user=user, text_booleans=True, **filters)
    query = _literal_sql(sql, params)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy,
    ):
        for data in copy:
            yield bytes(data)


def _server_side_batches(sql: str, params: list, *, batch: int = 20_000) -> Iterator[list[tuple]]:
    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor(name="response_export") as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(batch):
                yield rows


def affected_xlsx(*, run: ExposureRun, user, path: Path, **filters) -> Path:
    """An XLSX workbook written row by row (openpyxl write-only mode)."""
    from openpyxl import Workbook

    count = exposure_result_list(run=run, user=user, **filters).count()
    if count > XLSX_MAX_ROWS:
        raise ValidationError({"format": f"{count} rows do not fit in one worksheet; export CSV or GeoPackage."})
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=f"Run {run.pk} affected")
    sheet.append(AFFECTED_COLUMNS)
    sql, params = affected_list_sql(run=run, user=user, **filters)
    for rows in _server_side_batches(sql, params):
        for row in rows:  # openpyxl's write-only sheets take one row at a time
            sheet.append(row)
    workbook.save(path)
    return path


def affected_geopackage(*, run: ExposureRun, user, path: Path, batch: int = 50_000, **filters) -> Path:
    """A GeoPackage point layer (households located only to an area have no geometry), appended batch by batch."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    sql, params = affected_list_sql(run=run, user=user, **filters)
    written = False

    def write(rows: list[tuple]) -> None:
        nonlocal written
        frame = pd.DataFrame(rows, columns=AFFECTED_COLUMNS)
        for column in ("raster_value", "distance_m", "lon", "lat", "zone_version"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
        geometry = shapely.points(frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float))
        layer = gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), geometry=geometry, crs="EPSG:4326")
        layer.to_file(path, driver="GPKG", layer="affected_households", mode="a" if written else "w")
        written = True

    for rows in _server_side_batches(sql, params, batch=batch):
        write(rows)
    if not written:
        write([])
    return path


def export_file(*, run: ExposureRun, user, fmt: str, **filters) -> Path:
    if fmt not in ("xlsx", "gpkg"):
        raise ValidationError({"format": f"Choose one of: {', '.join(EXPORT_FORMATS)}."})
    folder = temporary_folder()
    path = folder / f"incident-{run.incident_id}-run-{run.pk}-affected.{fmt}"
    try:
        if fmt == "xlsx":
            return affected_xlsx(run=run, user=user, path=path, **filters)
        return affected_geopackage(run=run, user=user, path=path, **filters)
    except BaseException:
        remove_folder(folder)  # on success the response removes it once the file is sent
        raise
