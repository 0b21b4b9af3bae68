"""Reads for road networks: which network to use, and snapping points onto its vertices."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import connection
from psycopg import sql

from distribution.roads.models import RoadNetwork


def network_list():
    return RoadNetwork.objects.all().order_by("code")


def network_for(network_id: int | None = None) -> RoadNetwork:
    """The named ready network, or the default one; a ValidationError naming `network` when there is none."""
    if network_id is None:
        network = RoadNetwork.objects.filter(is_default=True, status=RoadNetwork.Status.READY).first()
        if network is None:
            network = RoadNetwork.objects.filter(status=RoadNetwork.Status.READY).order_by("-id").first()
        if network is None:
            raise ValidationError({"network": "No road network is loaded; load one first."})
        return network
    network = RoadNetwork.objects.filter(pk=network_id).first()
    if network is None:
        raise ValidationError({"network": f"Road network {network_id} does not exist."})
    if network.status != RoadNetwork.Status.READY:
        raise ValidationError({"network": f"Road network {network.code} is not ready ({network.status})."})
    return network


def nearest_vertex_sql(network_id: int, point: sql.Composable) -> sql.Composable:
    """A LATERAL subquery (vertex_id, snap_m) for the vertex nearest `point` (a geometry(Point, 4326) expression).

    For set-based snapping: `SELECT h.id, nv.vertex_id, nv.snap_m FROM registry_household h
    CROSS JOIN LATERAL <this> nv`. The KNN operator walks the vertex GiST index, so each point costs a few page
    reads whatever the network's size; snap_m is metres on the spheroid (for a "no road within N m" cut-off).
    """
    return sql.SQL(
        "(SELECT v.id AS vertex_id, ST_Distance(v.geom::geography, ({p})::geography) AS snap_m"
        " FROM distribution_roadvertex v WHERE v.network_id = {net} ORDER BY v.geom <-> ({p}) LIMIT 1)"
    ).format(p=point, net=sql.Literal(int(network_id)))


def snap_points(
    network_id: int, points: Sequence[tuple[float, float]], *, max_m: float | None = None
) -> list[tuple[int | None, float | None]]:
    """(vertex id, distance in metres) of the vertex nearest each (lon, lat), in order; (None, distance) when
    the nearest vertex is farther than max_m, (None, None) when the network has no vertex."""
    if not points:
        return []
    lons = [float(p[0]) for p in points]
    lats = [float(p[1]) for p in points]
    query = sql.SQL(
        "SELECT p.k, nv.vertex_id, nv.snap_m FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, k)"
        " LEFT JOIN LATERAL {nv} nv ON true ORDER BY p.k"
    ).format(nv=nearest_vertex_sql(network_id, sql.SQL("ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)")))
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(connection.connection), [lons, lats])
        rows = cursor.fetchall()
    out: list[tuple[int | None, float | None]] = []
    for _k, vertex_id, snap_m in rows:
        if vertex_id is not None and max_m is not None and snap_m > max_m:
            out.append((None, snap_m))
        else:
            out.append((vertex_id, snap_m))
    return out
