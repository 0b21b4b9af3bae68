"""The vehicle router on the real São Paulo extract: capacities hold, closed roads are never driven, time windows
are kept, and it beats the nearest-neighbour plan on the same matrix."""

from itertools import pairwise

import pytest
from django.contrib.gis.geos import MultiPolygon, Point

from distribution.roads.graph import closed_edge_ids
from distribution.roads.selectors import snap_points
from distribution.roads.vrp import Stop, Truck, matrix, nearest_neighbour, route_geometry, solve
from tests.distribution.factories_roads import sao_paulo_network
from tests.response.factories import HazardZoneFactory

pytestmark = pytest.mark.django_db

GRID = [(-46.655 + 0.008 * i, -23.575 + 0.008 * j) for i in range(5) for j in range(5)]
DEPOT = (-46.6333, -23.5475)


def test_routes_respect_capacity_and_closures_and_beat_nearest_neighbour(tmp_path):
    network = sao_paulo_network(tmp_path)
    vertices = [v for v, _ in snap_points(network.pk, [DEPOT, *GRID], max_m=500)]
    depot, stops_v = vertices[0], [v for v in vertices[1:] if v is not None]
    zone = HazardZoneFactory(
        geom=MultiPolygon(Point(-46.625, -23.548, srid=4326).buffer(0.003), srid=4326), name="Valley"
    )
    stops = [Stop(vertex=v, demand_kg=300 + 50 * (k % 5), ref=k) for k, v in enumerate(dict.fromkeys(stops_v))]
    trucks = [Truck(depot_vertex=depot, capacity_kg=2000, ref=t) for t in range(6)]  # 12 t of room for 10 t of loads

    solution = solve(network.pk, stops, trucks, zone_ids=[zone.pk], time_limit_s=3)

    served = [s["ref"] for r in solution.routes for s in r["stops"]]
    unserved = [u["ref"] for u in solution.unserved]
    assert sorted(served + unserved) == sorted(s.ref for s in stops) and len(set(served)) == len(served)
    assert len(served) >= len(stops) - 2
    assert all(r["load_kg"] <= 2000 for r in solution.routes)
    closed = set(closed_edge_ids(network.pk, [zone.pk]))
    assert closed
    legs = []
    for route in solution.routes:
        chain = [depot, *[s["vertex"] for s in route["stops"]], depot]
        legs += list(pairwise(chain))
    shapes = route_geometry(network.pk, legs, zone_ids=[zone.pk])
    driven = {e for shape in shapes.values() for e in shape["edges"]}
    assert driven and not driven & closed

    cost = matrix(network.pk, [depot, *[s.vertex for s in stops]], zone_ids=[zone.pk])
    reachable = [s for s in stops if (depot, s.vertex) in cost and (s.vertex, depot) in cost]
    ours = solve(network.pk, reachable, trucks, zone_ids=[zone.pk], time_limit_s=3, cost=cost)
    assert ours.total_cost < nearest_neighbour(reachable, trucks, cost)


def test_time_windows_are_kept(tmp_path):
    network = sao_paulo_network(tmp_path)
    vertices = [v for v, _ in snap_points(network.pk, [DEPOT, *GRID[:6]], max_m=500)]
    depot = vertices[0]
    early = Stop(vertex=vertices[1], demand_kg=100, ref="early", window=(0, 1800))
    late = Stop(vertex=vertices[2], demand_kg=100, ref="late", window=(7200, 9000))
    never = Stop(vertex=vertices[3], demand_kg=100, ref="never", window=(0, 1))  # nobody gets there in a second
    truck = Truck(depot_vertex=depot, capacity_kg=1000, ref="T", window=(0, 36000))

    solution = solve(network.pk, [late, early, never], [truck], time_limit_s=2)

    (route,) = solution.routes
    assert [s["ref"] for s in route["stops"]] == ["early", "late"]
    early_at, late_at = (s["arrival_s"] for s in route["stops"])
    assert early_at <= 1800 and 7200 <= late_at <= 9000
    assert [u["ref"] for u in solution.unserved] == ["never"]
