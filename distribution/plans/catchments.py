"""Catchments by road travel time: each household to its nearest usable distribution point, within capacity.

Set-based on temporary tables (dropped at commit, so call inside a transaction), never a Python loop over
households:

1. the open edges of the network with the closures applied are materialised once from `edge_query` (so closures mean
   what they mean for every other routing call), and the vertices they touch are indexed;
2. points are snapped to the nearest open vertex (KNN through the GiST index);
3. one multi-source Dijkstra (`pgr_drivingDistance` with all the points' vertices and `equicost`) on the *reversed*
   graph gives, for every vertex, the point that is nearest in travel time from that vertex (households travel to the
   point, and one-way streets count in that direction);
4. one pass over the households snaps each to its nearest open vertex and joins that vertex's point. Where a point's
   capacity is exceeded, it keeps its nearest households (by travel time) and the rest go to the next round, which
   runs the search again from the points with room left. Rounds are bounded by the number of points, not
   households;
5. households left over get a reason code: no road near, every near road closed, cut off by the closures (reachable on
   the dry-day network), not connected at all, or every reachable point full.

Inputs (temporary tables the caller fills):
    plan_households(household_id bigint, geom geometry(Point, 4326))
    plan_points(point_id bigint, geom geometry(Point, 4326), capacity integer NULL = no limit)
Outputs:
    plan_catchment(household_id, vertex, snap_m, point_id, travel_s, nearest_point_id, nearest_s, reason)
    plan_point_state(point_id, vertex, snap_m, capacity, remaining)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import connection
from psycopg import sql

from distribution.roads.graph import edge_query

# Reason codes of plan_catchment.reason; the plan service turns them into sentences naming the area or the point.
NO_ROAD = "no_road"  # no vertex of the network within max_snap_m
ROAD_CLOSED = "road_closed"  # vertices near, but every one of their edges is closed
CUT_OFF = "cut_off"  # reachable from a usable point on the dry-day network, not with the closures
NOT_CONNECTED = "not_connected"  # no usable point on the same piece of network even on a dry day
FULL = "full"  # reachable, but every point it can reach is full
NO_POINT = "no_point"  # there is no usable point at all

# Far enough for any network: the search covers every vertex a point can reach.
UNBOUNDED_S = 1e9


def _execute(cursor, statement, params: Iterable = ()) -> None:
    cursor.execute(statement, list(params))


def _reach(cursor, edges_table: str, table: str) -> None:
    """Multi-source Dijkstra from plan_start's vertices over the reversed edges of `edges_table` into `table`
    (node, from_v, agg_cost): for every vertex, the start nearest in travel time *to* it from the vertex."""
    reversed_edges = sql.SQL("SELECT id, target AS source, source AS target, cost, reverse_cost FROM {}").format(
        sql.Identifier(edges_table)
    )
    _execute(cursor, sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    _execute(
        cursor,
        sql.SQL(
            """CREATE TEMP TABLE {table} ON COMMIT DROP AS
               SELECT node, from_v, agg_cost
               FROM pgr_drivingDistance(%s, (SELECT array_agg(vertex ORDER BY vertex) FROM plan_start),
                                        %s, directed => true, equicost => true)"""
        ).format(table=sql.Identifier(table)),
        [reversed_edges.as_string(connection.connection), UNBOUNDED_S],
    )
    _execute(cursor, sql.SQL("CREATE INDEX ON {} (node)").format(sql.Identifier(table)))
    _execute(cursor, sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


def _materialise_edges(cursor, network_id: int, zone_ids: list[int], table: str) -> None:
    _execute(cursor, sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    _execute(
        cursor,
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS ").format(sql.Identifier(table))
        + sql.SQL(edge_query(network_id, zone_ids=zone_ids)),
    )


def assign_catchments(
    *,
    network_id: int,
    zone_ids: Iterable[int] = (),
    max_snap_m: float = 1000.0,
    progress: Callable[[int, str], None] | None = None,
) -> dict:
    """Fill plan_catchment and plan_point_state from plan_households and plan_points (see the module docstring).
    Returns counts: {"households", "assigned", "rounds", "open_edges", ...}."""
    zones = sorted(set(zone_ids))
    step = progress or (lambda percent, message: None)
    with connection.cursor() as cursor:
        step(15, "Closing roads inside the hazard zones")
        # The open vertices are written in geohash order: each KNN probe reads the table's rows as well as the
        # index, and with neighbouring households probing neighbouring pages they stay in the session's buffers.
        _materialise_edges(cursor, network_id, zones, "plan_open_edges")
        for statement in (
            "DROP TABLE IF EXISTS plan_open_vertices",
            """CREATE TEMP TABLE plan_open_vertices ON COMMIT DROP AS
               SELECT v.id, v.geom FROM distribution_roadvertex v
               WHERE v.network_id = %s
                 AND v.id IN (SELECT source FROM plan_open_edges UNION SELECT target FROM plan_open_edges)
               ORDER BY ST_GeoHash(v.geom, 10)""",
            "CREATE INDEX ON plan_open_vertices USING gist (geom)",
            "ANALYZE plan_open_vertices",
        ):
            _execute(cursor, statement, [network_id] if "%s" in statement else [])

        step(25, "Snapping the points to the nearest open road")
        # The KNN operator orders by planar distance in degrees, which picks the same nearest vertex as metres do
        # at the scale of a snap (hundreds of metres); the distance kept is on the sphere, in metres.
        _execute(cursor, "DROP TABLE IF EXISTS plan_point_state")
        _execute(
            cursor,
            """CREATE TEMP TABLE plan_point_state ON COMMIT DROP AS
               SELECT p.point_id, CASE WHEN ST_DistanceSphere(p.geom, s.geom) <= %s THEN s.id END AS vertex,
                      ST_DistanceSphere(p.geom, s.geom) AS snap_m, p.capacity, p.capacity AS remaining
               FROM plan_points p
               LEFT JOIN LATERAL (SELECT v.id, v.geom FROM plan_open_vertices v
                                  ORDER BY v.geom <-> p.geom LIMIT 1) s ON true""",
            [max_snap_m],
        )
        rounds = 0
        starts, limited = _starts(cursor)
        if starts:
            rounds = 1
            step(35, f"Searching the roads from {starts} points")
            _reach(cursor, "plan_open_edges", "plan_reach")
        else:
            _execute(cursor, "DROP TABLE IF EXISTS plan_reach")
            _execute(
                cursor, "CREATE TEMP TABLE plan_reach (node bigint, from_v bigint, agg_cost float8) ON COMMIT DROP"
            )

        step(45, "Snapping households to the nearest open road and joining their nearest point")
        # One pass over the households: snap, and the first search's answer for the vertex (the nearest usable
        # point). Households go in geohash order, so consecutive index probes touch the same pages.
        # Without capacity limits that is the assignment; with them it is the first round's candidate.
        _execute(cursor, "DROP TABLE IF EXISTS plan_catchment")
        _execute(
            cursor,
            """CREATE TEMP TABLE plan_catchment ON COMMIT DROP AS
               SELECT h.household_id, s.vertex, s.snap_m,
                      CASE WHEN NOT %s THEN st.point_id END AS point_id,
                      CASE WHEN NOT %s THEN r.agg_cost END AS travel_s,
                      st.point_id AS nearest_point_id, r.agg_cost AS nearest_s, ''::text AS reason
               FROM (SELECT * FROM plan_households ORDER BY ST_GeoHash(geom, 10)) h
               LEFT JOIN LATERAL (
                   SELECT CASE WHEN ST_DistanceSphere(h.geom, v.geom) <= %s THEN v.id END AS vertex,
                          ST_DistanceSphere(h.geom, v.geom) AS snap_m
                   FROM plan_open_vertices v ORDER BY v.geom <-> h.geom LIMIT 1) s ON true
               LEFT JOIN plan_reach r ON r.node = s.vertex
               LEFT JOIN plan_start st ON st.vertex = r.from_v""",
            [bool(limited), bool(limited), max_snap_m],
        )
        if limited:
            _capacity_rounds(cursor, step)
            cursor.execute("SELECT max(round) FROM plan_rounds")
            rounds = cursor.fetchone()[0] or rounds

        step(75, "Explaining households no point can serve")
        _explain_unassigned(cursor, network_id, zones, max_snap_m, any_start=rounds > 0)
        cursor.execute("SELECT count(*), count(point_id) FROM plan_catchment")
        households, assigned = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM plan_open_edges")
        open_edges = cursor.fetchone()[0]
    return {"households": households, "assigned": assigned, "rounds": rounds, "open_edges": open_edges}


def _starts(cursor) -> tuple[int, bool]:
    """Fill plan_start with one start per vertex that has room (two points on the same corner: the one with most
    room). Returns (how many, whether any has a capacity limit)."""
    _execute(cursor, "DROP TABLE IF EXISTS plan_start")
    _execute(
        cursor,
        """CREATE TEMP TABLE plan_start ON COMMIT DROP AS
           SELECT DISTINCT ON (vertex) point_id, vertex, remaining FROM plan_point_state
           WHERE vertex IS NOT NULL AND (remaining IS NULL OR remaining > 0)
           ORDER BY vertex, remaining DESC NULLS FIRST, point_id""",
    )
    cursor.execute("SELECT count(*), coalesce(bool_or(remaining IS NOT NULL), false) FROM plan_start")
    return cursor.fetchone()


def _capacity_rounds(cursor, step) -> None:
    """Each point keeps its nearest households up to its room; the rest search again from the points with room
    left, until a round places nobody. Rounds are bounded by the number of points."""
    _execute(cursor, "CREATE INDEX ON plan_catchment (household_id)")
    _execute(cursor, "ANALYZE plan_catchment")
    _execute(cursor, "DROP TABLE IF EXISTS plan_rounds")
    _execute(cursor, "CREATE TEMP TABLE plan_rounds (round int, placed bigint) ON COMMIT DROP")
    # Round 1's candidates are in plan_catchment already (nearest_point_id, nearest_s).
    candidates = """SELECT c.household_id, c.nearest_point_id AS point_id, c.nearest_s AS agg_cost
                    FROM plan_catchment c WHERE c.point_id IS NULL AND c.nearest_point_id IS NOT NULL"""
    round_number = 1
    while True:
        _execute(cursor, "DROP TABLE IF EXISTS plan_accept")
        _execute(
            cursor,
            sql.SQL(
                """CREATE TEMP TABLE plan_accept ON COMMIT DROP AS
                   SELECT household_id, point_id, agg_cost FROM (
                       SELECT k.*, p.remaining,
                              row_number() OVER (PARTITION BY k.point_id ORDER BY k.agg_cost, k.household_id) AS rn
                       FROM ({candidates}) k JOIN plan_point_state p ON p.point_id = k.point_id) ranked
                   WHERE remaining IS NULL OR rn <= remaining"""
            ).format(candidates=sql.SQL(candidates)),
        )
        _execute(
            cursor,
            """UPDATE plan_catchment c SET point_id = a.point_id, travel_s = a.agg_cost
               FROM plan_accept a WHERE a.household_id = c.household_id""",
        )
        placed = cursor.rowcount
        _execute(cursor, "INSERT INTO plan_rounds VALUES (%s, %s)", [round_number, placed])
        _execute(
            cursor,
            """UPDATE plan_point_state p SET remaining = p.remaining - a.n
               FROM (SELECT point_id, count(*) AS n FROM plan_accept GROUP BY point_id) a
               WHERE a.point_id = p.point_id AND p.remaining IS NOT NULL""",
        )
        if not placed:
            return
        starts, _ = _starts(cursor)
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM plan_catchment WHERE point_id IS NULL AND nearest_point_id IS NOT NULL)"
        )
        if not starts or not cursor.fetchone()[0]:
            return
        round_number += 1
        step(
            min(45 + 5 * round_number, 70), f"Points full: searching again from {starts} points (round {round_number})"
        )
        _reach(cursor, "plan_open_edges", "plan_reach")
        candidates = """SELECT c.household_id, st.point_id, r.agg_cost
                        FROM plan_catchment c
                        JOIN plan_reach r ON r.node = c.vertex
                        JOIN plan_start st ON st.vertex = r.from_v
                        WHERE c.point_id IS NULL AND c.nearest_point_id IS NOT NULL"""


def _explain_unassigned(cursor, network_id: int, zones: list[int], max_snap_m: float, *, any_start: bool) -> None:
    """Set the reason code of every household left without a point."""
    if not any_start:
        _execute(cursor, "UPDATE plan_catchment SET reason = %s WHERE point_id IS NULL", [NO_POINT])
        return
    # Too far from any open road: is a closed road near (flooded), or no road at all?
    _execute(
        cursor,
        """UPDATE plan_catchment c
           SET reason = CASE WHEN (
                   SELECT ST_DistanceSphere(v.geom, h.geom) FROM distribution_roadvertex v
                   WHERE v.network_id = %s ORDER BY v.geom <-> h.geom LIMIT 1) <= %s
               THEN %s ELSE %s END
           FROM plan_households h
           WHERE h.household_id = c.household_id AND c.point_id IS NULL AND c.vertex IS NULL""",
        [network_id, max_snap_m, ROAD_CLOSED if zones else NO_ROAD, NO_ROAD],
    )
    # Reached in the first round but left over: every point it could reach filled up with nearer households.
    _execute(
        cursor,
        """UPDATE plan_catchment SET reason = %s
           WHERE point_id IS NULL AND reason = '' AND nearest_point_id IS NOT NULL""",
        [FULL],
    )
    cursor.execute("SELECT count(*) FROM plan_catchment WHERE point_id IS NULL AND reason = ''")
    if not cursor.fetchone()[0]:
        return
    if not zones:
        _execute(
            cursor, "UPDATE plan_catchment SET reason = %s WHERE point_id IS NULL AND reason = ''", [NOT_CONNECTED]
        )
        return
    # Never reached: on the dry-day network, from the same points, would it be? Then the closures cut it off.
    _execute(cursor, "DROP TABLE IF EXISTS plan_start")
    _execute(
        cursor,
        """CREATE TEMP TABLE plan_start ON COMMIT DROP AS
           SELECT DISTINCT vertex FROM plan_point_state WHERE vertex IS NOT NULL""",
    )
    _materialise_edges(cursor, network_id, [], "plan_dry_edges")
    _reach(cursor, "plan_dry_edges", "plan_dry_reach")
    _execute(
        cursor,
        """UPDATE plan_catchment c
           SET reason = CASE WHEN EXISTS (SELECT 1 FROM plan_dry_reach r WHERE r.node = c.vertex) THEN %s ELSE %s END
           WHERE c.point_id IS NULL AND c.reason = ''""",
        [CUT_OFF, NOT_CONNECTED],
    )
