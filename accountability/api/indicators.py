"""Published indicators for partners: JSON, CSV (streamed) and OGC API – Features collections of areas, built with
the layers app's OGC documents. Everything here is aggregate and small-cell suppressed."""

from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accountability import exports
from accountability import indicators as registry
from accountability.selectors import indicators as selectors
from layers.api import ogc
from layers.api.views import AnyAcceptNegotiation
from spmis.api.params import parse_int

PARAMETERS = [
    OpenApiParameter("level", OpenApiTypes.INT, description="area level (the country's chart level by default)"),
    OpenApiParameter("program", OpenApiTypes.INT),
    OpenApiParameter("incident", OpenApiTypes.INT),
]
FILTERS = ("program", "incident")


def _query(request, *, level: int | None = None):
    params = request.query_params
    return selectors.indicator_query(
        user=request.user,
        level=level if level is not None else parse_int(params.get("level"), field="level", default=None),
        program_id=parse_int(params.get("program"), field="program", default=None, minimum=1),
        incident_id=parse_int(params.get("incident"), field="incident", default=None, minimum=1),
    )


class IndicatorsView(APIView):
    """Households affected, covered, paid and reached per area, small cells suppressed (null)."""

    required_permissions = ["accountability.view_indicator"]

    @extend_schema(parameters=PARAMETERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(selectors.indicator_table(user=request.user, query=_query(request)))


class IndicatorsExportView(APIView):
    """The same table as CSV (streamed); a suppressed cell is empty."""

    required_permissions = ["accountability.view_indicator"]

    @extend_schema(parameters=PARAMETERS, responses={(200, "text/csv"): OpenApiTypes.BINARY})
    def get(self, request):
        table = selectors.indicator_table(user=request.user, query=_query(request))
        columns = ["code", "name", *registry.INDICATORS, "suppressed"]
        stream = exports.csv_stream(columns, ([area[column] for column in columns] for area in table["areas"]))
        response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        name = f"indicators-{selectors.collection_id(table['level']) if table['level'] else 'country'}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# ---- OGC API – Features


def _base(request) -> str:
    return request.build_absolute_uri(reverse("accountability-ogc-landing")).rstrip("/")


def _collection(request, collection_id: str, level: int) -> dict:
    from spmis.country import country

    name = country().level_name(level)
    titles = ", ".join(indicator.title.lower() for indicator in registry.INDICATORS.values())
    return ogc.collection_document(
        base=_base(request),
        collection_id=collection_id,
        title=f"Households by {name.lower()}",
        description=(
            f"Published indicators per {name.lower()} ({titles}); a count of 1 to k-1 households is suppressed (null)."
        ),
        bbox=selectors.level_extent(user=request.user, level=level),
    )


class OgcView(APIView):
    required_permissions = ["accountability.view_indicator"]
    content_negotiation_class = AnyAcceptNegotiation

    @staticmethod
    def level_of(collection_id: str) -> int:
        level = selectors.collection_levels().get(collection_id)
        if level is None:
            raise Http404
        return level


class LandingView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request):
        return ogc.json_response(
            ogc.landing_document(
                request,
                base=_base(request),
                title="spmis published indicators",
                description="Households affected, covered, paid and reached per area, small cells suppressed.",
            )
        )


class ConformanceView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request):
        return ogc.json_response(ogc.conformance_document())


class CollectionsView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request):
        collections = [_collection(request, cid, level) for cid, level in selectors.collection_levels().items()]
        return ogc.json_response(ogc.collections_document(base=_base(request), collections=collections))


class CollectionView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request, collection_id):
        return ogc.json_response(_collection(request, collection_id, self.level_of(collection_id)))


class ItemsView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request, collection_id):
        level = self.level_of(collection_id)
        limit, offset, bbox = ogc.parse_paging(request.query_params)
        query = _query(request, level=level)
        features, matched = selectors.indicator_features(
            user=request.user, query=query, bbox=bbox, limit=limit, offset=offset
        )
        carried = {name: request.query_params[name] for name in ("bbox", *FILTERS) if request.query_params.get(name)}
        return ogc.json_response(
            ogc.items_document(
                base=_base(request),
                collection_id=collection_id,
                features=features,
                matched=matched,
                limit=limit,
                offset=offset,
                query=carried,
            ),
            ogc.GEOJSON,
        )


class ItemView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request, collection_id, fid):
        level = self.level_of(collection_id)
        feature = selectors.indicator_feature(user=request.user, query=_query(request, level=level), area_id=int(fid))
        if feature is None:
            raise Http404
        return ogc.json_response(
            ogc.feature_document(base=_base(request), collection_id=collection_id, fid=fid, feature=feature),
            ogc.GEOJSON,
        )
