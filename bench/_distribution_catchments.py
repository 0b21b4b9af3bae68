"""Catchments at scale: N households to their nearest usable point by road travel time with flood closures
(distribution.plans.catchments), against a straight-line nearest-point (KNN) assignment of the same households to the
same usable points, measured in the same run.

The data are made here, in the current (bench) database: a city-sized street grid with faster arterials every
tenth street (so road time and straight lines disagree), a flood zone closing the streets it crosses, distribution
points scattered over the grid (those inside the flood unusable), and N households at random places. The households
and points go straight into the planner's input tables: the registry and entitlements are not what is measured.
"""

from __future__ import annotations

import itertools
import time
import uuid

GRID = 400  # vertices per side: 160,000 vertices, 319,200 street segments
STEP = 0.0025  # degrees between streets (about 250 m)
ORIGIN = (90.30, 23.65)
POINTS = 500
ARTERIAL_EVERY = 10
SPEED = {"arterial": 16.0, "residential": 6.0}  # m/s


def _network(cursor) -> int:
    from distribution.models import RoadNetwork

    network = RoadNetwork.objects.create(
        code=f"bench-grid-{time.time_ns()}", name="Bench grid", source="geojson", status="ready"
    )
    cursor.execute("SELECT coalesce(max(id), 0) FROM distribution_roadvertex")
    base = cursor.fetchone()[0]
    x0, y0 = ORIGIN
    cursor.execute(
        """INSERT INTO distribution_roadvertex (id, network_id, geom)
           SELECT %(base)s + i * %(n)s + j + 1, %(net)s,
                  ST_SetSRID(ST_MakePoint(%(x0)s + i * %(step)s, %(y0)s + j * %(step)s), 4326)
           FROM generate_series(0, %(n)s - 1) i, generate_series(0, %(n)s - 1) j""",
        {"base": base, "n": GRID, "net": network.pk, "x0": x0, "y0": y0, "step": STEP},
    )
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence('distribution_roadvertex', 'id'),"
        " (SELECT max(id) FROM distribution_roadvertex))"
    )
    # Streets along i (east–west) and along j (north–south); every tenth street is an arterial. A few streets are
    # one-way, as in a real centre.
    cursor.execute(
        """INSERT INTO distribution_roadedge (network_id, source, target, cost, reverse_cost, length_m, name, highway,
                                            bridge, layer, geom)
           SELECT %(net)s, a.id, b.id, len / speed, CASE WHEN oneway THEN -1 ELSE len / speed END, len, '',
                  CASE WHEN speed = %(fast)s THEN 'primary' ELSE 'residential' END, false, 0,
                  ST_MakeLine(a.geom, b.geom)
           FROM (SELECT i, j, di, dj,
                        CASE WHEN (di = 1 AND j %% %(every)s = 0) OR (dj = 1 AND i %% %(every)s = 0)
                             THEN %(fast)s ELSE %(slow)s END AS speed,
                        (di = 1 AND j %% 7 = 3) AS oneway
                 FROM generate_series(0, %(n)s - 1) i, generate_series(0, %(n)s - 1) j,
                      (VALUES (1, 0), (0, 1)) d(di, dj)
                 WHERE i + di < %(n)s AND j + dj < %(n)s) s
           JOIN distribution_roadvertex a ON a.id = %(base)s + s.i * %(n)s + s.j + 1
           JOIN distribution_roadvertex b ON b.id = %(base)s + (s.i + s.di) * %(n)s + s.j + s.dj + 1
           CROSS JOIN LATERAL (SELECT ST_DistanceSphere(a.geom, b.geom) AS len) l""",
        {
            "net": network.pk,
            "base": base,
            "n": GRID,
            "every": ARTERIAL_EVERY,
            "fast": SPEED["arterial"],
            "slow": SPEED["residential"],
        },
    )
    cursor.execute("ANALYZE distribution_roadvertex")
    cursor.execute("ANALYZE distribution_roadedge")
    return network.pk


def _flood() -> int:
    """A river-like flood: a wide band across the grid with a bulge, closing every street it crosses."""
    from django.contrib.gis.geos import MultiPolygon, Polygon

    from response.models import HazardClass, HazardZone, Incident

    x0, y0 = ORIGIN
    width = GRID * STEP
    incident = Incident.objects.create(
        name="Bench flood", hazard_type="flood", status="active", started_on="2026-07-01"
    )
    band = Polygon(
        (
            (x0 - 0.01, y0 + 0.45 * width),
            (x0 + 0.4 * width, y0 + 0.40 * width),
            (x0 + 0.6 * width, y0 + 0.55 * width),
            (x0 + width + 0.01, y0 + 0.50 * width),
            (x0 + width + 0.01, y0 + 0.56 * width),
            (x0 + 0.6 * width, y0 + 0.62 * width),
            (x0 + 0.4 * width, y0 + 0.47 * width),
            (x0 - 0.01, y0 + 0.52 * width),
            (x0 - 0.01, y0 + 0.45 * width),
        )
    )
    zone = HazardZone.objects.create(
        incident=incident,
        zone_key=uuid.uuid4(),
        name="Bench river flood",
        hazard_class=HazardClass.objects.get(incident=None, hazard_type="flood", key="high"),
        source_kind="drawn",
        geom=MultiPolygon(band, srid=4326),
    )
    return zone.pk


def measure_catchments(households: int = 1_000_000) -> dict:
    """Assign `households` by road time with closures, and by straight-line KNN, in the same run."""
    from django.db import connection, transaction

    from distribution.plans import catchments

    x0, y0 = ORIGIN
    width = GRID * STEP
    with connection.cursor() as cursor:
        network_id = _network(cursor)
        cursor.execute("SELECT count(*) FROM distribution_roadedge WHERE network_id = %s", [network_id])
        edges = cursor.fetchone()[0]
    zone_id = _flood()
    result: dict = {}
    with transaction.atomic(), connection.cursor() as cursor:
        import os

        if os.environ.get("BENCH_TEMP_BUFFERS"):
            cursor.execute("SELECT set_config('temp_buffers', %s, true)", [os.environ["BENCH_TEMP_BUFFERS"]])
        cursor.execute("SELECT setseed(0.13)")
        cursor.execute(
            """CREATE TEMP TABLE plan_households ON COMMIT DROP AS
               SELECT g AS household_id,
                      ST_SetSRID(ST_MakePoint(%s + random() * %s, %s + random() * %s), 4326) AS geom
               FROM generate_series(1, %s) g""",
            [x0, width, y0, width, households],
        )
        # Usable points: those outside the flood (the facility flags of an analysis do the same in a plan).
        cursor.execute(
            """CREATE TEMP TABLE plan_points ON COMMIT DROP AS
               SELECT g AS point_id, geom, NULL::int AS capacity FROM (
                   SELECT g, ST_SetSRID(ST_MakePoint(%s + random() * %s, %s + random() * %s), 4326) AS geom
                   FROM generate_series(1, %s) g) p
               WHERE NOT EXISTS (SELECT 1 FROM response_hazardzonepiece z
                                 WHERE z.zone_id = %s AND ST_Intersects(z.geom, p.geom))""",
            [x0, width, y0, width, POINTS, zone_id],
        )
        cursor.execute("CREATE INDEX ON plan_points USING gist (geom)")
        cursor.execute("ANALYZE plan_households")
        cursor.execute("ANALYZE plan_points")
        cursor.execute("SELECT count(*) FROM plan_points")
        usable = cursor.fetchone()[0]
        print(
            f"catchments: {households:,} households, {usable} usable points of {POINTS}, "
            f"{GRID * GRID:,} vertices, {edges:,} edges, 1 flood zone"
        )

        start = time.perf_counter()
        cursor.execute(
            """CREATE TEMP TABLE bench_knn ON COMMIT DROP AS
               SELECT h.household_id, p.point_id
               FROM plan_households h
               CROSS JOIN LATERAL (SELECT point_id FROM plan_points p ORDER BY p.geom <-> h.geom LIMIT 1) p"""
        )
        knn_s = time.perf_counter() - start

        start = time.perf_counter()
        marks = []

        def mark(percent: int, message: str) -> None:
            marks.append((time.perf_counter(), message))

        counts = catchments.assign_catchments(
            network_id=network_id, zone_ids=[zone_id], max_snap_m=1000.0, progress=mark
        )
        catchment_s = time.perf_counter() - start
        steps = [*marks, (start + catchment_s, "end")]
        for (at, message), (after, _) in itertools.pairwise(steps):
            print(f"  {after - at:6.2f} s  {message}")

        cursor.execute(
            """SELECT count(*) FILTER (WHERE c.point_id IS DISTINCT FROM k.point_id AND c.point_id IS NOT NULL),
                      count(*) FILTER (WHERE c.point_id IS NULL)
               FROM plan_catchment c JOIN bench_knn k USING (household_id)"""
        )
        reassigned, unreachable = cursor.fetchone()
        result = {
            "catchment_s": round(catchment_s, 2),
            "knn_s": round(knn_s, 2),
            "catchment_ratio_vs_knn": round(catchment_s / knn_s, 2),
            "reassigned_by_roads": reassigned,
            "catchment_unreachable": unreachable,
            "catchment_open_edges": counts["open_edges"],
        }
        print(
            f"catchments: road {catchment_s:.2f} s, KNN {knn_s:.2f} s; {reassigned:,} households change point "
            f"because of the roads, {unreachable:,} unreachable"
        )
    return result


if __name__ == "__main__":
    import sys

    from _harness import bench_database

    with bench_database("distribution_catchments"):
        print(measure_catchments(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
