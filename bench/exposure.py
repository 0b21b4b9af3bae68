"""Exposure analysis speed: a large flood polygon and a large depth raster against a generated registry.

    make bench-exposure                                 # 1,000,000 households
    make bench-exposure BENCH_ARGS="--households 100000"
    make bench-exposure BENCH_ARGS="--large"            # also 10,000,000 households in chunks: peak memory

Vector: a flood polygon of ~10,000 vertices with ~100 holes covering ~15 % of the households. The whole analysis
(run row, result rows with class, distance to the edge and reason written and indexed, facilities flagged) is
compared with
- the best hand-written PostGIS statement for the same question: ST_Subdivide of the zone into a GiST-indexed
  temporary table, joined to the households, distinct ids written to a table; timed cutting into pieces of 64 and of
  128 vertices, and the faster counts;
- a plain Django `Household.objects.filter(location__intersects=zone)`, evaluated as Django evaluates it (model
  instances), over the whole registry: no distances and nothing written, so it does less than the analysis. The
  same filter reduced to `values_list("id")` is printed too (speedup_vs_naive_ids).
Raster: a 10,000 × 10,000 float32 depth GeoTIFF; the raster-only analysis (households fetched from the database,
values looked up, affected rows written) is compared with a numpy baseline that starts where the analysis starts,
from the households in PostGIS: coordinates fetched (the engine's fastest fetch), the needed window read in threads,
one vectorised pixel lookup, nothing written. The lookup alone, with the coordinates already in memory, is printed
too (raster_ratio_vs_lookup_only).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import ROOT, bench_database, peak_rss_mb, result_line, setup_django, timed

BOX = (89.6, 22.6, 91.4, 24.4)  # lon/lat box in central Bangladesh where households are generated
FLOOD_SHARE = 0.15


def flood_polygon(*, vertices: int = 10_000, holes: int = 100, seed: int = 7):
    """A wobbly flood extent around the box centre covering ~15 % of the box, with small holes (dry islands)."""
    import numpy as np
    import shapely

    rng = np.random.default_rng(seed)
    hole_vertices = 12
    outer_n = vertices - holes * hole_vertices
    cx, cy = (BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2
    box_area = (BOX[2] - BOX[0]) * (BOX[3] - BOX[1])
    theta = np.linspace(0, 2 * np.pi, outer_n, endpoint=False)
    wobble = 1 + 0.12 * np.sin(7 * theta) + 0.05 * np.sin(31 * theta + 1) + 0.01 * rng.standard_normal(outer_n)
    hole_r = 0.012
    base = math.sqrt((FLOOD_SHARE * box_area + holes * math.pi * hole_r**2) / math.pi)
    radius = base * wobble / math.sqrt(np.mean(wobble**2))
    shell = np.column_stack([cx + radius * np.cos(theta), cy + radius * np.sin(theta)])
    rings = []
    golden = math.pi * (3 - math.sqrt(5))
    t = np.linspace(0, 2 * np.pi, hole_vertices, endpoint=False)
    for index in range(holes):
        r = 0.75 * base * math.sqrt((index + 0.5) / holes)
        a = index * golden
        hx, hy = cx + r * math.cos(a), cy + r * math.sin(a)
        rings.append(np.column_stack([hx + hole_r * np.cos(t), hy + hole_r * np.sin(t)]))
    polygon = shapely.Polygon(shell, rings)
    return shapely.make_valid(polygon) if not polygon.is_valid else polygon


def generate_households(cursor, count: int) -> None:
    """Uniform random points in BOX, inserted set-based; area and audit triggers are bypassed for speed (the
    benchmark measures the analysis, not the registry load)."""
    x0, y0, x1, y1 = BOX
    cursor.execute("SELECT id FROM geo_area WHERE level = 0")
    country = cursor.fetchone()[0]
    cursor.execute("ALTER TABLE registry_household DISABLE TRIGGER USER")
    step = 1_000_000
    for start in range(0, count, step):
        n = min(step, count - start)
        cursor.execute(
            f"""
            INSERT INTO registry_household (kind, location, location_precision, area_id, address, registered_on,
                                            source, created_at, updated_at)
            SELECT 'household', ST_SetSRID(ST_MakePoint({x0} + random() * {x1 - x0}, {y0} + random() * {y1 - y0}),
                   4326), 'gps', {country}, '', current_date, 'bench', now(), now()
            FROM generate_series(1, {n})
            """
        )
    cursor.execute("ALTER TABLE registry_household ENABLE TRIGGER USER")
    cursor.execute("VACUUM ANALYZE registry_household")


def write_depth_raster(path: Path, size: int) -> None:
    """A float32 depth GeoTIFF over BOX (tiled, uncompressed), written strip by strip: depth is a smooth surface
    that exceeds 0.1 m on roughly 15 % of the box, with nodata (-9999) in one corner."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_bounds
    from rasterio.windows import Window

    transform = from_bounds(*BOX, size, size)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": transform,
        "nodata": -9999.0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
    }
    with rasterio.open(path, "w", **profile) as dataset:
        xs = np.linspace(0, 1, size, dtype=np.float32)
        for row in range(0, size, 1024):
            rows = min(1024, size - row)
            ys = np.linspace(row / size, (row + rows) / size, rows, dtype=np.float32)[:, None]
            depth = 2.2 * (np.sin(3 * np.pi * xs)[None, :] * np.cos(2 * np.pi * ys)) - 1.1
            depth[:, : size // 20] = np.where(ys < 0.05, -9999.0, depth[:, : size // 20])
            dataset.write(depth.astype(np.float32), 1, window=Window(0, row, size, rows))


def numpy_baseline(path: Path, lon, lat, threads: int = 4):
    """The ceiling for raster sampling: coordinates already in memory, the needed window read in parallel strips,
    one vectorised lookup."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as dataset:
        t, width, height, nodata = dataset.transform, dataset.width, dataset.height, dataset.nodata
    cols = np.floor((lon - t.c) / t.a).astype(np.int64)
    rows = np.floor((lat - t.f) / t.e).astype(np.int64)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    r0, r1 = int(rows[inside].min()), int(rows[inside].max()) + 1
    c0, c1 = int(cols[inside].min()), int(cols[inside].max()) + 1
    out = np.empty((r1 - r0, c1 - c0), dtype=np.float32)
    step = math.ceil((r1 - r0) / threads)

    def read(start):
        with rasterio.open(path) as dataset:
            stop = min(start + step, r1 - r0)
            out[start:stop] = dataset.read(1, window=Window(c0, r0 + start, c1 - c0, stop - start))

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(read, range(0, r1 - r0, step)))
    values = np.full(len(lon), np.nan, dtype=np.float32)
    values[inside] = out[rows[inside] - r0, cols[inside] - c0]
    values[values == nodata] = np.nan
    return values


def analysis(incident, user=None, **kwargs):
    from response.models import ExposureRun
    from response.services import exposure_run_start

    run = exposure_run_start(incident=incident, user=user, **kwargs)
    run.refresh_from_db()
    if run.status != ExposureRun.Status.SUCCEEDED:
        raise SystemExit(f"analysis failed: {run.error}")
    return run


def drop_runs(incident) -> None:
    from response.models import ExposureRun
    from response.services import exposure_run_delete

    for run in ExposureRun.objects.filter(incident=incident):
        exposure_run_delete(run=run)


def setup_incident(polygon):
    import datetime

    from django.contrib.gis.geos import GEOSGeometry

    from response.services import hazard_zone_draw, incident_create

    incident = incident_create(name="Bench flood", hazard_type="flood", started_on=datetime.date(2026, 7, 1), user=None)
    zone = None
    if polygon is not None:
        zone = hazard_zone_draw(
            incident=incident, geometry=GEOSGeometry(memoryview(polygon.wkb), srid=4326), hazard_class="high", user=None
        )
    return incident, zone


def bench_vector(cursor, households: int, repeat: int) -> dict:
    from django.db import connection

    from registry.models import Household

    polygon = flood_polygon()
    incident, zone = setup_incident(polygon)
    vertex_count = len(polygon.exterior.coords) + sum(len(r.coords) for r in polygon.interiors)
    print(f"zone: {vertex_count} vertices, {len(polygon.interiors)} holes", flush=True)

    def ceiling(vertices: int) -> None:
        with connection.cursor() as c:
            c.execute("DROP TABLE IF EXISTS ceiling_piece, ceiling_ids")
            c.execute(
                "CREATE TEMP TABLE ceiling_piece AS SELECT ST_Subdivide(geom, %s) AS geom "
                "FROM response_hazardzone WHERE id = %s",
                [vertices, zone.id],
            )
            c.execute("CREATE INDEX ON ceiling_piece USING gist (geom)")
            c.execute("ANALYZE ceiling_piece")
            c.execute(
                "CREATE TEMP TABLE ceiling_ids AS SELECT DISTINCT h.id FROM registry_household h "
                "JOIN ceiling_piece p ON ST_Intersects(p.geom, h.location)"
            )

    ceilings = {vertices: timed(lambda v=vertices: ceiling(v), repeat=repeat) for vertices in (64, 128)}
    ceiling_s = min(ceilings.values())
    print("hand-written PostGIS (s) by piece size in vertices: " + str(ceilings), flush=True)
    cursor.execute("SELECT count(*) FROM ceiling_ids")
    ceiling_count = cursor.fetchone()[0]

    runs = []
    analysis_s = timed(lambda: runs.append(analysis(incident)), repeat=repeat, setup=lambda: drop_runs(incident))
    affected = runs[-1].result["affected_households"]
    print(f"analysis phases (s): {runs[-1].result['seconds']}", flush=True)
    if affected != ceiling_count:
        raise SystemExit(f"analysis found {affected} households, the hand-written statement {ceiling_count}")

    naive_found = []
    naive_s = timed(
        lambda: naive_found.append(len(list(Household.objects.filter(location__intersects=zone.geom)))), repeat=1
    )
    naive_ids_s = timed(
        lambda: list(Household.objects.filter(location__intersects=zone.geom).values_list("id", flat=True)), repeat=1
    )
    if naive_found[-1] != ceiling_count:
        raise SystemExit(
            f"the plain filter found {naive_found[-1]} households, the hand-written statement {ceiling_count}"
        )
    print(
        f"vector: {households} households, {affected} affected ({affected / households:.1%}); "
        f"analysis {analysis_s:.3f} s, hand-written PostGIS {ceiling_s:.3f} s, "
        f"plain Django filter {naive_s:.3f} s (ids only: {naive_ids_s:.3f} s)",
        flush=True,
    )
    drop_runs(incident)
    return {
        "households": households,
        "affected": affected,
        "analysis_s": analysis_s,
        "ceiling_s": ceiling_s,
        "naive_s": naive_s,
        "ratio_vs_ceiling": analysis_s / ceiling_s,
        "speedup_vs_naive": naive_s / analysis_s,
        "speedup_vs_naive_ids": naive_ids_s / analysis_s,
    }


def bench_raster(cursor, households: int, raster: Path, repeat: int) -> dict:
    import numpy as np
    from django.db import transaction

    from response.exposure import POINTS_TYPES, points_query
    from spmis.core.bulk import stream_batches

    incident, _ = setup_incident(None)

    def coordinates():
        with transaction.atomic():
            batches = list(stream_batches(points_query((-180, -90, 180, 90)), POINTS_TYPES, 100_000))
        return np.concatenate([b[2] for b in batches]), np.concatenate([b[3] for b in batches])

    lon, lat = coordinates()
    baseline_values = []
    baseline_s = timed(lambda: baseline_values.append(numpy_baseline(raster, *coordinates())), repeat=repeat)
    lookup_s = timed(lambda: numpy_baseline(raster, lon, lat), repeat=repeat)
    runs = []
    analysis_s = timed(
        lambda: runs.append(analysis(incident, raster_path=str(raster))),
        repeat=repeat,
        setup=lambda: drop_runs(incident),
    )
    print(f"raster analysis phases (s): {runs[-1].result['seconds']}", flush=True)
    expected = int(np.sum(baseline_values[-1] >= 0.1))
    affected = runs[-1].result["affected_households"]
    if affected != expected:
        raise SystemExit(f"raster analysis found {affected} households ≥ 0.1 m, the baseline {expected}")
    print(
        f"raster: 1 band float32 {raster.stat().st_size / 1e6:.0f} MB, {households} households, {affected} with "
        f"depth ≥ 0.1 m; analysis {analysis_s:.3f} s, numpy baseline {baseline_s:.3f} s (coordinates fetched), "
        f"{lookup_s:.3f} s (coordinates already in memory)",
        flush=True,
    )
    drop_runs(incident)
    return {
        "raster_analysis_s": analysis_s,
        "raster_numpy_s": baseline_s,
        "raster_ratio_vs_numpy": analysis_s / baseline_s,
        "raster_ratio_vs_lookup_only": analysis_s / lookup_s,
    }


def large_child(households: int, raster: Path) -> None:
    """Run in a child process so its peak memory is the analysis's alone: zone + raster over the whole registry."""
    setup_django()
    from django.db import connection

    connection.settings_dict["NAME"] = os.environ["BENCH_EXPOSURE_DB"]
    from response.models import HazardZone, Incident

    incident = Incident.objects.get(name="Bench flood large")
    start = time.perf_counter()
    run = analysis(
        incident,
        raster_path=str(raster),
        zone_ids=list(HazardZone.objects.filter(incident=incident).values_list("id", flat=True)),
    )
    elapsed = time.perf_counter() - start
    print(f"LARGE affected={run.result['affected_households']} seconds={elapsed:.1f} rss_mb={peak_rss_mb():.0f}")


def bench_large(cursor, db_name: str, raster: Path, households: int) -> dict:
    from django.contrib.gis.geos import GEOSGeometry

    from response.services import hazard_zone_draw

    cursor.execute("TRUNCATE registry_household CASCADE")
    generate_households(cursor, households)
    incident, _ = setup_incident(None)
    incident.name = "Bench flood large"
    incident.save()
    hazard_zone_draw(
        incident=incident,
        geometry=GEOSGeometry(memoryview(flood_polygon().wkb), srid=4326),
        hazard_class="moderate",
        user=None,
    )
    env = {**os.environ, "BENCH_EXPOSURE_DB": db_name}
    output = subprocess.run(
        [sys.executable, __file__, "--large-child", str(households), "--raster", str(raster)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("LARGE "))
    figures = dict(part.split("=") for part in line.split()[1:])
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"large: {households} households in chunks, {figures['affected']} affected in {figures['seconds']} s, "
        f"peak RSS {child_peak:.0f} MB",
        flush=True,
    )
    return {"peak_rss_mb_10m": child_peak, "large_seconds": float(figures["seconds"])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--raster-size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="also 10,000,000 households in chunks (peak memory)")
    parser.add_argument("--large-households", type=int, default=10_000_000)
    parser.add_argument("--large-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--raster", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.large_child:
        large_child(args.large_child, Path(args.raster))
        return

    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as folder, bench_database("exposure") as db_name:
        from django.db import connection

        from geo.demo import load_bangladesh_areas

        start = time.perf_counter()
        load_bangladesh_areas()
        print(f"areas loaded in {time.perf_counter() - start:.1f} s", flush=True)
        raster = Path(folder) / "depth.tif"
        start = time.perf_counter()
        write_depth_raster(raster, args.raster_size)
        print(f"raster written: {args.raster_size}×{args.raster_size} in {time.perf_counter() - start:.1f} s")
        with connection.cursor() as cursor:
            start = time.perf_counter()
            generate_households(cursor, args.households)
            print(f"households generated: {args.households} in {time.perf_counter() - start:.1f} s", flush=True)
            figures = bench_vector(cursor, args.households, args.repeat)
            figures |= bench_raster(cursor, args.households, raster, args.repeat)
            if args.large:
                figures |= bench_large(cursor, db_name, raster, args.large_households)
        # Printed before the throwaway database is dropped: DROP DATABASE can wait on other sessions.
        # The last line printed, for scripts: RESULT exposure key=value ...
        result_line(
            "exposure",
            households=figures["households"],
            affected=figures["affected"],
            raster_px=f"{args.raster_size}x{args.raster_size}",
            analysis_s=figures["analysis_s"],
            ceiling_s=figures["ceiling_s"],
            naive_s=figures["naive_s"],
            ratio_vs_ceiling=figures["ratio_vs_ceiling"],
            speedup_vs_naive=figures["speedup_vs_naive"],
            speedup_vs_naive_ids=figures["speedup_vs_naive_ids"],
            raster_analysis_s=figures["raster_analysis_s"],
            raster_numpy_s=figures["raster_numpy_s"],
            raster_ratio_vs_numpy=figures["raster_ratio_vs_numpy"],
            raster_ratio_vs_lookup_only=figures["raster_ratio_vs_lookup_only"],
            **({"peak_rss_mb_10m": figures["peak_rss_mb_10m"]} if "peak_rss_mb_10m" in figures else {}),
        )


if __name__ == "__main__":
    main()
