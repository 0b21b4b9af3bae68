"""Helpers for plan tests: a small road grid written straight into RoadVertex/RoadEdge, entitled households, and a
cycle with approved in-kind entitlements."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import connection

from distribution.models import RoadNetwork
from programs.models import Cycle, Entitlement, EntitlementItem, Program
from tests.factories import HouseholdFactory, UserFactory

# Grid spacing in degrees (about 1 km at 23°N) and speed (10 m/s): every edge costs about 100 s.
STEP = 0.01
# Inside the "West" district of the two_districts fixture (90–91°E, 23–24°N).
ORIGIN = (90.1, 23.1)
SPEED_M_S = 10.0


def road_grid(*, code: str = "grid", origin: tuple[float, float] = ORIGIN, size: int = 10, bridges=()) -> RoadNetwork:
    """A size × size grid of two-way streets from `origin`; vertex (i, j) has id network-local i * size + j + 1
    (offset by the network's first id). `bridges`: ((i1, j1), (i2, j2)) edges tagged bridge=yes."""
    network = RoadNetwork.objects.create(code=code, name=f"Grid {code}", source="geojson", status="ready")
    x0, y0 = origin
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO distribution_roadvertex (network_id, geom)
               SELECT %s, ST_SetSRID(ST_MakePoint(%s + i * %s, %s + j * %s), 4326)
               FROM generate_series(0, %s - 1) i, generate_series(0, %s - 1) j ORDER BY i, j
               RETURNING id""",
            [network.pk, x0, STEP, y0, STEP, size, size],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        vertex = {(i, j): ids[i * size + j] for i in range(size) for j in range(size)}
        rows = []
        for i in range(size):
            for j in range(size):
                for di, dj in ((1, 0), (0, 1)):
                    if i + di < size and j + dj < size:
                        bridge = ((i, j), (i + di, j + dj)) in bridges or ((i + di, j + dj), (i, j)) in bridges
                        rows.append((vertex[(i, j)], vertex[(i + di, j + dj)], bridge))
        cursor.executemany(
            """INSERT INTO distribution_roadedge (network_id, source, target, cost, reverse_cost, length_m, name,
                                                highway, bridge, layer, geom)
               SELECT %s, a.id, b.id, ST_DistanceSphere(a.geom, b.geom) / %s, ST_DistanceSphere(a.geom, b.geom) / %s,
                      ST_DistanceSphere(a.geom, b.geom), '', 'residential', %s, 0, ST_MakeLine(a.geom, b.geom)
               FROM distribution_roadvertex a, distribution_roadvertex b WHERE a.id = %s AND b.id = %s""",
            [(network.pk, SPEED_M_S, SPEED_M_S, bridge, source, target) for source, target, bridge in rows],
        )
        cursor.execute(
            "UPDATE distribution_roadnetwork SET vertex_count = %s, edge_count = %s WHERE id = %s",
            [len(ids), len(rows), network.pk],
        )
    network.vertex = vertex
    return network


def at(i: float, j: float, origin: tuple[float, float] = ORIGIN) -> Point:
    """The grid position (i, j) as a point (fractions fall between streets)."""
    return Point(origin[0] + i * STEP, origin[1] + j * STEP, srid=4326)


def box(i1: float, j1: float, i2: float, j2: float, origin: tuple[float, float] = ORIGIN) -> MultiPolygon:
    return MultiPolygon(
        Polygon.from_bbox((origin[0] + i1 * STEP, origin[1] + j1 * STEP, origin[0] + i2 * STEP, origin[1] + j2 * STEP)),
        srid=4326,
    )


def in_kind_cycle(*, name: str = "Flood relief", exposure_run=None, incident=None) -> Cycle:
    program, _ = Program.objects.get_or_create(name=f"{name} program", defaults={"currency": "BDT"})
    return Cycle.objects.create(
        program=program,
        sequence=Cycle.objects.filter(program=program).count() + 1,
        name=name,
        starts_on=datetime.date(2026, 7, 1),
        ends_on=datetime.date(2026, 7, 31),
        state=Cycle.State.APPROVED,
        submitted_by=UserFactory(),
        approved_by=UserFactory(),
        exposure_run=exposure_run,
        incident=incident,
    )


def entitle(cycle: Cycle, locations, *, items=(("rice", "25", "kg"), ("oil", "2", "l")), status="approved"):
    """One household per location (a Point or None) with an in-kind entitlement of `items` in `cycle`."""
    households = []
    for location in locations:
        household = HouseholdFactory(location=location)
        entitlement = Entitlement.objects.create(
            cycle=cycle,
            program=cycle.program,
            household=household,
            kind="in_kind",
            valid_from=cycle.starts_on,
            valid_until=cycle.ends_on,
            status=status,
            people=4,
        )
        EntitlementItem.objects.bulk_create(
            [
                EntitlementItem(entitlement=entitlement, item=item, quantity=Decimal(quantity), unit=unit)
                for item, quantity, unit in items
            ]
        )
        households.append(household)
    return households
