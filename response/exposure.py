"""The exposure engine: which households lie in which hazard class, how deep, how far inside, and why.

Set-based throughout. Zones are cut with ST_Subdivide into a temporary table with a GiST index and households are
joined through it (the highest class among containing zones wins); rows travel between PostgreSQL and numpy as
binary COPY; distances to the zone edge come from an STRtree of edge segments in a local metric projection; raster
values from a threaded window read and a vectorised pixel lookup. Households stream from PostgreSQL in batches (a
reader thread decodes while the caller computes), so memory holds only the affected households, whatever the
registry size.

Only active households are analysed (not inactive, moved or deceased ones).

Boundary rule: a zone is a closed set. A household exactly on a zone's outer edge or on the edge of one of its holes
is inside the zone; one strictly inside a hole is not. On an edge shared by two zones it gets the higher class.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from django.db import DatabaseError, connection, transaction
from psycopg import sql

from geo.edges import EdgeIndex
from geo.rasters import RasterReadError, RasterSampler
from response.classify import NO_CLASS, ClassSpec, classify_values
from response.models import ExposureResult, ExposureRun, HazardClass
from response.signals import exposure_computed
from spmis.core.binary_copy import encode_binary_copy
from spmis.core.bulk import copy_in_binary, stream_batches

Progress = Callable[[int, str], None]
EDGE_METRES = 0.01
RESULT_COLUMNS = (
    "run_id",
    "household_id",
    "zone_id",
    "hazard_class_id",
    "class_rank",
    "area_id",
    "raster_value",
    "distance_m",
    "approximate",
    "reason",
)


class ExposureError(Exception):
    """The analysis cannot run with these inputs (e.g. an unreadable raster)."""


def _noop(percent: int, message: str) -> None:
    return None


# The analysis ---------------------------------------------------------------------------------------------------


def _prepare_pieces(cursor, zone_ids: list[int]) -> None:
    """The run's zone pieces (cut once per zone version, see HazardZonePiece) with their class, in a small indexed
    temporary table the analysis's joins use."""
    cursor.execute("DROP TABLE IF EXISTS exposure_piece")
    cursor.execute(
        """
        CREATE TEMP TABLE exposure_piece ON COMMIT DROP AS
        SELECT z.id AS zone_id, z.hazard_class_id AS class_id, c.rank, p.geom
        FROM response_hazardzonepiece p
        JOIN response_hazardzone z ON z.id = p.zone_id
        JOIN response_hazardclass c ON c.id = z.hazard_class_id
        WHERE z.id = ANY(%s)
        """,
        [zone_ids],
    )
    cursor.execute("CREATE INDEX ON exposure_piece USING gist (geom)")
    cursor.execute("ANALYZE exposure_piece")


def _household_extent(cursor, limit: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The registry's extent from planner statistics (instant), clipped to `limit`; `limit` when unknown."""
    try:
        with transaction.atomic():
            cursor.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                "FROM ST_EstimatedExtent('registry_household', 'location') AS e"
            )
            row = cursor.fetchone()
    except DatabaseError:
        row = None
    if not row or row[0] is None:
        return limit
    # Estimated extents are computed from a sample and may be slightly too small: pad them by 1 %.
    pad_x, pad_y = (row[2] - row[0]) * 0.01, (row[3] - row[1]) * 0.01
    return (
        max(limit[0], row[0] - pad_x),
        max(limit[1], row[1] - pad_y),
        min(limit[2], row[2] + pad_x),
        min(limit[3], row[3] + pad_y),
    )


@dataclass
class _ZoneInfo:
    id: int
    label: str
    class_id: int
    rank: int
    class_name: str
    wkb: bytes
    edges: EdgeIndex | None = None
    _edges_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def edge_index(self) -> EdgeIndex:
        """Built on first use, once, whichever worker thread asks first."""
        with self._edges_lock:
            if self.edges is None:
                self.edges = EdgeIndex.for_wkb(self.wkb)
            return self.edges


def _fmt(value: float | None, unit: str) -> str:
    return "…" if value is None else f"{value:g}{(' ' + unit) if unit else ''}"


def exposure_compute(*, run: ExposureRun, progress: Progress = _noop) -> dict:
    """Write the run's result rows (and let the apps above add theirs); return a summary. Call inside a transaction."""
    params = run.parameters
    zones = {
        z.id: _ZoneInfo(
            id=z.id,
            label=f"{z.name or 'zone ' + str(z.zone_key)[:8]} v{z.version}",
            class_id=z.hazard_class_id,
            rank=z.hazard_class.rank,
            class_name=z.hazard_class.name,
            wkb=bytes(z.geom.wkb),
        )
        for z in run.zones.select_related("hazard_class")
    }
    class_rows = {c.id: c for c in HazardClass.objects.filter(id__in=[c["id"] for c in params.get("classes", [])])}
    specs = [
        ClassSpec(c.id, c.key, c.name, c.rank, c.min_value, c.max_value)
        for c in sorted(class_rows.values(), key=lambda c: c.rank)
    ]
    raster = None
    if params.get("raster_path"):
        try:
            raster = RasterSampler(params["raster_path"], params.get("raster_band", 1))
        except RasterReadError as error:
            raise ExposureError(str(error)) from None
        raster.unit = params.get("raster_unit") or raster.unit  # the layer's unit, else the file's own
        if not any(s.min_value is not None or s.max_value is not None for s in specs):
            raise ExposureError("The incident's classes have no raster thresholds to classify the raster with.")
    chunk = int(params.get("chunk_size") or 20_000)

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(timings.get(name, 0.0) + now - clock, 4)
        clock = now

    with connection.cursor() as cursor:
        if raster is not None:
            raster.prefetch(_household_extent(cursor, raster.lonlat_bounds()))
        result_table = partition_create(cursor, run.pk)
        if zones:
            _prepare_pieces(cursor, list(zones))
        lap("prepare")
        located, located_by_class = _stream_analysis(
            run.pk, result_table, chunk, zones, raster, specs, progress, timings
        )
        clock = time.perf_counter()
        approximate_by_class = _approximate(cursor, run.pk, result_table) if zones else Counter()
        lap("approximate")
        progress(85, "Indexing the results")
        partition_attach(cursor, run.pk)
        lap("index")
        progress(90, "Flagging warehouses and distribution points")
        # The apps above (distribution: warehouses and points inside the zones) add their part in this transaction.
        contributed: dict = {}
        for _receiver, figures in exposure_computed.send(sender=ExposureRun, run=run, cursor=cursor):
            contributed.update(figures or {})
        lap("contributions")
        counted = HazardClass.objects.filter(id__in=set(located_by_class) | set(approximate_by_class))
        by_class = {
            c.key: {"households": located_by_class[c.id], "approximate": approximate_by_class[c.id]}
            for c in sorted(counted, key=lambda c: c.rank)
        }
        lap("summary")
        # Temporary tables go at commit, but a caller's outer transaction may run several analyses.
        cursor.execute("DROP TABLE IF EXISTS exposure_piece")
    return {
        "affected_households": located,
        "approximate_households": approximate_by_class.total(),
        **contributed,
        "by_class": by_class,
        "zone_versions": sorted(zones),
        "raster": params.get("raster_path"),
        "seconds": timings,
    }


HOUSEHOLD_FILTER = "h.location IS NOT NULL AND h.location_precision <> 'area' AND h.status = 'active'"
HOUSEHOLD_ARRAYS = """array_agg(h.id) AS ids, array_agg(coalesce(h.area_id, 0)) AS areas,
               array_agg(ST_X(h.location)) AS lon, array_agg(ST_Y(h.location)) AS lat"""
CHUNK_PAGES = 1024


def _hits_query() -> str:
    """Per zone piece: the zone, its rank and the arrays of the households inside it."""
    return f"""
        SELECT p.zone_id, p.rank::int8, hit.ids, hit.areas, hit.lon, hit.lat
        FROM exposure_piece p
        CROSS JOIN LATERAL (
            SELECT {HOUSEHOLD_ARRAYS}
            FROM registry_household h
            WHERE ST_Intersects(p.geom, h.location) AND {HOUSEHOLD_FILTER}
        ) hit
    """


HITS_TYPES = ["int8", "int8", "int8[]", "int8[]", "float8[]", "float8[]"]


def points_query(box: tuple[float, float, float, float]) -> str:
    """Arrays of the located, active households in a lon/lat box, in chunks of 1024 heap pages read by TID range
    scans: one statement, one snapshot, streamed chunk by chunk."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return f"""
        SELECT chunk.ids, chunk.areas, chunk.lon, chunk.lat
        FROM generate_series(
            0, (pg_relation_size('registry_household') / current_setting('block_size')::int)::int, {CHUNK_PAGES}
        ) AS page
        CROSS JOIN LATERAL (
            SELECT {HOUSEHOLD_ARRAYS}
            FROM registry_household h
            WHERE h.ctid >= format('(%s,0)', page)::tid AND h.ctid < format('(%s,0)', page + {CHUNK_PAGES})::tid
              AND {HOUSEHOLD_FILTER} AND h.location && ST_MakeEnvelope({x0!r}, {y0!r}, {x1!r}, {y1!r}, 4326)
        ) chunk
    """


POINTS_TYPES = ["int8[]", "int8[]", "float8[]", "float8[]"]


def partition_name(run_id: int) -> str:
    return f"response_exposureresult_r{int(run_id)}"


def partition_create(cursor, run_id: int) -> str:
    """A fresh, index-free table for the run's rows (replacing any earlier attempt), attached once loaded. Its
    CHECK constraint, there from the start, spares ATTACH the scan that would prove every row belongs to the run."""
    table = partition_name(run_id)
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    cursor.execute(
        sql.SQL(
            "CREATE TABLE {table} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
            "CONSTRAINT {check} CHECK (run_id = {run}))"
        ).format(
            table=sql.Identifier(table),
            parent=sql.Identifier(ExposureResult._meta.db_table),
            check=sql.Identifier(f"{table}_run"),
            run=sql.Literal(int(run_id)),
        )
    )
    return table


def partition_attach(cursor, run_id: int) -> None:
    """Attach the run's table: PostgreSQL builds its primary key in bulk."""
    table = sql.Identifier(partition_name(run_id))
    cursor.execute(
        sql.SQL("ALTER TABLE {parent} ATTACH PARTITION {table} FOR VALUES IN ({run})").format(
            parent=sql.Identifier(ExposureResult._meta.db_table), table=table, run=sql.Literal(int(run_id))
        )
    )
    # Statistics now, so the aggregates, exports and joins that follow are planned for the real row count.
    cursor.execute(sql.SQL("ANALYZE {}").format(table))


def partition_drop(cursor, run_id: int) -> None:
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(partition_name(run_id))))


def _edge_distances(zones: dict[int, _ZoneInfo], zone_ids: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Metres from each point to the edge of its zone (run on a worker thread)."""
    distances = np.full(len(zone_ids), np.nan)
    for zone_id in np.unique(zone_ids):
        members = zone_ids == zone_id
        distances[members] = zones[int(zone_id)].edge_index().distances(lon[members], lat[members])
    return distances


def _stream_analysis(run_id, table, batch_rows, zones, raster, specs, progress, timings) -> tuple[int, Counter]:
    """Zone hits, then raster values, streamed and computed batch by batch; merged per household; written with
    binary COPY in slices. Memory holds the affected households only (a few tens of bytes each). Returns the number
    of rows written and their count per class id."""
    busy = {"zones": 0.0, "raster": 0.0, "merge": 0.0, "write": 0.0}
    zone_list = sorted(zones)
    zone_position = {zone_id: position for position, zone_id in enumerate(zone_list)}
    hit_parts: list[tuple] = []
    if zones:
        seen = 0
        zones_started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="exposure-distance") as pool:
            for zone_ids, ranks, ids, areas, lon, lat in stream_batches(_hits_query(), HITS_TYPES, batch_rows):
                hit_parts.append((ids, zone_ids, ranks, areas, pool.submit(_edge_distances, zones, zone_ids, lon, lat)))
                seen += len(ids)
                progress(min(60, 5 + seen // max(1, batch_rows)), f"{seen} households found in zones")
            hit_parts = [(*part[:4], part[4].result()) for part in hit_parts]
        busy["zones"] = time.perf_counter() - zones_started
    start = time.perf_counter()
    if hit_parts:
        ids, zone_ids, ranks, areas, distances = (np.concatenate(column) for column in zip(*hit_parts, strict=True))
        # A household inside several pieces or zones: keep the highest rank, then the lowest zone id.
        order = np.lexsort((zone_ids, -ranks, ids))
        ids, zone_ids, ranks, areas, distances = (a[order] for a in (ids, zone_ids, ranks, areas, distances))
        first = np.ones(len(ids), dtype=bool)
        first[1:] = ids[1:] != ids[:-1]
        ids, zone_ids, ranks, areas, distances = (a[first] for a in (ids, zone_ids, ranks, areas, distances))
    else:
        ids = zone_ids = ranks = areas = np.empty(0, dtype=np.int64)
        distances = np.empty(0)
    hit_parts.clear()
    busy["merge"] += time.perf_counter() - start

    raster_values = np.full(len(ids), np.nan)
    raster_class = np.full(len(ids), NO_CLASS, dtype=np.int64)
    if raster is not None:
        extra_parts = []
        raster_started = time.perf_counter()
        # Larger batches than for zone hits (32-byte rows): the database streams ahead while the window is read.
        for r_ids, r_areas, r_lon, r_lat in stream_batches(
            points_query(raster.lonlat_bounds()), POINTS_TYPES, batch_rows * 5, depth=8
        ):
            values = raster.sample(r_lon, r_lat)
            classes = classify_values(values, specs, nodata=raster.nodata)
            if len(ids):
                position = np.searchsorted(ids, r_ids)
                position[position >= len(ids)] = 0
                in_zone = ids[position] == r_ids
                raster_values[position[in_zone]] = values[in_zone]
                raster_class[position[in_zone]] = classes[in_zone]
            else:
                in_zone = np.zeros(len(r_ids), dtype=bool)
            keep = (classes != NO_CLASS) & ~in_zone
            extra_parts.append((r_ids[keep], r_areas[keep], values[keep], classes[keep]))
        busy["raster"] = time.perf_counter() - raster_started
        start = time.perf_counter()
        if extra_parts:
            e_ids, e_areas, e_values, e_classes = (np.concatenate(column) for column in zip(*extra_parts, strict=True))
            count = len(e_ids)
            ids = np.concatenate([ids, e_ids])
            zone_ids = np.concatenate([zone_ids, np.zeros(count, dtype=np.int64)])
            ranks = np.concatenate([ranks, np.full(count, -1, dtype=np.int64)])
            areas = np.concatenate([areas, e_areas])
            distances = np.concatenate([distances, np.full(count, np.nan)])
            raster_values = np.concatenate([raster_values, e_values])
            raster_class = np.concatenate([raster_class, e_classes])
        busy["merge"] += time.perf_counter() - start

    progress(70, f"Writing {len(ids)} result rows")
    start = time.perf_counter()
    raw = connection.connection
    class_counts: Counter = Counter()
    with raw.cursor() as cursor:
        for lo in range(0, len(ids), 500_000):
            part = slice(lo, lo + 500_000)
            payload, class_ids = _encode_rows(
                run_id,
                ids[part],
                zone_ids[part],
                ranks[part],
                areas[part],
                distances[part],
                raster_values[part],
                raster_class[part],
                zones,
                zone_list,
                zone_position,
                raster,
                specs,
            )
            copy_in_binary(cursor, table, RESULT_COLUMNS, payload)
            classes, counts = np.unique(class_ids, return_counts=True)
            class_counts.update(dict(zip(classes.tolist(), counts.tolist(), strict=True)))
    busy["write"] += time.perf_counter() - start
    timings.update({stage: round(value, 4) for stage, value in busy.items()})
    return len(ids), class_counts


def _encode_rows(
    run_id,
    ids,
    zone_ids,
    zone_ranks,
    areas,
    distances,
    raster_values,
    raster_class,
    zones,
    zone_list,
    zone_position,
    raster,
    specs,
) -> tuple[bytes, np.ndarray]:
    """Binary COPY payload of result rows, and their class ids. The class is the higher of the zone's and the
    raster's; reason texts are chosen per row from a handful of distinct ones (zone × on-edge × raster class)."""
    count = len(ids)
    zone_index = np.full(count, -1, dtype=np.int64)
    for zone_id, position in zone_position.items():
        zone_index[zone_ids == zone_id] = position
    # The class: the higher of the zone's and the raster's.
    spec_ranks = np.array([s.rank for s in specs] + [-1], dtype=np.int64)
    spec_ids = np.array([s.id for s in specs] + [0], dtype=np.int64)
    r_rank = spec_ranks[raster_class]  # NO_CLASS (-1) picks the sentinel
    zone_class_ids = np.array([zones[z].class_id for z in zone_list] + [0], dtype=np.int64)
    z_class = zone_class_ids[zone_index]
    use_raster = r_rank > zone_ranks
    class_ids = np.where(use_raster, spec_ids[raster_class], z_class)
    ranks = np.maximum(r_rank, zone_ranks)

    # Reasons: a handful of distinct texts (zone × edge × raster class), chosen per row by code.
    on_edge = (distances < EDGE_METRES).astype(np.int64)
    key = ((zone_index + 1) * 2 + on_edge) * (len(specs) + 1) + (raster_class + 1)
    unique_keys, codes = np.unique(key, return_inverse=True)
    texts = []
    for value in unique_keys:
        rest, r_index = divmod(int(value), len(specs) + 1)
        z_plus, edge = divmod(rest, 2)
        parts = []
        if z_plus > 0:
            info = zones[zone_list[z_plus - 1]]
            where = "on the edge of" if edge else "inside"
            parts.append(f"{where} {info.label} ({info.class_name})")
        if r_index > 0:
            spec = specs[r_index - 1]
            unit = raster.unit if raster is not None else ""
            parts.append(
                f"raster value in {spec.name} range [{_fmt(spec.min_value, unit)}, {_fmt(spec.max_value, unit)})"
            )
        texts.append("; ".join(parts))

    payload = encode_binary_copy(
        [
            ("int8", np.full(count, run_id, dtype=np.int64)),
            ("int8", ids),
            ("int8", zone_ids),
            ("int8", class_ids),
            ("int2", ranks.astype(np.int16)),
            ("int8", areas),
            ("float8", raster_values if raster_values is not None else np.full(count, np.nan)),
            ("float8", distances),
            ("bool", np.zeros(count, dtype=bool)),
        ],
        texts,
        codes.astype(np.int64),
        nulls={2: zone_ids == 0, 5: areas == 0},
    )
    return payload, class_ids


def _approximate(cursor, run_id: int, table: str) -> Counter:
    """Households located only to an area: listed (approximate) when their area intersects a zone; returns their
    count per class, counted in the same statement. A partial index of the registry finds them
    (registry_household_area_only); only their areas are tested against the zones. They never overlap the located
    households (those need a point and a precision other than "area"), so the run's rows stay unique."""
    cursor.execute(
        """
        WITH approx AS MATERIALIZED (
            SELECT id, area_id FROM registry_household
            WHERE (location IS NULL OR location_precision = 'area') AND status = 'active' AND area_id IS NOT NULL
        ),
        best AS (
            SELECT DISTINCT ON (ap.area_id) ap.area_id, p.zone_id, p.class_id, p.rank
            FROM geo_areapiece ap JOIN exposure_piece p ON ST_Intersects(ap.geom, p.geom)
            WHERE ap.area_id IN (SELECT DISTINCT area_id FROM approx)
            ORDER BY ap.area_id, p.rank DESC, p.zone_id
        ),
        inserted AS (
        INSERT INTO {table}
            (run_id, household_id, zone_id, hazard_class_id, class_rank, area_id, approximate, reason)
        SELECT %s, h.id, a.zone_id, a.class_id, a.rank, h.area_id, true,
               format('located only to %%s, which a zone reaches: %%s v%%s (%%s)',
                      ar.name, coalesce(nullif(z.name, ''), 'zone'), z.version, c.name)
        FROM approx h
        JOIN best a ON a.area_id = h.area_id
        JOIN geo_area ar ON ar.id = h.area_id
        JOIN response_hazardzone z ON z.id = a.zone_id
        JOIN response_hazardclass c ON c.id = a.class_id
        RETURNING hazard_class_id
        )
        SELECT hazard_class_id, count(*) FROM inserted GROUP BY hazard_class_id
        """.replace("{table}", table),
        [run_id],
    )
    return Counter(dict(cursor.fetchall()))
