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
