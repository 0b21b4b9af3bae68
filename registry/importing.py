"""Registry import: CSV, XLSX or GeoJSON → a raw staging table (COPY) → per-row validation in SQL with every
reason → set-based upsert by external ID. Rejected rows go to a downloadable CSV report; valid rows are merged.

Memory stays flat as the file grows: a CSV is streamed to PostgreSQL's own CSV parser in chunks; XLSX rows are read
with openpyxl's read-only mode and written row by row to COPY; GeoJSON features are decoded one at a time
(registry.geojson) and written row by row to COPY.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from psycopg import sql

from geo.spatial import lowest_area_sql
from registry.geojson import feature_collection
from registry.models import CustomField, Membership
from spmis.core.bulk import copy_rows, staging_table
from spmis.country import country

Progress = Callable[[int, str], None]

HOUSEHOLD_TARGETS = ("household_id", "longitude", "latitude", "area_code", "address", "registered_on")
INDIVIDUAL_TARGETS = (
    "individual_id",
    "given_name",
    "family_name",
    "other_names",
    "birth_date",
    "birth_date_estimated",
    "sex",
    "role",
    "phone",
    "id_type",
    "id_number",
    "is_pregnant",
    "is_lactating",
    "wg_seeing",
    "wg_hearing",
    "wg_walking",
    "wg_cognition",
    "wg_self_care",
    "wg_communication",
    "status",
)
TARGETS = HOUSEHOLD_TARGETS + INDIVIDUAL_TARGETS
REQUIRED = ("household_id", "individual_id", "given_name")
BOOLEAN_TARGETS = ("birth_date_estimated", "is_pregnant", "is_lactating")
WG_TARGETS = tuple(t for t in INDIVIDUAL_TARGETS if t.startswith("wg_"))
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0", "")
SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".geojson": "geojson", ".json": "geojson"}
CHUNK = 1 << 20


def _noop_progress(percent: int, message: str) -> None:
    return None


@dataclass
class ImportOptions:
    """What to import and how: `mapping` is {target field: column in the file}; targets not mapped are looked for
    under their own name. Custom fields are targets named `custom.<name>`."""

    source: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    file_format: str | None = None
    # Numbers without a country code are read for this region; the configured country's by default.
    phone_region: str = field(default_factory=lambda: country().phone_region)
    sheet: str | None = None

    def validate(self) -> None:
        errors = {}
        unknown = [t for t in self.mapping if t not in TARGETS and not t.startswith("custom.")]
        if unknown:
            errors["mapping"] = f"Unknown target fields: {', '.join(sorted(unknown))}."
        if self.file_format and self.file_format not in set(SUFFIXES.values()):
            errors["file_format"] = "Choose csv, xlsx or geojson."
        if self.phone_region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            errors["phone_region"] = f"Unknown region {self.phone_region!r}."
        if errors:
            raise ValidationError(errors)


@dataclass
class ImportResult:
    rows: int = 0
    valid_rows: int = 0
    rejected_rows: int = 0
    households_created: int = 0
    households_updated: int = 0
    households_unchanged: int = 0
    individuals_created: int = 0
    individuals_updated: int = 0
    individuals_unchanged: int = 0
    memberships_opened: int = 0
    memberships_closed: int = 0
    phones_added: int = 0
    documents_added: int = 0
    errors_sample: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Reading: every format becomes a header plus rows of text written to the raw staging table.


def _file_format(path: Path, declared: str | None) -> str:
    if declared:
        return declared
    found = SUFFIXES.get(path.suffix.lower())
    if not found:
        raise ValidationError({"file": "Unsupported file type: use .csv, .xlsx or .geojson."})
    return found


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _xlsx_rows(path: Path, sheet: str | None) -> tuple[list[str], Iterator[list[str | None]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile/KeyError/InvalidFileException for damaged files
        raise ValidationError({"file": f"The file could not be read as XLSX ({error})."}) from None
    if sheet and sheet not in book.sheetnames:
        raise ValidationError({"sheet": f"No sheet {sheet!r}; the workbook has: {', '.join(book.sheetnames)}."})
    rows = book[sheet].iter_rows(values_only=True) if sheet else book.worksheets[0].iter_rows(values_only=True)
    header = next(rows, None)
    if not header:
        raise ValidationError({"file": "The sheet is empty."})
    names = [_cell_text(name) or f"column_{i + 1}" for i, name in enumerate(header)]

    def body() -> Iterator[list[str | None]]:
        for row in rows:
            cells = [_cell_text(value) for value in row[: len(names)]]
            if any(cell is not None for cell in cells):
                yield cells + [None] * (len(names) - len(cells))
        book.close()

    return names, body()


def _geojson_records(path: Path) -> Iterator[dict[str, str | None]]:
    """Features are households (with a `members` list of individuals) or flat individual rows; a Point geometry
    gives longitude/latitude. One record per row, its values as the text that is staged; read feature by feature."""
    for number, feature in enumerate(feature_collection(path), start=1):
        feature = feature or {}
        if not isinstance(feature, dict):
            raise ValidationError({"file": f"Feature {number} is not a JSON object: {_excerpt(feature)}."})
        properties = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        for name, value in (("properties", properties), ("geometry", geometry)):
            if not isinstance(value, dict):
                raise ValidationError({"file": f"Feature {number}: {name} is not a JSON object: {_excerpt(value)}."})
        properties = dict(properties)
        coordinates = geometry.get("coordinates")
        if geometry.get("type") == "Point" and isinstance(coordinates, list) and len(coordinates) >= 2:
            properties.setdefault("longitude", coordinates[0])
            properties.setdefault("latitude", coordinates[1])
        members = properties.pop("members", None)
        if isinstance(members, list) and members:
            for member in members:
                if not isinstance(member or {}, dict):
                    raise ValidationError(
                        {"file": f"Feature {number}: each of its members must be an object, not {_excerpt(member)}."}
                    )
                yield _record_text({**properties, **(member or {})})
        else:
            yield _record_text(properties)


def _excerpt(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _record_text(record: dict) -> dict[str, str | None]:
    # Nested objects and lists have no column to go to.
    return {name: None if isinstance(value, dict | list) else _cell_text(value) for name, value in record.items()}


def _stage_records(cursor, records: Iterator[dict[str, str | None]]) -> list[str]:
    """Stage records whose keys are only known as they come, without holding them: COPY runs until a record brings
    a key not seen before, then that column is added and COPY goes on. Returns the column names in order of first
    appearance."""
    # Row numbers are written here, counted from 2 as for the other formats (whose header is row 1).
    staging_table(cursor, "registry_raw_stage", [("row_no", "bigint")])
    names: list[str] = []
    index: dict[str, int] = {}
    row_no = 1
    pending = next(records, None)
    while pending is not None:
        new = [name for name in pending if name not in index]
        if new:
            for name in new:
                index[name] = len(names)
                names.append(name)
            cursor.execute(
                sql.SQL("ALTER TABLE registry_raw_stage {}").format(
                    sql.SQL(", ").join(
                        sql.SQL("ADD COLUMN {} text").format(sql.Identifier(f"c{index[n]}")) for n in new
                    )
                )
            )
        columns = sql.SQL(", ").join(map(sql.Identifier, ["row_no", *(f"c{i}" for i in range(len(names)))]))
        record, pending = pending, None
        with cursor.cursor.copy(sql.SQL("COPY registry_raw_stage ({}) FROM STDIN").format(columns)) as copy:
            while record is not None:
                row_no += 1
                copy.write_row([row_no, *(record.get(name) for name in names)])
                record = next(records, None)
                if record is not None and not record.keys() <= index.keys():
                    record, pending = None, record
    return names


NOT_UTF8 = "The file is not UTF-8 text: save it as “CSV UTF-8” (or upload the XLSX itself)."


def _csv_header(path: Path) -> tuple[list[str], str]:
    """The header's column names and the delimiter (comma, or the semicolon or tab some spreadsheets write)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError:
        raise ValidationError({"file": NOT_UTF8}) from None
    delimiter = max((",", ";", "\t"), key=first.count)
    header = next(csv.reader([first], delimiter=delimiter), None)
    if not header:
        raise ValidationError({"file": "The file is empty."})
    return [name.strip() or f"column_{i + 1}" for i, name in enumerate(header)], delimiter


def _create_raw_stage(cursor, names: list[str]) -> None:
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise ValidationError({"file": f"Column names repeat: {', '.join(duplicated)}."})
    # Row numbers as a spreadsheet shows them: the header is row 1.
    staging_table(
        cursor,
        "registry_raw_stage",
        [
            ("row_no", "bigint GENERATED ALWAYS AS IDENTITY (START WITH 2)"),
            *((f"c{i}", "text") for i in range(len(names))),
        ],
    )


def _stage_file(cursor, path: Path, options: ImportOptions, progress: Progress) -> list[str]:
    """Load the file into registry_raw_stage (c0..cN text); returns the column names."""
    kind = _file_format(path, options.file_format)
    column_list = None
    if kind == "csv":
        names, delimiter = _csv_header(path)
        _create_raw_stage(cursor, names)
        column_list = ", ".join(f"c{i}" for i in range(len(names)))
        # No progress updates during the COPY: they would need the same connection, which COPY holds.
        try:
            with (
                path.open("rb") as handle,
                cursor.cursor.copy(
                    f"COPY registry_raw_stage ({column_list}) FROM STDIN "
                    f"WITH (FORMAT csv, HEADER true, DELIMITER {_literal(delimiter)})"
                ) as copy,
            ):
                first = handle.read(3)
                if first != b"\xef\xbb\xbf":  # a UTF-8 byte-order mark would end up in the first header name
                    copy.write(first)
                while chunk := handle.read(CHUNK):
                    copy.write(chunk)
        except Exception as error:  # psycopg reports malformed CSV (extra columns, bad quoting) as DataError
            message = str(error).splitlines()[0]
            context = next((line for line in str(error).splitlines() if "line" in line.lower()), "")
            raise ValidationError({"file": f"The CSV file could not be read: {message} {context}".strip()}) from None
        return names
    if kind == "geojson":
        names = _stage_records(cursor, _geojson_records(path))
        if not names:
            raise ValidationError({"file": "The file has no features with properties."})
        return names
    names, rows = _xlsx_rows(path, options.sheet)
    _create_raw_stage(cursor, names)
    copy_rows("registry_raw_stage", [f"c{i}" for i in range(len(names))], rows, cursor=cursor)
    return names


# ---------------------------------------------------------------------------------------------------------------
# Validation in SQL.


def _phone_fast_path(region: str) -> tuple[str, str, str]:
    """(country code, national prefix, pattern of every valid national number) from phonenumbers' metadata, so
    most numbers are checked by one regular expression in SQL; the rest go through phonenumbers itself."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    kinds = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip", "uan")
    patterns = [
        getattr(meta, kind).national_number_pattern
        for kind in kinds
        if getattr(meta, kind) is not None and getattr(meta, kind).national_number_pattern
    ]
    return str(meta.country_code), meta.national_prefix or "", "^(?:" + "|".join(f"(?:{p})" for p in patterns) + ")$"


def _python_phone(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _literal(value: str) -> str:
    """A text value as an SQL literal, quoted by psycopg (for statements that take no parameters, such as COPY)."""
    return sql.quote(value)


def _build_stage(cursor, names: list[str], options: ImportOptions, custom: list[CustomField]) -> None:
    """registry_stage: one text column per target, taken from the mapped file column."""
    index = {name: i for i, name in enumerate(names)}
    targets = list(TARGETS) + [f"custom.{f.name}" for f in custom]
    selects = []
    for target in targets:
        column = options.mapping.get(target, target)
        if column in index:
            selects.append(f"nullif(btrim(c{index[column]}), '') AS \"{target}\"")
        else:
            selects.append(f'NULL::text AS "{target}"')
    absent = sorted(f"{target} → {column}" for target, column in options.mapping.items() if column not in index)
    if absent:
        raise ValidationError(
            {"mapping": f"Mapped columns not in the file: {', '.join(absent)}; its columns are: {', '.join(names)}."}
        )
    missing = [t for t in REQUIRED if options.mapping.get(t, t) not in index]
    if missing:
        raise ValidationError(
            {
                "mapping": f"The file has no column for {', '.join(missing)}; "
                f"its columns are: {', '.join(names)}. Map them with mapping={{target: column}}."
            }
        )
    cursor.execute("DROP TABLE IF EXISTS registry_stage")
    cursor.execute(f"CREATE TEMP TABLE registry_stage AS SELECT row_no, {', '.join(selects)} FROM registry_raw_stage")
    cursor.execute("CREATE INDEX ON registry_stage (row_no)")
    cursor.execute("ANALYZE registry_stage")


# A CASE, not AND: the planner may reorder AND-ed conditions, and casting text that is not a number would fail.
VALID_COORDINATES = (
    r"CASE WHEN longitude ~ '^-?[0-9]+(\.[0-9]+)?$' AND latitude ~ '^-?[0-9]+(\.[0-9]+)?$'"
    " THEN longitude::float8 BETWEEN -180 AND 180 AND latitude::float8 BETWEEN -90 AND 90 ELSE false END"
)


def _scope_rules(cursor, area_ids: list[int]) -> list[str]:
    """Rules for an importer bound to areas, set-based: every row of a household is rejected when any of its rows
    places it outside those areas (a point in no area of theirs, an area code outside them) or when the household
    already exists outside them; a row is rejected when it would move an existing person out of a household
    outside them."""
    scope = "ARRAY[" + ", ".join(str(int(i)) for i in area_ids) + "]::bigint[]"
    inside = f"(a.id IS NOT NULL AND a.lineage && {scope})"
    cursor.execute("DROP TABLE IF EXISTS registry_stage_point")
    cursor.execute(
        "CREATE TEMP TABLE registry_stage_point AS "
        "SELECT row_no AS id, ST_SetSRID(ST_MakePoint(longitude::float8, latitude::float8), 4326) AS location "
        f"FROM registry_stage WHERE longitude IS NOT NULL AND latitude IS NOT NULL AND {VALID_COORDINATES}"
    )
    cursor.execute("CREATE INDEX ON registry_stage_point USING gist (location)")
    cursor.execute("ANALYZE registry_stage_point")
    cursor.execute("DROP TABLE IF EXISTS registry_scope_violation")
    cursor.execute(
        f"""
        CREATE TEMP TABLE registry_scope_violation AS
        SELECT s.household_id, 'location ' || s.longitude || ', ' || s.latitude || ' (row ' || s.row_no || ') is '
               || coalesce('in ' || a.code || ', ', 'in no known area, ') || 'outside your areas' AS reason
        FROM registry_stage_point p JOIN registry_stage s ON s.row_no = p.id
        LEFT JOIN ({lowest_area_sql("registry_stage_point")}) located ON located.id = p.id
        LEFT JOIN geo_area a ON a.id = located.area_id
        WHERE NOT {inside}
        UNION
        SELECT s.household_id, 'area ' || a.code || ' (row ' || s.row_no || ') is outside your areas'
        FROM registry_stage s JOIN geo_area a ON a.code = s.area_code
        WHERE NOT {inside}
        UNION
        SELECT DISTINCT s.household_id, 'the household is registered outside your areas'
            || coalesce(' (in ' || a.code || ')', '')
        FROM registry_stage s JOIN registry_household h ON h.external_id = s.household_id
        LEFT JOIN geo_area a ON a.id = h.area_id
        WHERE NOT {inside}
        """
    )
    return [
        "SELECT s.row_no, 'household ' || quote_literal(s.household_id) || ': ' || v.reason "
        "FROM registry_stage s JOIN registry_scope_violation v USING (household_id)",
        "SELECT DISTINCT s.row_no, 'individual ' || quote_literal(s.individual_id) || ' belongs to household '"
        " || h.external_id || ' outside your areas' FROM registry_stage s"
        " JOIN registry_individual i ON i.external_id = s.individual_id"
        " JOIN registry_membership m ON m.individual_id = i.id AND m.end_date IS NULL"
        " JOIN registry_household h ON h.id = m.household_id LEFT JOIN geo_area a ON a.id = h.area_id"
        f" WHERE NOT {inside}",
    ]


NEEDS_REVIEW = "that needs a change request approved by a second user"


def _four_eyes_rules() -> list[str]:
    """Rules for an importer without registry.import_changes: changes that a change request would need a second
    user to approve (moving a person to another household, moving a located household, a new phone number for
    someone who has one) are rejected rather than applied by one person's upload."""
    moved_point = (
        f"CASE WHEN s.longitude IS NOT NULL AND s.latitude IS NOT NULL AND {VALID_COORDINATES} "
        "THEN (ST_X(h.location), ST_Y(h.location)) IS DISTINCT FROM (s.longitude::float8, s.latitude::float8) "
        "ELSE false END"
    )
    return [
        "SELECT DISTINCT s.row_no, 'individual ' || quote_literal(s.individual_id) || ' would move from household '"
        f" || h.external_id || ' to ' || s.household_id || ': {NEEDS_REVIEW}' FROM registry_stage s"
        " JOIN registry_individual i ON i.external_id = s.individual_id"
        " JOIN registry_membership m ON m.individual_id = i.id AND m.end_date IS NULL"
        " JOIN registry_household h ON h.id = m.household_id WHERE h.external_id IS DISTINCT FROM s.household_id",
        "SELECT s.row_no, 'household ' || quote_literal(s.household_id) || ' would move to ' || s.longitude || ', '"
        f" || s.latitude || ': {NEEDS_REVIEW}' FROM registry_stage s"
        " JOIN registry_household h ON h.external_id = s.household_id"
        f" WHERE h.location IS NOT NULL AND {moved_point}",
        "SELECT s.row_no, 'individual ' || quote_literal(s.individual_id) || ' would get a new phone number: "
        f"{NEEDS_REVIEW}' FROM registry_stage s JOIN registry_individual i ON i.external_id = s.individual_id"
        " WHERE s.phone_e164 IS NOT NULL AND EXISTS (SELECT 1 FROM registry_phone p WHERE p.individual_id = i.id)"
        " AND NOT EXISTS (SELECT 1 FROM registry_phone p WHERE p.individual_id = i.id AND p.number = s.phone_e164)",
    ]


def _validate(
    cursor,
    options: ImportOptions,
    custom: list[CustomField],
    area_ids: list[int] | None = None,
    four_eyes: bool = False,
) -> None:
    """Fill registry_stage_error (row_no, reason) with every reason each row is rejected. With `area_ids` (the
    importing user's areas), rows outside them are rejected too (_scope_rules); with `four_eyes`, changes that need
    a second user's approval (_four_eyes_rules)."""
    cursor.execute("DROP TABLE IF EXISTS registry_stage_error")
    cursor.execute("CREATE TEMP TABLE registry_stage_error (row_no bigint, reason text)")
    rules: list[str] = _scope_rules(cursor, area_ids) if area_ids is not None else []
    if four_eyes:
        rules.extend(_four_eyes_rules())
    for target in REQUIRED:
        rules.append(f"SELECT row_no, 'missing field {target}' FROM registry_stage WHERE \"{target}\" IS NULL")
    for target in ("birth_date", "registered_on"):
        rules.append(
            f"SELECT row_no, 'bad date {target} ' || quote_literal(\"{target}\") || ' (expected YYYY-MM-DD)' "
            f'FROM registry_stage WHERE "{target}" IS NOT NULL AND registry_iso_date("{target}") IS NULL'
        )
        rules.append(
            f"SELECT row_no, '{target} ' || \"{target}\" || ' is in the future' FROM registry_stage "
            f'WHERE registry_iso_date("{target}") > current_date'
        )
    rules.append(
        "SELECT row_no, 'bad value sex ' || quote_literal(sex) || ' (F, M or X)' FROM registry_stage "
        "WHERE sex IS NOT NULL AND lower(sex) NOT IN ('f', 'female', 'm', 'male', 'x', 'other')"
    )
    roles = ", ".join(_literal(r) for r in Membership.Role.values)
    rules.append(
        f"SELECT row_no, 'bad value role ' || quote_literal(role) || ' (one of {', '.join(Membership.Role.values)})' "
        f"FROM registry_stage WHERE role IS NOT NULL AND lower(role) NOT IN ({roles})"
    )
    rules.append(
        "SELECT row_no, 'bad value status ' || quote_literal(status) FROM registry_stage "
        "WHERE status IS NOT NULL AND lower(status) NOT IN ('active', 'inactive', 'deceased', 'moved')"
    )
    for target in BOOLEAN_TARGETS:
        words = ", ".join(_literal(w) for w in TRUE_WORDS + FALSE_WORDS)
        rules.append(
            f"SELECT row_no, 'bad value {target} ' || quote_literal(\"{target}\") || ' (yes or no)' "
            f'FROM registry_stage WHERE "{target}" IS NOT NULL AND lower("{target}") NOT IN ({words})'
        )
    for target in WG_TARGETS:
        rules.append(
            f"SELECT row_no, 'bad value {target} ' || quote_literal(\"{target}\") || ' (1 to 4)' "
            f'FROM registry_stage WHERE "{target}" IS NOT NULL AND "{target}" !~ \'^[1-4]$\''
        )
    rules.append(
        "SELECT row_no, 'unknown area code ' || quote_literal(area_code) FROM registry_stage s "
        "WHERE area_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM geo_area a WHERE a.code = s.area_code)"
    )
    number = r"'^-?[0-9]+(\.[0-9]+)?$'"
    rules.append(
        "SELECT row_no, 'bad location ' || coalesce(longitude, '?') || ', ' || coalesce(latitude, '?') "
        "|| ' (longitude -180..180, latitude -90..90)' FROM registry_stage "
        "WHERE (longitude IS NOT NULL OR latitude IS NOT NULL) AND NOT ("
        f" coalesce(longitude ~ {number} AND latitude ~ {number}, false)"
        " AND longitude::float8 BETWEEN -180 AND 180 AND latitude::float8 BETWEEN -90 AND 90)"
    )
    # A point inside the valid range but outside every area (a typo, a point at sea, the wrong country) would be
    # stored with no area: invisible to every scoped user and missing from every area count. Rejected like any bad
    # value, once areas are loaded at all (a bare installation has none yet).
    rules.append(
        "SELECT s.row_no, 'location ' || s.longitude || ', ' || s.latitude || ' lies outside every area' FROM ("
        " SELECT row_no, longitude, latitude, CASE WHEN longitude ~ "
        f"{number} AND latitude ~ {number} THEN ST_SetSRID(ST_MakePoint(longitude::float8, latitude::float8), 4326)"
        " END AS point FROM registry_stage WHERE longitude IS NOT NULL AND latitude IS NOT NULL) s"
        " WHERE ST_X(point) BETWEEN -180 AND 180 AND ST_Y(point) BETWEEN -90 AND 90"
        " AND EXISTS (SELECT 1 FROM geo_areapiece)"
        " AND NOT EXISTS (SELECT 1 FROM geo_areapiece p WHERE ST_Intersects(p.geom, s.point))"
    )
    # A household needs a point or an area somewhere among its rows.
    rules.append(
        "SELECT s.row_no, 'household ' || quote_literal(s.household_id) || ' has no location: give longitude and "
        "latitude or area_code' FROM registry_stage s JOIN ("
        " SELECT household_id FROM registry_stage GROUP BY household_id"
        " HAVING count(longitude) = 0 AND count(area_code) = 0) h USING (household_id)"
    )
    rules.append(
        "SELECT s.row_no, 'duplicate individual_id ' || quote_literal(s.individual_id) || ' (first on row ' "
        "|| f.first_row || ')' FROM registry_stage s JOIN ("
        " SELECT individual_id, min(row_no) AS first_row FROM registry_stage"
        " WHERE individual_id IS NOT NULL GROUP BY individual_id HAVING count(*) > 1) f USING (individual_id)"
        " WHERE s.row_no > f.first_row"
    )
    # ID documents: the type must exist, the number match its format, and belong to nobody else.
    rules.append(
        "SELECT row_no, 'unknown ID type ' || quote_literal(id_type) FROM registry_stage s "
        "WHERE id_type IS NOT NULL AND NOT EXISTS (SELECT 1 FROM registry_idtype t WHERE t.code = s.id_type)"
    )
    rules.append(
        "SELECT row_no, CASE WHEN id_type IS NULL THEN 'missing field id_type (id_number given)' "
        "ELSE 'missing field id_number (id_type given)' END FROM registry_stage "
        "WHERE (id_type IS NULL) <> (id_number IS NULL)"
    )
    rules.append(
        "SELECT s.row_no, 'ID number ' || quote_literal(s.id_number) || ' does not match the format of ' || t.name "
        "FROM registry_stage s JOIN registry_idtype t ON t.code = s.id_type "
        "WHERE s.id_number IS NOT NULL AND t.pattern <> '' AND s.id_number !~ ('^(?:' || t.pattern || ')$')"
    )
    rules.append(
        "SELECT s.row_no, 'duplicate ID ' || s.id_type || ' ' || s.id_number || ' (also on row ' || d.first_row "
        "|| ')' FROM registry_stage s JOIN ("
        " SELECT id_type, id_number, min(row_no) AS first_row FROM registry_stage WHERE id_number IS NOT NULL"
        " GROUP BY id_type, id_number HAVING count(DISTINCT individual_id) > 1) d USING (id_type, id_number)"
        " WHERE s.row_no > d.first_row"
    )
    rules.append(
        "SELECT s.row_no, 'duplicate ID ' || s.id_type || ' ' || s.id_number || ' already held by ' "
        "|| i.registrant_id FROM registry_stage s JOIN registry_idtype t ON t.code = s.id_type "
        "JOIN registry_iddocument d ON d.id_type_id = t.id AND d.number = s.id_number "
        "JOIN registry_individual i ON i.id = d.individual_id "
        "WHERE i.external_id IS DISTINCT FROM s.individual_id"
    )
    rules.append("SELECT row_no, 'invalid phone ' || quote_literal(phone) FROM registry_stage WHERE phone_bad")
    for definition in custom:
        rules.extend(_custom_rules(definition))
    _normalise_phones(cursor, options)
    # Rules that only look at their own row are evaluated together in one pass over the staged rows.
    simple, joined = [], []
    for rule in rules:
        match = _SIMPLE_RULE.match(rule)
        if match and " JOIN " not in rule and "GROUP BY" not in rule:
            simple.append(f"CASE WHEN {match['condition']} THEN {match['reason']} END")
        else:
            joined.append(rule)
    one_pass = (
        f"SELECT s.row_no, reason FROM registry_stage s, unnest(ARRAY[{', '.join(simple)}]) AS reason "
        "WHERE reason IS NOT NULL"
    )
    cursor.execute(
        "INSERT INTO registry_stage_error (row_no, reason) "
        + " UNION ALL ".join(f"({rule})" for rule in [one_pass, *joined])
    )


_SIMPLE_RULE = re.compile(r"^SELECT row_no, (?P<reason>.*) FROM registry_stage(?: s)? WHERE (?P<condition>.*)$", re.S)


def _custom_rules(definition: CustomField) -> list[str]:
    column = f'"custom.{definition.name}"'
    label = f"custom.{definition.name}"
    rules = []
    if definition.required:
        rules.append(f"SELECT row_no, 'missing field {label}' FROM registry_stage WHERE {column} IS NULL")
    checks = {
        "integer": f"{column} !~ '^-?[0-9]+$'",
        "decimal": rf"{column} !~ '^-?[0-9]+(\.[0-9]+)?$'",
        "boolean": f"lower({column}) NOT IN ({', '.join(_literal(w) for w in TRUE_WORDS + FALSE_WORDS)})",
        "date": f"registry_iso_date({column}) IS NULL",
    }
    choices = "ARRAY[" + ", ".join(_literal(str(c)) for c in definition.choices or []) + "]::text[]"
    checks["choice"] = f"NOT ({column} = ANY({choices}))"
    checks["multi_choice"] = f"NOT (string_to_array({column}, ';') <@ {choices})"
    if definition.type in checks:
        rules.append(
            f"SELECT row_no, 'bad value {label} ' || quote_literal({column}) || ' (expected {definition.type}"
            f"{' from the choices' if 'choice' in definition.type else ''})' "
            f"FROM registry_stage WHERE {column} IS NOT NULL AND {checks[definition.type]}"
        )
    return rules


def _normalise_phones(cursor, options: ImportOptions) -> None:
    country, prefix, pattern = _phone_fast_path(options.phone_region)
    cursor.execute(
        """
        ALTER TABLE registry_stage ADD COLUMN phone_e164 text, ADD COLUMN phone_bad boolean NOT NULL DEFAULT false;
        WITH cleaned AS (
            SELECT row_no, regexp_replace(phone, '[\\s().-]', '', 'g') AS p FROM registry_stage WHERE phone IS NOT NULL
        ), national AS (
            SELECT row_no, CASE
                WHEN p LIKE '+' || %(cc)s || '%%' THEN substr(p, length(%(cc)s) + 2)
                WHEN p LIKE '00' || %(cc)s || '%%' THEN substr(p, length(%(cc)s) + 3)
                WHEN %(prefix)s <> '' AND p LIKE %(prefix)s || '%%' THEN substr(p, length(%(prefix)s) + 1)
                WHEN p LIKE '+%%' THEN NULL
                ELSE p END AS nsn
            FROM cleaned
        )
        UPDATE registry_stage s SET phone_e164 = '+' || %(cc)s || n.nsn
        FROM national n WHERE n.row_no = s.row_no AND n.nsn ~ %(pattern)s
        """,
        {"cc": country, "prefix": prefix, "pattern": pattern},
    )
    # Whatever the fast path did not accept (foreign numbers, odd notations) is decided by phonenumbers itself.
    cursor.execute("SELECT DISTINCT phone FROM registry_stage WHERE phone IS NOT NULL AND phone_e164 IS NULL")
    decided = [(raw, _python_phone(raw, options.phone_region)) for (raw,) in cursor.fetchall()]
    if decided:
        staging_table(cursor, "registry_phone_decided", [("raw", "text"), ("e164", "text")], on_commit_drop=True)
        copy_rows("registry_phone_decided", ("raw", "e164"), decided, cursor=cursor)
        cursor.execute(
            "UPDATE registry_stage s SET phone_e164 = d.e164, phone_bad = d.e164 IS NULL "
            "FROM registry_phone_decided d WHERE s.phone = d.raw AND s.phone_e164 IS NULL"
        )
        cursor.execute("DROP TABLE registry_phone_decided")


# ---------------------------------------------------------------------------------------------------------------
# The rejected-rows report.


def _write_report(cursor, names: list[str], handle: io.BufferedWriter) -> int:
    """Rejected rows as CSV: row number, the original columns, and every reason. Returns the count."""
    columns = ", ".join(f'r.c{i} AS "{name.replace(chr(34), "")}"' for i, name in enumerate(names))
    query = (
        f"SELECT r.row_no AS row, {columns}, e.reasons FROM registry_raw_stage r JOIN ("
        " SELECT row_no, string_agg(reason, '; ' ORDER BY reason) AS reasons FROM registry_stage_error"
        " GROUP BY row_no) e USING (row_no) ORDER BY r.row_no"
    )
    with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
        for data in copy:
            handle.write(bytes(data))
    cursor.execute("SELECT count(DISTINCT row_no) FROM registry_stage_error")
    return cursor.fetchone()[0]


# ---------------------------------------------------------------------------------------------------------------
# The merge: typed rows, then households, individuals, memberships, phones and documents, set-based.


def _custom_json(custom: list[CustomField], applies_to: str) -> str:
    pairs = []
    for definition in custom:
        if definition.applies_to != applies_to:
            continue
        column = f'"custom.{definition.name}"'
        value = {
            "integer": f"{column}::bigint",
            "decimal": f"{column}::numeric",
            "boolean": f"lower({column}) IN ({', '.join(_literal(w) for w in TRUE_WORDS)})",
            "multi_choice": f"string_to_array({column}, ';')",
        }.get(definition.type, column)
        pairs.append(f"{_literal(definition.name)}, CASE WHEN {column} IS NOT NULL THEN to_jsonb({value}) END")
    if not pairs:
        return "'{}'::jsonb"
    return f"jsonb_strip_nulls(jsonb_build_object({', '.join(pairs)}))"


def _merge(cursor, options: ImportOptions, custom: list[CustomField], result: ImportResult, progress: Progress):
    truthy = ", ".join(_literal(w) for w in TRUE_WORDS)
    household_custom = _custom_json(custom, "household")
    cursor.execute("DROP TABLE IF EXISTS registry_valid")
    cursor.execute(
        f"""
        CREATE TEMP TABLE registry_valid AS
        SELECT s.*, {household_custom} AS household_custom, {_custom_json(custom, "individual")} AS individual_custom
        FROM registry_stage s
        WHERE NOT EXISTS (SELECT 1 FROM registry_stage_error e WHERE e.row_no = s.row_no)
        """
    )
    cursor.execute("ANALYZE registry_valid")

    progress(60, "Merging households")
    # Household attributes: the first non-empty value among the household's rows.
    cursor.execute(
        """
        CREATE TEMP TABLE registry_valid_household AS
        SELECT household_id,
               (array_agg(longitude ORDER BY row_no) FILTER (WHERE longitude IS NOT NULL))[1]::float8 AS lon,
               (array_agg(latitude ORDER BY row_no) FILTER (WHERE longitude IS NOT NULL))[1]::float8 AS lat,
               (array_agg(area_code ORDER BY row_no) FILTER (WHERE area_code IS NOT NULL))[1] AS area_code,
               (array_agg(address ORDER BY row_no) FILTER (WHERE address IS NOT NULL))[1] AS address,
               (array_agg(registered_on ORDER BY row_no) FILTER (WHERE registered_on IS NOT NULL))[1]::date
                   AS registered_on,
               (array_agg(household_custom ORDER BY row_no) FILTER (WHERE household_custom <> '{}'))[1] AS custom
        FROM registry_valid
        GROUP BY household_id
        """
    )
    # Update what changed (an identical re-import touches nothing), then insert the new households.
    cursor.execute(
        """
        UPDATE registry_household h SET
            location = n.location,
            location_precision = CASE WHEN n.location IS NULL THEN 'area'
                                      WHEN h.location_precision = 'area' THEN 'gps' ELSE h.location_precision END,
            area_id = CASE WHEN n.location IS NULL THEN n.area_id ELSE h.area_id END,
            address = coalesce(n.address, h.address),
            registered_on = coalesce(n.registered_on, h.registered_on),
            source = %(source)s,
            custom = h.custom || coalesce(n.custom, '{}'),
            updated_at = now()
        FROM (
            SELECT v.*, a.id AS area_id,
                   CASE WHEN v.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326) END AS location
            FROM registry_valid_household v LEFT JOIN geo_area a ON a.code = v.area_code
        ) n
        WHERE h.external_id = n.household_id
          AND ((h.location, h.address, h.registered_on, h.source, h.custom)
               IS DISTINCT FROM (n.location, coalesce(n.address, h.address), coalesce(n.registered_on, h.registered_on),
                                 %(source)s, h.custom || coalesce(n.custom, '{}'))
               OR (n.location IS NULL AND h.area_id IS DISTINCT FROM n.area_id))
        """,
        {"source": options.source[:64]},
    )
    result.households_updated = cursor.rowcount
    # New households: areas assigned set-based (the per-row trigger then has nothing to do) and registrant IDs
    # computed inline.
    cursor.execute(
        """
        CREATE TEMP TABLE registry_new_household AS
        SELECT row_number() OVER (ORDER BY v.household_id) AS id, v.*, a.id AS code_area_id,
               CASE WHEN v.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326) END AS location
        FROM registry_valid_household v LEFT JOIN geo_area a ON a.code = v.area_code
        WHERE NOT EXISTS (SELECT 1 FROM registry_household h WHERE h.external_id = v.household_id)
        """
    )
    cursor.execute("CREATE INDEX ON registry_new_household USING gist (location)")
    cursor.execute("ANALYZE registry_new_household")
    cursor.execute(
        f"""
        INSERT INTO registry_household (registrant_id, kind, external_id, location, location_precision, area_id,
                                        address, registered_on, source, custom, created_at, updated_at)
        SELECT registry_format_registrant_id('H', nextval('registry_household_rid_seq')), 'household',
               n.household_id, n.location,
               CASE WHEN n.location IS NOT NULL THEN 'gps' ELSE 'area' END,
               CASE WHEN n.location IS NULL THEN n.code_area_id ELSE located.area_id END,
               coalesce(n.address, ''), coalesce(n.registered_on, current_date), %(source)s,
               coalesce(n.custom, '{{}}'), now(), now()
        FROM registry_new_household n
        LEFT JOIN ({lowest_area_sql("registry_new_household")}) located ON located.id = n.id
        ORDER BY n.household_id
        """,
        {"source": options.source[:64]},
    )
    result.households_created = cursor.rowcount
    cursor.execute("SELECT count(*) FROM registry_valid_household")
    result.households_unchanged = cursor.fetchone()[0] - result.households_created - result.households_updated

    progress(70, "Merging individuals")
    wg = ", ".join(WG_TARGETS)
    sex = (
        "CASE lower(v.sex) WHEN 'f' THEN 'F' WHEN 'female' THEN 'F' WHEN 'm' THEN 'M' WHEN 'male' THEN 'M' ELSE 'X' END"
    )
    compared = ("given_name", "family_name", "other_names", "birth_date", "birth_date_estimated", "sex")
    compared += ("is_pregnant", "is_lactating", "status", *WG_TARGETS)
    wg_new = ", ".join(f"n.{t}" for t in WG_TARGETS)
    cursor.execute(
        f"""
        CREATE TEMP TABLE registry_valid_individual AS
        SELECT v.row_no, v.individual_id AS external_id, v.given_name, coalesce(v.family_name, '') AS family_name,
               coalesce(v.other_names, '') AS other_names, registry_iso_date(v.birth_date) AS birth_date,
               coalesce(lower(v.birth_date_estimated) IN ({truthy}), false) AS birth_date_estimated,
               {sex} AS sex, coalesce(lower(v.is_pregnant) IN ({truthy}), false) AS is_pregnant,
               coalesce(lower(v.is_lactating) IN ({truthy}), false) AS is_lactating,
               coalesce(lower(v.status), 'active') AS status,
               {", ".join(f"v.{t}::smallint AS {t}" for t in WG_TARGETS)}, v.individual_custom AS custom
        FROM registry_valid v
        """
    )
    cursor.execute(
        f"""
        UPDATE registry_individual i SET
            {", ".join(f"{c} = n.{c}" for c in compared)},
            disability = CASE WHEN coalesce({wg_new}) IS NULL THEN i.disability
                              ELSE coalesce(greatest({wg_new}) >= 3, false) END,
            status_date = CASE WHEN i.status <> n.status THEN current_date ELSE i.status_date END,
            custom = i.custom || n.custom,
            updated_at = now()
        FROM registry_valid_individual n
        WHERE i.external_id = n.external_id
          AND ({", ".join(f"i.{c}" for c in compared)}, i.custom)
              IS DISTINCT FROM ({", ".join(f"n.{c}" for c in compared)}, i.custom || n.custom)
        """
    )
    result.individuals_updated = cursor.rowcount
    # New people get their registrant ID here, in the same expression as the column default, so the database
    # does not call the default function once per row.
    cursor.execute(
        f"""
        INSERT INTO registry_individual (registrant_id, external_id, given_name, family_name, other_names, birth_date,
            birth_date_estimated, sex, disability, is_pregnant, is_lactating, status, {wg}, custom,
            created_at, updated_at)
        SELECT registry_format_registrant_id('I', nextval('registry_individual_rid_seq')), n.external_id,
               n.given_name, n.family_name, n.other_names, n.birth_date, n.birth_date_estimated, n.sex,
               coalesce(greatest({wg_new}) >= 3, false), n.is_pregnant, n.is_lactating, n.status, {wg_new},
               n.custom, now(), now()
        FROM registry_valid_individual n
        WHERE NOT EXISTS (SELECT 1 FROM registry_individual i WHERE i.external_id = n.external_id)
        ORDER BY n.row_no
        """
    )
    result.individuals_created = cursor.rowcount
    result.individuals_unchanged = result.valid_rows - result.individuals_created - result.individuals_updated

    progress(80, "Merging memberships, phones and documents")
    cursor.execute(
        """
        CREATE TEMP TABLE registry_valid_link AS
        SELECT v.row_no, h.id AS household_id, i.id AS individual_id, coalesce(lower(v.role), 'other_relative') AS role,
               v.phone_e164, v.id_type, v.id_number
        FROM registry_valid v
        JOIN registry_household h ON h.external_id = v.household_id
        JOIN registry_individual i ON i.external_id = v.individual_id
        """
    )
    cursor.execute("CREATE INDEX ON registry_valid_link (individual_id)")
    cursor.execute("ANALYZE registry_valid_link")
    # Someone listed in another household now has moved: close the old membership.
    cursor.execute(
        """
        UPDATE registry_membership m SET end_date = greatest(current_date, m.start_date)
        FROM registry_valid_link l
        WHERE m.individual_id = l.individual_id AND m.end_date IS NULL AND m.household_id <> l.household_id
        """
    )
    result.memberships_closed = cursor.rowcount
    cursor.execute(
        """
        UPDATE registry_membership m SET role = l.role
        FROM registry_valid_link l
        WHERE m.individual_id = l.individual_id AND m.household_id = l.household_id AND m.end_date IS NULL
          AND m.role <> l.role
        """
    )
    cursor.execute(
        """
        INSERT INTO registry_membership (household_id, individual_id, role, start_date)
        SELECT l.household_id, l.individual_id, l.role, current_date FROM registry_valid_link l
        WHERE NOT EXISTS (SELECT 1 FROM registry_membership m WHERE m.individual_id = l.individual_id
                          AND m.household_id = l.household_id AND m.end_date IS NULL)
        """
    )
    result.memberships_opened = cursor.rowcount
    cursor.execute(
        """
        INSERT INTO registry_phone (individual_id, number, is_primary, created_at)
        SELECT l.individual_id, l.phone_e164,
               NOT EXISTS (SELECT 1 FROM registry_phone p WHERE p.individual_id = l.individual_id), now()
        FROM registry_valid_link l WHERE l.phone_e164 IS NOT NULL
        ON CONFLICT (individual_id, number) DO NOTHING
        """
    )
    result.phones_added = cursor.rowcount
    cursor.execute(
        """
        INSERT INTO registry_iddocument (individual_id, id_type_id, number, created_at)
        SELECT l.individual_id, t.id, l.id_number, now()
        FROM registry_valid_link l JOIN registry_idtype t ON t.code = l.id_type
        WHERE l.id_number IS NOT NULL
        ON CONFLICT (id_type_id, number) DO NOTHING
        """
    )
    result.documents_added = cursor.rowcount


def _drop_temp(cursor) -> None:
    for table in (
        "registry_scope_violation",
        "registry_stage_point",
        "registry_valid_link",
        "registry_valid_individual",
        "registry_new_household",
        "registry_valid_household",
        "registry_valid",
        "registry_stage_error",
        "registry_stage",
        "registry_raw_stage",
    ):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def registry_import_file(
    *,
    path: str | Path,
    options: ImportOptions,
    report: io.BufferedWriter | None = None,
    progress: Progress = _noop_progress,
    area_ids: list[int] | None = None,
    four_eyes: bool = False,
) -> ImportResult:
    """Import a registry file. Rejected rows (with every reason) are written to `report` as CSV; valid rows are
    upserted by external ID in one transaction. Raises ValidationError when the file itself is unusable.

    `area_ids` are the importing user's areas (geo.selectors.user_area_ids; None = national): rows that place a
    household outside them, or touch households or people outside them, are rejected with the reason. With
    `four_eyes`, rows that would move existing people or households or change their phones are rejected: those
    changes go through change requests (two users)."""
    options.validate()
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise ValidationError({"file": "The file is empty."})
    custom = list(CustomField.objects.all())
    result = ImportResult()
    with transaction.atomic(), connection.cursor() as cursor:
        # Grouping, hashing and the trigram index's pending-list merges all spill to disk with the default 4 MB.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        progress(5, "Staging rows")
        names = _stage_file(cursor, path, options, progress)
        cursor.execute("SELECT count(*) FROM registry_raw_stage")
        result.rows = cursor.fetchone()[0]
        if result.rows == 0:
            raise ValidationError({"file": "The file has a header but no rows."})
        _build_stage(cursor, names, options, custom)
        progress(40, f"Validating {result.rows} rows")
        _validate(cursor, options, custom, area_ids, four_eyes)
        cursor.execute(
            "SELECT row_no, string_agg(reason, '; ' ORDER BY reason) FROM registry_stage_error "
            "GROUP BY row_no ORDER BY row_no LIMIT 20"
        )
        result.errors_sample = [f"row {row_no}: {reasons}" for row_no, reasons in cursor.fetchall()]
        result.rejected_rows = _write_report(cursor, names, report) if report else _count_rejected(cursor)
        result.valid_rows = result.rows - result.rejected_rows
        _merge(cursor, options, custom, result, progress)
        _drop_temp(cursor)
    progress(100, "Done")
    return result


def _count_rejected(cursor) -> int:
    cursor.execute("SELECT count(DISTINCT row_no) FROM registry_stage_error")
    return cursor.fetchone()[0]


def rows_to_csv(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    """A CSV text from rows (tests, exports and documentation examples)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def result_dict(result: ImportResult) -> dict:
    return asdict(result)
