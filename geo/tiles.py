"""Web Mercator tile maths and Mapbox Vector Tile SQL for any table with an EPSG:4326 geometry column.

The caller names the table and columns (trusted identifiers from code, never from a request) and adds its own
WHERE clause, so this module stays ignorant of what the rows are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection
from psycopg import sql

MAX_ZOOM = 22
WEB_MERCATOR_HALF = 20037508.342789244
MVT_CONTENT_TYPE = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    @classmethod
    def parse(cls, z, x, y) -> Tile:
        """A tile from URL parts, or ValidationError when it does not exist at that zoom."""
        try:
            z, x, y = int(z), int(x), int(y)
        except (TypeError, ValueError):
            raise ValidationError({"tile": "z, x and y must be whole numbers."}) from None
        if not 0 <= z <= MAX_ZOOM:
            raise ValidationError({"tile": f"Zoom must be between 0 and {MAX_ZOOM}."})
        limit = 2**z
        if not (0 <= x < limit and 0 <= y < limit):
            raise ValidationError({"tile": f"At zoom {z}, x and y must be between 0 and {limit - 1}."})
        return cls(z, x, y)

    def bounds_3857(self) -> tuple[float, float, float, float]:
        size = 2 * WEB_MERCATOR_HALF / 2**self.z
        min_x = -WEB_MERCATOR_HALF + self.x * size
        max_y = WEB_MERCATOR_HALF - self.y * size
        return (min_x, max_y - size, min_x + size, max_y)

    def bounds_4326(self) -> tuple[float, float, float, float]:
        def lon(x: int) -> float:
            return x / 2**self.z * 360.0 - 180.0

        def lat(y: int) -> float:
            return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2**self.z))))

        return (lon(self.x), lat(self.y + 1), lon(self.x + 1), lat(self.y))


def mvt_query(
    *,
    table: str,
    layer_name: str,
    tile: Tile,
    geom_column: str = "geom",
    columns: Sequence[str] = (),
    where: sql.Composable | None = None,
    params: Sequence = (),
    extent: int = 4096,
    buffer: int = 64,
    limit: int | None = None,
) -> tuple[sql.Composed, list]:
    """SQL (and parameters) that returns one bytea: the features of `table` intersecting `tile` as an MVT layer.

    The bbox test (&&) against the tile envelope in 4326 uses the table's GiST index; ST_AsMVTGeom clips.
    `where` may reference the table as `t`.
    """
    envelope = sql.SQL("ST_TileEnvelope(%s, %s, %s)")
    filters = [sql.SQL("t.{geom} && ST_Transform({env}, 4326)").format(geom=sql.Identifier(geom_column), env=envelope)]
    if where is not None:
        filters.append(where)
    selected = sql.SQL("").join(sql.SQL(", t.{}").format(sql.Identifier(c)) for c in columns)
    query = sql.SQL(
        """
        SELECT ST_AsMVT(tile, {layer_name}, {extent}, 'geom') FROM (
            SELECT ST_AsMVTGeom(ST_Transform(t.{geom}, 3857), {env}, {extent}, {buffer}, true) AS geom{selected}
            FROM {table} t WHERE {filters} {limit}
        ) tile WHERE geom IS NOT NULL
        """
    ).format(
        layer_name=sql.Literal(layer_name),
        extent=sql.Literal(extent),
        buffer=sql.Literal(buffer),
        geom=sql.Identifier(geom_column),
        env=envelope,
        selected=selected,
        table=sql.Identifier(table),
        filters=sql.SQL(" AND ").join(filters),
        limit=sql.SQL("LIMIT {}").format(sql.Literal(limit)) if limit else sql.SQL(""),
    )
    tile_params = [tile.z, tile.x, tile.y]
    # Placeholders appear in order: the envelope in SELECT, the envelope in the bbox filter, then `where`.
    return query, [*tile_params, *tile_params, *params]


def render_mvt(**kwargs) -> bytes:
    """Run mvt_query and return the tile bytes (empty when nothing intersects)."""
    query, params = mvt_query(**kwargs)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
