"""The set-based catchment core on a small road grid: road time, not straight lines; closures; capacity; reasons."""

import pytest
from django.db import connection

from distribution.plans import catchments
from tests.distribution.factories_plans import at, box, road_grid
from tests.response.factories import HazardZoneFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def run(network, households: dict, points: dict, *, zones=(), max_snap_m=500.0, capacity=None):
    """households {id: Point}, points {id: Point}; capacity {point id: n}. Returns {household: (point, reason)}."""
    capacity = capacity or {}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS plan_households, plan_points")
        cursor.execute("CREATE TEMP TABLE plan_households (household_id bigint, geom geometry(Point, 4326))")
        cursor.execute("CREATE TEMP TABLE plan_points (point_id bigint, geom geometry(Point, 4326), capacity int)")
        cursor.executemany(
            "INSERT INTO plan_households VALUES (%s, ST_GeomFromEWKT(%s))", [(k, v.ewkt) for k, v in households.items()]
        )
        cursor.executemany(
            "INSERT INTO plan_points VALUES (%s, ST_GeomFromEWKT(%s), %s)",
            [(k, v.ewkt, capacity.get(k)) for k, v in points.items()],
        )
    counts = catchments.assign_catchments(network_id=network.pk, zone_ids=zones, max_snap_m=max_snap_m)
    with connection.cursor() as cursor:
        cursor.execute("SELECT household_id, point_id, reason, travel_s FROM plan_catchment")
        rows = cursor.fetchall()
    assert counts["households"] == len(households)
    return {h: (p, reason) for h, p, reason, _ in rows}, {h: t for h, _, _, t in rows}


def flood(geom):
    return HazardZoneFactory(incident=IncidentFactory(), geom=geom).pk


def test_each_household_goes_to_the_point_nearest_by_road_time():
    grid = road_grid(size=10)
    result, travel = run(grid, {1: at(1, 2), 2: at(8, 7), 3: at(2, 1.1)}, {10: at(1, 1), 20: at(8, 8)})
    assert result == {1: (10, ""), 2: (20, ""), 3: (10, "")}
    assert travel[1] == pytest.approx(travel[2], rel=0.01)  # one block each, ~111 s at 10 m/s
    assert 100 < travel[1] < 120


def test_a_flood_between_a_household_and_its_straight_line_nearest_point_sends_it_round_or_to_another():
    grid = road_grid(size=10)
    # A wall of water across the whole grid at i = 4.5 except nothing: households west of it cannot reach the east
    # point; a household at i=5 (east) that is nearest in a straight line to the west point at i=3 goes east.
    wall = flood(box(4.3, -1, 4.7, 11))
    households = {1: at(5, 5), 2: at(3, 6)}
    points = {10: at(3, 5), 20: at(9, 5)}
    dry, _ = run(grid, households, points)
    assert dry[1] == (10, "")  # two blocks west on a dry day
    wet, _ = run(grid, households, points, zones=[wall])
    assert wet[1] == (20, "") and wet[2] == (10, "")


def test_a_bridge_over_the_flood_stays_open():
    grid = road_grid(size=10, bridges=[((4, 5), (5, 5))])
    wall = flood(box(4.3, -1, 4.7, 11))
    result, _ = run(grid, {1: at(5, 5)}, {10: at(3, 5), 20: at(9, 5)}, zones=[wall])
    assert result[1] == (10, "")  # over the bridge, two blocks, instead of four to the east


def test_an_island_cut_off_by_the_flood_is_reported_as_such_not_silently_dropped():
    grid = road_grid(size=10)
    # A ring of water around the block (6..8, 6..8): its streets are dry, every road out crosses the water.
    ring = [flood(box(5.3, 5.3, 8.7, 5.7)), flood(box(5.3, 8.3, 8.7, 8.7))]
    ring += [flood(box(5.3, 5.3, 5.7, 8.7)), flood(box(8.3, 5.3, 8.7, 8.7))]
    result, _ = run(grid, {1: at(7, 7), 2: at(2, 2), 3: at(30, 30)}, {10: at(1, 1)}, zones=ring)
    assert result[1] == (None, catchments.CUT_OFF)
    assert result[2] == (10, "")
    assert result[3] == (None, catchments.NO_ROAD)


def test_a_full_point_keeps_its_nearest_households_and_the_rest_go_to_the_next_point():
    grid = road_grid(size=10)
    households = {1: at(1, 2), 2: at(1, 3), 3: at(1, 4), 4: at(1, 5)}
    points = {10: at(1, 1), 20: at(1, 9)}
    result, _ = run(grid, households, points, capacity={10: 2, 20: 1})
    assert result[1] == (10, "") and result[2] == (10, "")
    assert result[4] == (20, "")  # nearest to 20 anyway (4 blocks vs 4: ties by travel time, then id)
    assert result[3] == (None, catchments.FULL)


def test_no_usable_point_at_all_is_a_reason_too():
    grid = road_grid(size=4)
    result, _ = run(grid, {1: at(1, 1)}, {10: at(50, 50)})  # the only point is far off the network
    assert result[1] == (None, catchments.NO_POINT)


def test_one_way_streets_count_in_the_households_direction():
    grid = road_grid(size=3)
    # Make every edge one-way away from the point's corner (0,0): nobody can drive *to* it.
    from distribution.models import RoadEdge

    RoadEdge.objects.filter(network=grid).update(reverse_cost=-1)
    result, _ = run(grid, {1: at(2, 2)}, {10: at(0, 0), 20: at(2, 2.0)})
    assert result[1][0] == 20
    result, _ = run(grid, {1: at(2, 2)}, {10: at(0, 0)})
    assert result[1] == (None, catchments.NOT_CONNECTED)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_travel_times_match_a_brute_force_dijkstra_and_no_point_exceeds_its_capacity(seed):
    """Against pgr_dijkstraCost from every household's vertex to every point (one-way streets and a flood in the
    way): without limits each household gets the least travel time; with limits no point takes more than its room."""
    import random

    from distribution.models import RoadEdge

    rng = random.Random(seed)
    grid = road_grid(size=8)
    one_way = rng.sample(list(RoadEdge.objects.filter(network=grid).values_list("id", flat=True)), 25)
    RoadEdge.objects.filter(id__in=one_way).update(reverse_cost=-1)
    zone = flood(box(rng.uniform(2, 4), -1, rng.uniform(4.2, 5), rng.uniform(3, 6)))
    households = {n: at(rng.uniform(0, 7), rng.uniform(0, 7)) for n in range(1, 41)}
    points = {100 + n: at(rng.uniform(0, 7), rng.uniform(0, 7)) for n in range(4)}
    result, travel = run(grid, households, points, zones=[zone])
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.household_id, min(d.agg_cost)
               FROM plan_catchment c
               JOIN pgr_dijkstraCost('SELECT id, source, target, cost, reverse_cost FROM plan_open_edges',
                                     (SELECT array_agg(DISTINCT vertex) FROM plan_catchment WHERE vertex IS NOT NULL),
                                     (SELECT array_agg(vertex) FROM plan_point_state WHERE vertex IS NOT NULL),
                                     directed => true) d ON d.start_vid = c.vertex
               GROUP BY c.household_id""",
        )
        best = dict(cursor.fetchall())
        cursor.execute("SELECT vertex FROM plan_point_state WHERE vertex IS NOT NULL")
        point_vertices = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT household_id, vertex FROM plan_catchment")
        vertex = dict(cursor.fetchall())
    for household, (point, reason) in result.items():
        if vertex[household] in point_vertices:
            best[household] = 0.0  # on a point's own corner (pgRouting gives no cost from a vertex to itself)
        if point is None:
            assert household not in best, (household, reason)
        else:
            assert travel[household] == pytest.approx(best[household], abs=1e-6)
    assert any(point for point, _ in result.values())

    capacity = {p: rng.randint(1, 8) for p in points}
    limited, _ = run(grid, households, points, zones=[zone], capacity=capacity)
    taken = {}
    for point, _ in limited.values():
        if point:
            taken[point] = taken.get(point, 0) + 1
    assert all(taken[p] <= capacity[p] for p in taken)
    assert point_vertices  # the points were on the network
