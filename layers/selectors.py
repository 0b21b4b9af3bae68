"""Reads for layers. Layers are national context (a flood extent is not owned by a district), so they are not
area-scoped; households drawn on tiles are, through geo.selectors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from django.db import connection
from django.db.models import QuerySet
from psycopg import sql

from geo.selectors import user_area_ids
from geo.tiles import Tile, render_mvt
from layers.models import CapAlert, LayerImport, RasterLayer, VectorLayer

GEOJSON_BATCH = 5000
# The registry's table, named here rather than imported: layers and registry are independent apps.
HOUSEHOLD_TABLE = "registry_household"
HOUSEHOLD_VIEW_PERMISSION = "registry.view_household"
# Points are exact locations, which are personal data (registry.selectors.PERSONAL_DATA_PERMISSION).
HOUSEHOLD_TILE_PERMISSIONS = [HOUSEHOLD_VIEW_PERMISSION, "registry.view_personal_data"]


def vector_layer_list(*, user, kind: str | None = None, status: str | None = None) -> QuerySet[VectorLayer]:
    queryset = VectorLayer.objects.select_related("uploaded_by", "cap_alert")
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def raster_layer_list(*, user, kind: str | None = None) -> QuerySet[RasterLayer]:
    queryset = RasterLayer.objects.select_related("uploaded_by")
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset


def raster_layer_path(layer: RasterLayer) -> Path:
    """Local filesystem path of the layer's Cloud-Optimized GeoTIFF."""
    return layer.local_path()


def layer_import_list(*, user) -> QuerySet[LayerImport]:
    return LayerImport.objects.select_related("created_by")


def cap_alert_list(*, user, status: str | None = None) -> QuerySet[CapAlert]:
    queryset = CapAlert.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def vector_layer_tile(*, layer: VectorLayer, tile: Tile) -> bytes:
    return render_mvt(
        table="layers_vectorfeature",
        layer_name=f"layer_{layer.pk}",
        tile=tile,
        columns=("fid", "properties"),
        where=sql.SQL("t.layer_id = %s"),
        params=[layer.pk],
    )


def household_tile(*, user, tile: Tile) -> bytes:
    """Household points in a tile, only inside the user's areas. The caller checks HOUSEHOLD_TILE_PERMISSIONS."""
    ids = user_area_ids(user)
    where = sql.SQL("t.location IS NOT NULL")
    params: list = []
    if ids is not None:
        where = sql.SQL("{} AND t.area_id IN (SELECT id FROM geo_area WHERE lineage && %s::bigint[])").format(where)
        params = [list(ids)]
    return render_mvt(
        table=HOUSEHOLD_TABLE,
        layer_name="households",
        tile=tile,
        geom_column="location",
        columns=("id", "area_id"),
        where=where,
        params=params,
    )


def _bbox_clause(bbox: tuple[float, float, float, float] | None) -> tuple[sql.Composable, list]:
    if bbox is None:
        return sql.SQL(""), []
    return sql.SQL(" AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"), list(bbox)


def vector_feature_page(
    *, layer: VectorLayer, bbox: tuple[float, float, float, float] | None, limit: int, offset: int
) -> tuple[list[dict], int]:
    """GeoJSON features of a layer (bbox pre-filter on the GiST index), and how many match in all."""
    clause, params = _bbox_clause(bbox)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT count(*) FROM layers_vectorfeature WHERE layer_id = %s{}").format(clause),
            [layer.pk, *params],
        )
        matched = cursor.fetchone()[0]
        cursor.execute(
            sql.SQL(
                "SELECT fid, ST_AsGeoJSON(geom, 7), properties FROM layers_vectorfeature "
                "WHERE layer_id = %s{} ORDER BY fid LIMIT %s OFFSET %s"
            ).format(clause),
            [layer.pk, *params, limit, offset],
        )
        rows = cursor.fetchall()
    features = [
        {"type": "Feature", "id": fid, "geometry": json.loads(geometry), "properties": _properties(props)}
        for fid, geometry, props in rows
    ]
    return features, matched


def vector_feature_get(*, layer: VectorLayer, fid: int) -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT fid, ST_AsGeoJSON(geom, 7), properties FROM layers_vectorfeature WHERE layer_id = %s AND fid = %s",
            [layer.pk, fid],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return {"type": "Feature", "id": row[0], "geometry": json.loads(row[1]), "properties": _properties(row[2])}


def _properties(value) -> dict:
    return json.loads(value) if isinstance(value, str) else (value or {})


def vector_layer_geojson(*, layer: VectorLayer) -> Iterator[bytes]:
    """The whole layer as a GeoJSON FeatureCollection, streamed in keyset batches so memory stays flat."""
    yield b'{"type":"FeatureCollection","name":' + json.dumps(layer.name).encode() + b',"features":['
    last = 0
    first = True
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT fid, json_build_object('type', 'Feature', 'id', fid,
                    'geometry', ST_AsGeoJSON(geom, 7)::json, 'properties', properties)::text
                FROM layers_vectorfeature WHERE layer_id = %s AND fid > %s ORDER BY fid LIMIT %s
                """,
                [layer.pk, last, GEOJSON_BATCH],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        body = ",".join(text for _, text in rows)
        yield (body if first else "," + body).encode()
        first = False
        last = rows[-1][0]
    yield b"]}"
