"""Administrative areas as Mapbox vector tiles, limited to what the user may see (as the GeoJSON list)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from psycopg import sql
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from geo.models import Area
from geo.selectors import user_area_ids
from geo.tiles import MVT_CONTENT_TYPE, Tile, render_mvt
from spmis.api.params import parse_number

TILE_CACHE_SECONDS = 60


class AnyAcceptNegotiation(BaseContentNegotiation):
    """Binary and OGC endpoints answer in one format whatever Accept says (map clients and GDAL send many)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return (JSONRenderer(), JSONRenderer.media_type)


def tile_response(data: bytes | None, content_type: str = MVT_CONTENT_TYPE) -> HttpResponse:
    """A tile, or 204 for an empty one; cached privately (tiles are per user when they are scoped)."""
    if not data:
        return HttpResponse(status=status.HTTP_204_NO_CONTENT)
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = f"private, max-age={TILE_CACHE_SECONDS}"
    return response


class AreaTileView(APIView):
    """/areas/tiles/<z>/<x>/<y>.mvt?level=2 — boundaries with id, code, name, level."""

    required_permissions = ["geo.view_area"]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("level", OpenApiTypes.INT)],
        responses={(200, MVT_CONTENT_TYPE): OpenApiTypes.BINARY},
    )
    def get(self, request, z, x, y):
        tile = Tile.parse(z, x, y)
        level = parse_number(request.query_params.get("level"), field="level", maximum=20)
        clauses, params = [], []
        if level is not None:
            clauses.append(sql.SQL("t.level = %s"))
            params.append(int(level))
        ids = user_area_ids(request.user)
        if ids is not None:
            # Inside a scope area, or an ancestor of one (context), as in geo.selectors.scope_queryset.
            ancestors = sorted(
                {a for lineage in Area.objects.filter(id__in=ids).values_list("lineage", flat=True) for a in lineage}
            )
            clauses.append(sql.SQL("(t.lineage && %s::bigint[] OR t.id = ANY(%s::bigint[]))"))
            params += [list(ids), ancestors]
        data = render_mvt(
            table="geo_area",
            layer_name="areas",
            tile=tile,
            columns=("id", "code", "name", "level"),
            where=sql.SQL(" AND ").join(clauses) if clauses else None,
            params=params,
        )
        return tile_response(data)
