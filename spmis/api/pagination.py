"""Page-number pagination with a hard cap, for plain JSON and for GeoJSON FeatureCollections."""

from django.conf import settings
from rest_framework.pagination import PageNumberPagination
from rest_framework_gis.pagination import GeoJsonPagination


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = settings.SPMIS["API_MAX_PAGE_SIZE"]


class GeoPagination(GeoJsonPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = settings.SPMIS["API_MAX_PAGE_SIZE"]

    def get_paginated_response_schema(self, schema: dict) -> dict:
        """The page as it is sent: a FeatureCollection with count/next/previous and the features themselves.
        `schema` is the reference drf-spectacular made for the list (`<Feature>List`, a whole FeatureCollection);
        its items are the `<Feature>` component."""
        ref = schema.get("$ref", "")
        items = {"$ref": ref.removesuffix("List")} if ref.endswith("List") else {"type": "object"}
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["type", "count", "next", "previous", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "count": {"type": "integer", "example": 123},
                "next": link,
                "previous": link,
                "features": {"type": "array", "items": items},
            },
        }
