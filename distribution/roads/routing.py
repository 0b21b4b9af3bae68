"""Routes on a road network with a response's closures: paths, cost matrices, and why a place is unreachable.

Every pgRouting call takes its edges from `graph.edge_query`, so closures mean the same everywhere. When closures
cut a destination off, the answer is never an empty route: `explain_unreachable` finds the island (the vertices the
start can still reach, or those that can still reach the end, whichever is smaller) and lists the closed edges on
its border, with their street names and the hazard zones that close them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection
from psycopg import sql

from distribution.roads.graph import closed_edge_ids, edge_query
from distribution.roads.selectors import snap_points

# Where a point is farther than this from any road vertex, it is "off the network" rather than snapped.
DEFAULT_MAX_SNAP_M = 1000.0


@dataclass
class PathResult:
    reachable: bool
    start_vertex: int | None
    end_vertex: int | None
    seconds: float | None = None
    metres: float | None = None
    edges: list[int] = field(default_factory=list)
    geometry: dict | None = None
    reason: str = ""
    closures: list[dict] = field(default_factory=list)

    def as_feature(self) -> dict:
        """A GeoJSON Feature (the path as a MultiLineString, or no geometry with the reason and closures)."""
        return {
            "type": "Feature",
            "geometry": self.geometry,
            "properties": {
                "reachable": self.reachable,
                "seconds": self.seconds,
                "minutes": None if self.seconds is None else round(self.seconds / 60, 1),
                "metres": self.metres,
                "start_vertex": self.start_vertex,
                "end_vertex": self.end_vertex,
                "edges": len(self.edges),
                "reason": self.reason,
                "closures": self.closures,
            },
        }


def _execute(query: sql.Composable | str, params: Sequence = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        text = query if isinstance(query, str) else query.as_string(connection.connection)
        cursor.execute(text, list(params))
        return cursor.fetchall()


def path(network_id: int, start_vid: int, end_vid: int, *, zone_ids: Iterable[int] = ()) -> PathResult:
    """The quickest directed path between two vertices with the zones' closures, or why there is none."""
    zones = sorted(set(zone_ids))
    if start_vid == end_vid:
        return PathResult(True, start_vid, end_vid, 0.0, 0.0, [], None)
    edges = edge_query(network_id, zone_ids=zones)
    # One statement: the path's edges in order, each geometry oriented the way it is driven, merged into a line.
    rows = _execute(
        "WITH p AS (SELECT d.seq, d.node, d.edge, d.cost FROM pgr_dijkstra(%s, %s::bigint, %s::bigint, true) d"
        " WHERE d.edge > 0)"
        " SELECT count(*), sum(p.cost), sum(e.length_m), array_agg(p.edge ORDER BY p.seq),"
        " ST_AsGeoJSON(ST_Multi(ST_LineMerge(ST_Collect("
        "   CASE WHEN p.node = e.source THEN e.geom ELSE ST_Reverse(e.geom) END ORDER BY p.seq))), 6)"
        " FROM p JOIN distribution_roadedge e ON e.id = p.edge",
        [edges, start_vid, end_vid],
    )
    count, seconds, metres, edge_ids, geometry = rows[0]
    if count:
        return PathResult(True, start_vid, end_vid, float(seconds), float(metres), list(edge_ids), json.loads(geometry))
    reason, closures = explain_unreachable(network_id, start_vid, end_vid, zone_ids=zones)
    return PathResult(False, start_vid, end_vid, reason=reason, closures=closures)


def path_between(
    network_id: int,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    zone_ids: Iterable[int] = (),
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> PathResult:
    """The quickest path between two (lon, lat) points, each snapped to its nearest road vertex."""
    (start_vid, start_m), (end_vid, end_m) = snap_points(network_id, [start, end], max_m=max_snap_m)
    for label, vid, metres in (("start", start_vid, start_m), ("end", end_vid, end_m)):
        if vid is None:
            far = "" if metres is None else f" (the nearest is {metres:.0f} m away)"
            raise ValidationError({label: f"No road within {max_snap_m:.0f} m of the {label} point{far}."})
    return path(network_id, start_vid, end_vid, zone_ids=zone_ids)


def _reach(edges: str, vid: int, *, reverse: bool) -> str:
    """SQL for the vertices reachable from vid (or, reversed, those that can reach it) on the open edges."""
    if reverse:
        edges = (
            sql.SQL(
                "SELECT id, target AS source, source AS target, reverse_cost AS cost, cost AS reverse_cost FROM ({}) r"
            )
            .format(sql.SQL(edges))
            .as_string(connection.connection)
        )
    return sql.SQL("SELECT node FROM pgr_drivingDistance({e}, {v}::bigint, 1e15::float8, true)").format(
        e=sql.Literal(edges), v=sql.Literal(int(vid))
    )


def explain_unreachable(
    network_id: int, start_vid: int, end_vid: int, *, zone_ids: Iterable[int] = ()
) -> tuple[str, list[dict]]:
    """Why there is no path: the closed edges around the island one end is cut off on, by street and zone."""
    zones = sorted(set(zone_ids))
    edges = edge_query(network_id, zone_ids=zones)
    sides = {}
    for side, vid, reverse in (("start", start_vid, False), ("end", end_vid, True)):
        reach = _reach(edges, vid, reverse=reverse).as_string(connection.connection)
        rows = _execute(f"SELECT count(*) FROM ({reach}) r")
        sides[side] = (rows[0][0], reach)
    side = min(sides, key=lambda s: sides[s][0])
    size, reach = sides[side]
    if not zones:
        return (
            f"No road connects the two points on this network, even with no road closed (the {side} lies on a "
            f"part of {size} junctions that the other cannot reach).",
            [],
        )
    # The closed edges with exactly one end on the island: opening any one of them would reconnect it.
    rows = _execute(
        sql.SQL(
            "WITH island AS MATERIALIZED ({reach}),"
            " cut AS (SELECT e.id, e.name, e.highway FROM distribution_roadedge e"
            "   WHERE e.network_id = {net} AND e.id = ANY({closed}::bigint[])"
            "   AND ((e.source IN (SELECT node FROM island)) <> (e.target IN (SELECT node FROM island))))"
            " SELECT c.id, c.name, c.highway, array_agg(DISTINCT z.id ORDER BY z.id), "
            " array_agg(DISTINCT z.name ORDER BY z.name)"
            " FROM cut c JOIN distribution_roadedge e ON e.id = c.id"
            " JOIN response_hazardzonepiece p ON p.zone_id = ANY({zones}::bigint[]) AND ST_Intersects(p.geom, e.geom)"
            " JOIN response_hazardzone z ON z.id = p.zone_id"
            " GROUP BY c.id, c.name, c.highway ORDER BY c.name, c.id"
        ).format(
            reach=sql.SQL(reach),
            net=sql.Literal(int(network_id)),
            closed=sql.Literal(closed_edge_ids(network_id, zones)),
            zones=sql.Literal(zones),
        )
    )
    closures = [
        {"edge": r[0], "name": r[1] or "(unnamed road)", "highway": r[2], "zones": list(r[3]), "zone_names": list(r[4])}
        for r in rows
    ]
    if not closures:
        return (
            f"No road connects the two points on this network, even with no road closed (the {side} lies on a "
            f"part of {size} junctions that the other cannot reach).",
            [],
        )
    streets = sorted({c["name"] for c in closures})
    zone_names = sorted({z for c in closures for z in c["zone_names"]})
    shown = ", ".join(streets[:8]) + (f" and {len(streets) - 8} more" if len(streets) > 8 else "")
    return (
        f"Unreachable: every road {'out of' if side == 'start' else 'into'} the {side} point's part of the network "
        f"({size} junctions) crosses the hazard zone ({', '.join(zone_names)}); closed: {shown}.",
        closures,
    )


def cost_matrix(network_id: int, vertex_ids: Sequence[int], *, zone_ids: Iterable[int] = ()) -> dict:
    """{(from, to): seconds} between the vertices (directed) with closures; a missing pair is unreachable."""
    vids = sorted({int(v) for v in vertex_ids})
    if len(vids) < 2:
        return {}
    rows = _execute(
        "SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCostMatrix(%s, %s::bigint[], true)",
        [edge_query(network_id, zone_ids=zone_ids), vids],
    )
    return {(a, b): float(c) for a, b, c in rows}


def distance_matrix(network_id: int, vertex_ids: Sequence[int], *, zone_ids: Iterable[int] = ()) -> dict:
    """{(from, to): metres} along the quickest paths (the distance a route sheet prints)."""
    vids = sorted({int(v) for v in vertex_ids})
    if len(vids) < 2:
        return {}
    rows = _execute(
        "SELECT d.start_vid, d.end_vid, sum(e.length_m) FROM pgr_dijkstra(%s, %s::bigint[], %s::bigint[], true) d"
        " JOIN distribution_roadedge e ON e.id = d.edge GROUP BY 1, 2",
        [edge_query(network_id, zone_ids=zone_ids), vids, vids],
    )
    return {(a, b): float(m) for a, b, m in rows}
