"""Writes for areas. The import is set-based: features are staged with COPY, validated and repaired in SQL, and
merged in one transaction, so a bad file changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from geo.models import AreaImport
from geo.spatial import open_vector, read_frame
from spmis.core.bulk import copy_rows, staging_table
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

Progress = Callable[[int, str], None]
PARENT_MATCH_CHOICES = ("code", "spatial", "none")
MAX_ROW_ERRORS = 50


@dataclass
class AreaImportOptions:
    level: int
    code_field: str = "code"
    name_field: str = "name"
    parent_match: str = "none"
    parent_code_field: str | None = None
    population_field: str | None = None
    layer: str | None = None
    assume_crs: int | None = None

    def validate(self) -> None:
        errors = {}
        if self.level < 0:
            errors["level"] = "Level must be 0 (country) or more."
        if self.parent_match not in PARENT_MATCH_CHOICES:
            errors["parent_match"] = f"Choose one of {', '.join(PARENT_MATCH_CHOICES)}."
        if self.parent_match == "code" and not self.parent_code_field:
            errors["parent_code_field"] = "Required when parents are matched by code."
        if self.level > 0 and self.parent_match == "none":
            errors["parent_match"] = "Areas below level 0 need a parent: match by code or spatially."
        if errors:
            raise ValidationError(errors)


@dataclass
class AreaImportResult:
    features: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    repaired: int = 0
    reassigned_locations: int = 0
    warnings: list[str] = field(default_factory=list)


def _noop_progress(percent: int, message: str) -> None:
    return None


def area_import_file(
    *, path: str | Path, options: AreaImportOptions, progress: Progress = _noop_progress
) -> AreaImportResult:
    """Import (create or update by code) the areas in a GeoJSON, GeoPackage or zipped Shapefile."""
    options.validate()
    progress(5, "Reading the file")
    vector = open_vector(path, layer=options.layer)
    frame = read_frame(vector, assume_crs=options.assume_crs)
    if len(frame) == 0:
        raise ValidationError({"file": "The layer has no features."})
    wanted = {
        "code_field": options.code_field,
        "name_field": options.name_field,
        "parent_code_field": options.parent_code_field if options.parent_match == "code" else None,
        "population_field": options.population_field,
    }
    missing = {
        param: f"No column {column!r}; the file has: {', '.join(c for c in frame.columns if c != 'geometry')}."
        for param, column in wanted.items()
        if column and column not in frame.columns
    }
    if missing:
        raise ValidationError(missing)

    progress(25, f"Staging {len(frame)} features")
    with connection.cursor() as cursor:
        _stage(cursor, frame, options)
        progress(45, "Validating and repairing geometries")
        result = AreaImportResult(features=len(frame))
        errors, result.repaired = _validate_staged(cursor, options)
        if errors:
            raise ValidationError({"rows": errors})
        progress(65, "Merging areas")
        with transaction.atomic():
            _merge_staged(cursor, options, result)
            progress(85, "Re-assigning located records to areas")
            cursor.execute("SELECT geo_reassign_all_locations()")
            result.reassigned_locations = cursor.fetchone()[0]
        cursor.execute("DROP TABLE IF EXISTS area_stage")
    progress(100, "Done")
    return result


AREA_STAGE = [
    ("row_no", "int"), ("code", "text"), ("name", "text"), ("parent_code", "text"), ("population", "text"),
    ("wkb", "bytea"),
]  # fmt: skip


def _stage(cursor, frame, options: AreaImportOptions) -> None:
    staging_table(cursor, "area_stage", AREA_STAGE)

    def column(name: str | None):
        if not name:
            return [None] * len(frame)
        return [None if value is None or value != value else str(value).strip() for value in frame[name]]

    codes, names = column(options.code_field), column(options.name_field)
    parents, populations = column(options.parent_code_field), column(options.population_field)
    wkbs = [None if geom is None or geom.is_empty else geom.wkb for geom in frame.geometry]
    rows = zip(codes, names, parents, populations, wkbs, strict=True)
    copy_rows(
        "area_stage",
        [name for name, _ in AREA_STAGE],
        ((index, *row) for index, row in enumerate(rows, 1)),
        cursor=cursor,
    )


def _validate_staged(cursor, options: AreaImportOptions) -> tuple[list[str], int]:
    cursor.execute(
        """
        ALTER TABLE area_stage ADD COLUMN geom geometry(MultiPolygon, 4326), ADD COLUMN was_invalid boolean;
        UPDATE area_stage SET
            was_invalid = NOT ST_IsValid(ST_GeomFromWKB(wkb, 4326)),
            geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB(wkb, 4326)), 3))
        WHERE wkb IS NOT NULL;
        """
    )
    cursor.execute(
        """
        SELECT row_no, problem FROM (
            SELECT row_no, 'code is empty' AS problem FROM area_stage WHERE coalesce(code, '') = ''
            UNION ALL SELECT row_no, 'name is empty' FROM area_stage WHERE coalesce(name, '') = ''
            UNION ALL SELECT row_no, 'geometry is missing or empty' FROM area_stage WHERE wkb IS NULL
            UNION ALL SELECT row_no, 'geometry has no polygon area after repair'
                FROM area_stage WHERE wkb IS NOT NULL AND ST_IsEmpty(geom)
            UNION ALL SELECT row_no, 'population is not a whole number'
                FROM area_stage WHERE population IS NOT NULL AND population !~ '^[0-9]+(\\.0+)?$'
            UNION ALL SELECT s.row_no, 'code ' || s.code || ' appears more than once in the file'
                FROM area_stage s JOIN (SELECT code FROM area_stage GROUP BY code HAVING count(*) > 1) d USING (code)
        ) problems ORDER BY row_no LIMIT %s
        """,
        [MAX_ROW_ERRORS],
    )
    errors = [f"row {row_no}: {problem}" for row_no, problem in cursor.fetchall()]
    if not errors:
        errors += _resolve_parents(cursor, options)
    cursor.execute("SELECT count(*) FILTER (WHERE was_invalid) FROM area_stage")
    return errors, cursor.fetchone()[0]


def _resolve_parents(cursor, options: AreaImportOptions) -> list[str]:
    cursor.execute("ALTER TABLE area_stage ADD COLUMN parent_id bigint")
    if options.parent_match == "code":
        cursor.execute(
            "UPDATE area_stage s SET parent_id = a.id FROM geo_area a WHERE a.code = s.parent_code AND a.level < %s",
            [options.level],
        )
        cursor.execute(
            "SELECT row_no, parent_code FROM area_stage WHERE parent_id IS NULL ORDER BY row_no LIMIT %s",
            [MAX_ROW_ERRORS],
        )
        return [
            f"row {row_no}: parent code {code!r} matches no area above level {options.level}"
            if code
            else f"row {row_no}: parent code is empty"
            for row_no, code in cursor.fetchall()
        ]
    if options.parent_match == "spatial":
        # Largest overlap with an area of the level just above, which tolerates slightly misaligned edges.
        cursor.execute(
            """
            UPDATE area_stage s SET parent_id = best.id FROM (
                SELECT DISTINCT ON (s2.row_no) s2.row_no, a.id
                FROM area_stage s2 JOIN geo_area a ON a.level = %s AND ST_Intersects(a.geom, s2.geom)
                ORDER BY s2.row_no, ST_Area(ST_Intersection(a.geom, s2.geom)) DESC
            ) best WHERE best.row_no = s.row_no
            """,
            [options.level - 1],
        )
        cursor.execute(
            "SELECT row_no FROM area_stage WHERE parent_id IS NULL ORDER BY row_no LIMIT %s", [MAX_ROW_ERRORS]
        )
        return [f"row {row_no}: lies in no area of level {options.level - 1}" for (row_no,) in cursor.fetchall()]
    return []


def _merge_staged(cursor, options: AreaImportOptions, result: AreaImportResult) -> None:
    cursor.execute(
        """
        INSERT INTO geo_area (code, name, level, parent_id, geom, population, lineage, created_at, updated_at)
        SELECT code, name, %s, parent_id, geom, population::numeric::bigint, '{}', now(), now()
        FROM area_stage ORDER BY row_no
        ON CONFLICT (code) DO UPDATE SET
            name = EXCLUDED.name, level = EXCLUDED.level, parent_id = EXCLUDED.parent_id, geom = EXCLUDED.geom,
            population = coalesce(EXCLUDED.population, geo_area.population), updated_at = now()
        WHERE (geo_area.name, geo_area.level, geo_area.parent_id, geo_area.population)
                  IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.level, EXCLUDED.parent_id,
                                    coalesce(EXCLUDED.population, geo_area.population))
              OR NOT ST_Equals(geo_area.geom, EXCLUDED.geom)
        RETURNING (xmax = 0)
        """,
        [options.level],
    )
    outcomes = [inserted for (inserted,) in cursor.fetchall()]
    result.created = sum(outcomes)
    result.updated = len(outcomes) - result.created
    result.unchanged = result.features - len(outcomes)


def area_import_start(*, file, original_name: str, options: AreaImportOptions, user) -> AreaImport:
    """Record an import job and queue it after commit; returns the row to poll."""
    options.validate()
    with transaction.atomic(durable=True):
        job = AreaImport.objects.create(
            file=file, original_name=original_name, parameters=asdict(options), created_by=user
        )
        enqueue_on_commit("geo.area_import", job.pk)
    return job


def area_import_run(*, import_id: int) -> AreaImport:
    """Run a queued import; the job row records progress, the result or the error."""

    def work(job: AreaImport, progress) -> JobOutcome:
        result = area_import_file(path=job.file.path, options=AreaImportOptions(**job.parameters), progress=progress)
        return JobOutcome(result=asdict(result))

    return run_job(AreaImport, import_id, work, error_field="file")
