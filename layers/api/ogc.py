"""OGC API – Features (Part 1: Core, GeoJSON) over the vector layers, so QGIS and GDAL's OAPIF driver can read
them directly. Authentication is the API's: `Authorization: Token …` (GDAL: GDAL_HTTP_HEADERS) or a session.

The documents (landing page, conformance, collections, items pages with their links) are built by the functions
below from a base URL, so another app can serve its own collections (accountability's published indicators) with
the same documents and views of its own."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from layers import selectors
from layers.api.views import AnyAcceptNegotiation
from spmis.api.params import parse_bbox, parse_int

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
JSON = "application/json"
GEOJSON = "application/geo+json"
DEFAULT_LIMIT = 100


def json_response(data: dict, content_type: str = JSON) -> JsonResponse:
    return JsonResponse(data, content_type=content_type, json_dumps_params={"ensure_ascii": False})


def landing_document(request, *, base: str, title: str, description: str) -> dict:
    return {
        "title": title,
        "description": description,
        "links": [
            {"href": f"{base}/", "rel": "self", "type": JSON, "title": "This document"},
            {
                "href": request.build_absolute_uri(reverse("schema")),
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "title": "The API definition",
            },
            {"href": f"{base}/conformance", "rel": "conformance", "type": JSON, "title": "Conformance"},
            {"href": f"{base}/collections", "rel": "data", "type": JSON, "title": "Collections"},
        ],
    }


def conformance_document() -> dict:
    return {"conformsTo": CONFORMANCE}


def collection_document(
    *, base: str, collection_id: str, title: str, description: str, bbox: tuple | list | None = None
) -> dict:
    href = f"{base}/collections/{collection_id}"
    collection = {
        "id": collection_id,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": href, "rel": "self", "type": JSON, "title": "This collection"},
            {"href": f"{href}/items", "rel": "items", "type": GEOJSON, "title": "Features"},
        ],
    }
    if bbox:
        collection["extent"] = {"spatial": {"bbox": [list(bbox)], "crs": CRS84}}
    return collection


def collections_document(*, base: str, collections: list[dict]) -> dict:
    return {
        "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON, "title": "Collections"}],
        "collections": collections,
    }


def parse_paging(params) -> tuple[int, int, tuple[float, float, float, float] | None]:
    """(limit, offset, bbox) of an items request, each checked (400 naming the parameter)."""
    limit = parse_int(
        params.get("limit"), field="limit", default=DEFAULT_LIMIT, minimum=1, cap=settings.SPMIS["API_MAX_PAGE_SIZE"]
    )
    offset = parse_int(params.get("offset"), field="offset", default=0)
    bbox_crs = params.get("bbox-crs")
    if bbox_crs and bbox_crs != CRS84:
        raise ValidationError({"bbox-crs": f"Only {CRS84} is supported."})
    return limit, offset, parse_bbox(params.get("bbox"), field="bbox")


def items_document(
    *,
    base: str,
    collection_id: str,
    features: list[dict],
    matched: int,
    limit: int,
    offset: int,
    query: dict | None = None,
) -> dict:
    """One page of a collection's features with self, next, prev and collection links; `query` holds the request's
    other parameters (bbox, filters), carried into the links."""
    href = f"{base}/collections/{collection_id}/items"
    query = {"limit": limit, **(query or {})}

    def page(at: int) -> str:
        return href + "?" + "&".join(f"{k}={v}" for k, v in {**query, "offset": at}.items())

    links = [{"href": page(offset), "rel": "self", "type": GEOJSON, "title": "This page"}]
    if offset + len(features) < matched:
        links.append({"href": page(offset + limit), "rel": "next", "type": GEOJSON, "title": "Next page"})
    if offset > 0:
        links.append({"href": page(max(offset - limit, 0)), "rel": "prev", "type": GEOJSON, "title": "Previous"})
    links.append({"href": f"{base}/collections/{collection_id}", "rel": "collection", "type": JSON})
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": timezone.now().isoformat().replace("+00:00", "Z"),
        "links": links,
    }


def feature_document(*, base: str, collection_id: str, fid, feature: dict) -> dict:
    feature["links"] = [
        {"href": f"{base}/collections/{collection_id}/items/{fid}", "rel": "self", "type": GEOJSON},
        {"href": f"{base}/collections/{collection_id}", "rel": "collection", "type": JSON},
    ]
    return feature


# ---- The layers' own collections


def _base(request) -> str:
    return request.build_absolute_uri(reverse("layers-ogc-landing")).rstrip("/")


def _collection(request, layer) -> dict:
    return collection_document(
        base=_base(request),
        collection_id=str(layer.pk),
        title=layer.name,
        description=layer.description,
        bbox=layer.bbox,
    )


class OgcView(APIView):
    required_permissions = ["layers.view_vectorlayer"]
    content_negotiation_class = AnyAcceptNegotiation

    def get_layer(self, request, collection_id: str):
        if not collection_id.isdigit():
            raise Http404
        return get_object_or_404(selectors.vector_layer_list(user=request.user), pk=int(collection_id))


class LandingView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request):
        return json_response(
            landing_document(
                request,
                base=_base(request),
                title="spmis layers",
                description="Hazard and context layers of spmis (OGC API – Features).",
            )
        )


class ConformanceView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request):
        return json_response(conformance_document())


class CollectionsView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request):
        layers = selectors.vector_layer_list(user=request.user).order_by("pk")
        return json_response(
            collections_document(base=_base(request), collections=[_collection(request, layer) for layer in layers])
        )


class CollectionView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request, collection_id):
        return json_response(_collection(request, self.get_layer(request, collection_id)))


class ItemsView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request, collection_id):
        layer = self.get_layer(request, collection_id)
        limit, offset, bbox = parse_paging(request.query_params)
        features, matched = selectors.vector_feature_page(layer=layer, bbox=bbox, limit=limit, offset=offset)
        query = {"bbox": request.query_params["bbox"]} if request.query_params.get("bbox") else {}
        return json_response(
            items_document(
                base=_base(request),
                collection_id=str(layer.pk),
                features=features,
                matched=matched,
                limit=limit,
                offset=offset,
                query=query,
            ),
            GEOJSON,
        )


class ItemView(OgcView):
    @extend_schema(exclude=True)
    def get(self, request, collection_id, fid):
        layer = self.get_layer(request, collection_id)
        feature = selectors.vector_feature_get(layer=layer, fid=int(fid))
        if feature is None:
            raise Http404
        return json_response(
            feature_document(base=_base(request), collection_id=str(layer.pk), fid=fid, feature=feature), GEOJSON
        )
