"""The edges pgRouting walks, with the closures of a response applied.

pgRouting functions take the edge query as SQL text, so it is composed with psycopg.sql (identifiers and literals
quoted by psycopg) and rendered once. Every routing call in distribution (catchments, cost matrices, routes) goes
through edge_query, so closures mean the same thing everywhere: an edge is closed when it crosses a hazard zone of
the response, unless it is a bridge or is carried above the ground (OSM layer > 0), which stay open above a flood.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from psycopg import sql

# An edge carried above the water: OSM bridge=* or a positive layer (viaducts, flyovers).
ABOVE_FLOOD = sql.SQL("(e.bridge OR e.layer > 0)")


def closure_zone_ids(*, exposure_run_id: int | None = None, incident_id: int | None = None) -> list[int]:
    """The hazard zones that close roads: those an exposure run used, or else the incident's current zones."""
    with connection.cursor() as cursor:
        if exposure_run_id is not None:
            cursor.execute(
                "SELECT hazardzone_id FROM response_exposurerun_zones WHERE exposurerun_id = %s ORDER BY 1",
                [exposure_run_id],
            )
        elif incident_id is not None:
            cursor.execute(
                "SELECT id FROM response_hazardzone WHERE incident_id = %s AND is_current ORDER BY 1", [incident_id]
            )
        else:
            return []
        return [row[0] for row in cursor.fetchall()]


def closed_edge_condition(zone_ids: Iterable[int]) -> sql.Composable:
    """A condition on edge alias ``e`` that is true for an edge the zones close."""
    zones = sorted(set(zone_ids))
    if not zones:
        return sql.SQL("false")
    return sql.SQL(
        "(NOT {above} AND EXISTS (SELECT 1 FROM response_hazardzonepiece p"
        " WHERE p.zone_id = ANY({zones}::bigint[]) AND ST_Intersects(p.geom, e.geom)))"
    ).format(above=ABOVE_FLOOD, zones=sql.Literal(zones))


def closed_edge_ids(network_id: int, zone_ids: Iterable[int]) -> list[int]:
    """The ids of the network's edges the zones close, found once with the edge and zone GiST indexes."""
    zones = sorted(set(zone_ids))
    if not zones:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT e.id FROM response_hazardzonepiece p JOIN distribution_roadedge e"
            " ON e.network_id = %s AND ST_Intersects(p.geom, e.geom)"
            " WHERE p.zone_id = ANY(%s::bigint[]) AND NOT (e.bridge OR e.layer > 0) ORDER BY 1",
            [int(network_id), zones],
        )
        return [row[0] for row in cursor.fetchall()]


def edge_query(network_id: int, *, zone_ids: Iterable[int] = ()) -> str:
    """SQL text for pgRouting (id, source, target, cost, reverse_cost) of the network's open edges.

    The closed edges are computed once here (one indexed join of zones and edges) and the query carries their ids
    as an array: pgRouting may run the text several times (cost matrices, driving distances), and a per-edge
    EXISTS against the zone polygons inside it would redo the spatial test for every edge on every run.
    PostgreSQL hashes a constant `<> ALL (array)`, so the filter costs one probe per edge.
    """
    closed = closed_edge_ids(network_id, zone_ids)
    query = sql.SQL(
        "SELECT e.id, e.source, e.target, e.cost, e.reverse_cost FROM distribution_roadedge e"
        " WHERE e.network_id = {network}{closed}"
    ).format(
        network=sql.Literal(int(network_id)),
        closed=sql.SQL(" AND e.id <> ALL ({}::bigint[])").format(sql.Literal(closed)) if closed else sql.SQL(""),
    )
    return query.as_string(connection.connection)
