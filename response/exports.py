"""Exports of a run's affected list (CSV, XLSX, GeoPackage) and the situation report. Rows stream from the database
(COPY for CSV, a server-side cursor otherwise), so memory does not grow with the list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from registry.selectors import personal_data_allowed
from response.models import ExposureRun
from response.selectors import exposure_result_list
from spmis.api.files import remove_folder, temporary_folder

# (name, SQL expression, personal): personal columns (names, identifiers from other systems, exact points) are
# exported only to users with registry.view_personal_data.
AFFECTED_SELECT = [
    ("household_id", "h.id", False),
    ("registrant_id", "h.registrant_id", False),
    ("external_id", "h.external_id", True),
    ("head_name", "head.name", True),
    ("area_code", "ar.code", False),
    ("area_name", "ar.name", False),
    ("hazard_class", "c.key", False),
    ("class_name", "c.name", False),
    ("class_rank", "r.class_rank", False),
    ("raster_value", "round(r.raster_value::numeric, 3)::float8", False),
    ("distance_m", "round(r.distance_m::numeric, 1)::float8", False),
    ("approximate", "r.approximate", False),
    ("zone_name", "z.name", False),
    ("zone_version", "z.version", False),
    ("reason", "r.reason", False),
    ("lon", "ST_X(h.location)", True),
    ("lat", "ST_Y(h.location)", True),
]
AFFECTED_COLUMNS = [name for name, _, _ in AFFECTED_SELECT]
XLSX_MAX_ROWS = 1_048_575
EXPORT_FORMATS = ("csv", "xlsx", "gpkg")
HEAD_NAME_JOIN = """
        LEFT JOIN LATERAL (
            SELECT concat_ws(' ', i.given_name, i.family_name) AS name
            FROM registry_membership m JOIN registry_individual i ON i.id = m.individual_id
            WHERE m.household_id = h.id AND m.end_date IS NULL AND m.role = 'head'
            ORDER BY m.start_date LIMIT 1
        ) head ON true"""


def affected_columns(user) -> list[str]:
    """The affected list's columns this user may export: the one place the response app applies
    registry.view_personal_data to exports."""
    personal = personal_data_allowed(user)
    return [name for name, _, is_personal in AFFECTED_SELECT if personal or not is_personal]


def affected_list_sql(*, run: ExposureRun, user, text_booleans: bool = False, **filters) -> tuple[str, list]:
    """The affected-list query (approximate households last) restricted to what the user may see, with the columns
    of affected_columns(user). With `text_booleans`, yes/no columns are the words true and false (COPY would write
    PostgreSQL's t and f)."""
    scoped = exposure_result_list(run=run, user=user, **filters).values("household_id").order_by()
    scoped_sql, scoped_params = scoped.query.sql_with_params()
    columns = set(affected_columns(user))
    expressions = {name: expression for name, expression, _ in AFFECTED_SELECT}
    if text_booleans:
        expressions["approximate"] = "CASE WHEN r.approximate THEN 'true' ELSE 'false' END"
    select = ", ".join(f"{expressions[name]} AS {name}" for name, _, _ in AFFECTED_SELECT if name in columns)
    head_join = HEAD_NAME_JOIN if "head_name" in columns else ""
    sql = f"""
        SELECT {select}
        FROM response_exposureresult r
        JOIN registry_household h ON h.id = r.household_id
        JOIN response_hazardclass c ON c.id = r.hazard_class_id
        LEFT JOIN response_hazardzone z ON z.id = r.zone_id
        LEFT JOIN geo_area ar ON ar.id = r.area_id{head_join}
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
    sheet.append(affected_columns(user))
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

    if "lon" not in affected_columns(user):
        raise PermissionDenied("A GeoPackage holds exact locations, which your role may not see; export CSV or XLSX.")
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
