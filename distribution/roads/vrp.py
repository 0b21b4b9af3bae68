"""Capacitated vehicle routing on road travel times with closures (OR-Tools), and the nearest-neighbour baseline.

The matrix comes from pgr_dijkstraCostMatrix on `edge_query` (closures applied), so a truck is never sent down a
flooded street. A stop no vehicle can reach (closures, one-way islands) is dropped before solving and listed with
`explain_unreachable`'s reason; a stop that does not fit (capacity, time windows) is dropped by the solver through a
disjunction penalty and listed too, never silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from psycopg import sql

from distribution.roads.graph import edge_query
from distribution.roads.routing import explain_unreachable

UNREACHABLE = 10**8  # matrix entry for a pair with no path: far above any disjunction penalty
DROP_PENALTY = 10**7  # cost of leaving a stop out; larger than any real route, so the solver serves all it can


@dataclass
class Stop:
    vertex: int
    demand_kg: float
    ref: object = None  # the caller's key (a distribution point id)
    window: tuple[int, int] | None = None  # seconds after the start of the day
    service_s: int = 600


@dataclass
class Truck:
    depot_vertex: int
    capacity_kg: float
    ref: object = None
    window: tuple[int, int] | None = None


@dataclass
class Solution:
    routes: list[dict] = field(default_factory=list)
    unserved: list[dict] = field(default_factory=list)
    total_cost: float = 0.0
    objective: str = "time"


def _edges(network_id: int, zone_ids: Iterable[int], objective: str) -> str:
    """The edge query, with costs in metres instead of seconds when the objective is distance."""
    edges = edge_query(network_id, zone_ids=zone_ids)
    if objective == "time":
        return edges
    return (
        sql.SQL(
            "SELECT q.id, q.source, q.target, CASE WHEN q.cost < 0 THEN -1 ELSE r.length_m END AS cost,"
            " CASE WHEN q.reverse_cost < 0 THEN -1 ELSE r.length_m END AS reverse_cost"
            " FROM ({}) q JOIN distribution_roadedge r ON r.id = q.id"
        )
        .format(sql.SQL(edges))
        .as_string(connection.connection)
    )


def matrix(network_id: int, vertices: Sequence[int], *, zone_ids: Iterable[int] = (), objective: str = "time"):
    """{(a, b): cost} for all ordered pairs of distinct vertices that have a path (seconds or metres)."""
    vids = sorted({int(v) for v in vertices})
    if len(vids) < 2:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCostMatrix(%s, %s::bigint[], true)",
            [_edges(network_id, zone_ids, objective), vids],
        )
        return {(a, b): float(c) for a, b, c in cursor.fetchall()}


def solve(
    network_id: int,
    stops: Sequence[Stop],
    trucks: Sequence[Truck],
    *,
    zone_ids: Iterable[int] = (),
    objective: str = "time",
    time_limit_s: int = 10,
    cost: dict | None = None,
    first_solution: str = "SAVINGS",
) -> Solution:
    zones = sorted(set(zone_ids))
    depots = sorted({t.depot_vertex for t in trucks})
    cost = (
        cost
        if cost is not None
        else matrix(network_id, [s.vertex for s in stops] + depots, zone_ids=zones, objective=objective)
    )
    solution = Solution(objective=objective)

    def c(a: int, b: int) -> float | None:
        return 0.0 if a == b else cost.get((a, b))

    # A stop no depot can reach and come back from is explained, not sent to the solver.
    served: list[Stop] = []
    for stop in stops:
        if any(c(d, stop.vertex) is not None and c(stop.vertex, d) is not None for d in depots):
            served.append(stop)
        else:
            reason, closures = explain_unreachable(network_id, depots[0], stop.vertex, zone_ids=zones)
            solution.unserved.append({"ref": stop.ref, "reason": reason, "closures": closures})
    too_heavy = [s for s in served if s.demand_kg > max(t.capacity_kg for t in trucks)]
    for stop in too_heavy:
        solution.unserved.append(
            {"ref": stop.ref, "reason": f"The load ({stop.demand_kg:g} kg) is more than the biggest truck carries."}
        )
    served = [s for s in served if s not in too_heavy]
    if not served:
        return solution

    nodes = depots + [s.vertex for s in served]
    depot_index = {d: i for i, d in enumerate(depots)}
    manager = pywrapcp.RoutingIndexManager(
        len(nodes),
        len(trucks),
        [depot_index[t.depot_vertex] for t in trucks],
        [depot_index[t.depot_vertex] for t in trucks],
    )
    routing = pywrapcp.RoutingModel(manager)
    n = len(nodes)
    service = [0] * len(depots) + [s.service_s for s in served]
    arc = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            value = c(nodes[i], nodes[j])
            arc[i][j] = UNREACHABLE if value is None else round(value)

    def arc_cost(i: int, j: int) -> int:
        return arc[manager.IndexToNode(i)][manager.IndexToNode(j)]

    transit = routing.RegisterTransitCallback(arc_cost)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    demand = [0] * len(depots) + [round(s.demand_kg) for s in served]
    demand_cb = routing.RegisterUnaryTransitCallback(lambda i: demand[manager.IndexToNode(i)])
    routing.AddDimensionWithVehicleCapacity(demand_cb, 0, [int(t.capacity_kg) for t in trucks], True, "Load")
    windows = any(s.window for s in served) or any(t.window for t in trucks)
    if windows and objective == "time":
        time_cb = routing.RegisterTransitCallback(
            lambda i, j: arc[manager.IndexToNode(i)][manager.IndexToNode(j)] + service[manager.IndexToNode(i)]
        )
        routing.AddDimension(time_cb, 24 * 3600, 48 * 3600, False, "Time")
        time = routing.GetDimensionOrDie("Time")
        for k, stop in enumerate(served):
            if stop.window:
                time.CumulVar(manager.NodeToIndex(len(depots) + k)).SetRange(*stop.window)
        for v, truck in enumerate(trucks):
            if truck.window:
                time.CumulVar(routing.Start(v)).SetRange(*truck.window)
                time.CumulVar(routing.End(v)).SetRange(*truck.window)
    for k in range(len(served)):
        routing.AddDisjunction([manager.NodeToIndex(len(depots) + k)], DROP_PENALTY)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromSeconds(int(time_limit_s))
    found = routing.SolveWithParameters(params)
    if found is None:
        for stop in served:
            solution.unserved.append({"ref": stop.ref, "reason": "No plan fits the trucks' capacity and time windows."})
        return solution

    visited = set()
    time = routing.GetMutableDimension("Time") if windows and objective == "time" else None
    for v, truck in enumerate(trucks):
        index = routing.Start(v)
        sequence, load, total = [], 0.0, 0.0
        previous = truck.depot_vertex
        while not routing.IsEnd(index):
            index_next = found.Value(routing.NextVar(index))
            node = manager.IndexToNode(index_next)
            leg = c(previous, nodes[node]) or 0.0
            total += leg
            if node >= len(depots):
                stop = served[node - len(depots)]
                visited.add(node - len(depots))
                load += stop.demand_kg
                sequence.append(
                    {
                        "ref": stop.ref,
                        "vertex": stop.vertex,
                        "demand_kg": stop.demand_kg,
                        "leg_cost": leg,
                        "arrival_s": found.Value(time.CumulVar(index_next)) if time else None,
                    }
                )
            previous = nodes[node]
            index = index_next
        if sequence:
            solution.routes.append(
                {
                    "vehicle": truck.ref,
                    "depot_vertex": truck.depot_vertex,
                    "stops": sequence,
                    "load_kg": load,
                    "cost": total,
                }
            )
            solution.total_cost += total
    for k, stop in enumerate(served):
        if k not in visited:
            solution.unserved.append(
                {"ref": stop.ref, "reason": "It does not fit in the trucks' capacity or time windows today."}
            )
    return solution


def nearest_neighbour(stops: Sequence[Stop], trucks: Sequence[Truck], cost: dict) -> float:
    """Total cost of the greedy plan: each truck in turn drives to the nearest unvisited stop that still fits,
    and home when none does (the baseline the bench compares against)."""
    left = list(stops)
    total = 0.0
    for truck in trucks:
        here, room = truck.depot_vertex, truck.capacity_kg
        while True:
            options = [s for s in left if s.demand_kg <= room and ((here, s.vertex) in cost or s.vertex == here)]
            if not options:
                break
            nxt = min(options, key=lambda s: 0.0 if s.vertex == here else cost[(here, s.vertex)])
            total += 0.0 if nxt.vertex == here else cost[(here, nxt.vertex)]
            here, room = nxt.vertex, room - nxt.demand_kg
            left.remove(nxt)
        if here != truck.depot_vertex:
            total += cost.get((here, truck.depot_vertex), 0.0)
        if not left:
            break
    return total


def route_geometry(network_id: int, legs: Sequence[tuple[int, int]], *, zone_ids: Iterable[int] = ()) -> dict:
    """{(a, b): {metres, edges, geometry (GeoJSON MultiLineString)}} for each leg, all legs in one pgr_dijkstra call."""
    pairs = sorted({(int(a), int(b)) for a, b in legs if a != b})
    if not pairs:
        return {}
    combos = sql.SQL("SELECT * FROM (VALUES {}) AS t(source, target)").format(
        sql.SQL(", ").join(sql.SQL("({}::bigint, {}::bigint)").format(sql.Literal(a), sql.Literal(b)) for a, b in pairs)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.start_vid, d.end_vid, sum(e.length_m), array_agg(e.id ORDER BY d.path_seq),"
            " ST_AsGeoJSON(ST_Multi(ST_LineMerge(ST_Collect("
            "   CASE WHEN d.node = e.source THEN e.geom ELSE ST_Reverse(e.geom) END ORDER BY d.path_seq))), 6)"
            " FROM pgr_dijkstra(%s, %s, true) d JOIN distribution_roadedge e ON e.id = d.edge"
            " GROUP BY 1, 2",
            [edge_query(network_id, zone_ids=zone_ids), combos.as_string(connection.connection)],
        )
        return {
            (a, b): {"metres": float(m), "edges": list(ids), "geometry": json.loads(g)}
            for a, b, m, ids, g in cursor.fetchall()
        }
