from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from geo.api.tiles import AnyAcceptNegotiation, tile_response
from geo.tiles import MVT_CONTENT_TYPE, Tile
from layers import rasters, selectors, services
from layers.api.serializers import (
    CapAlertSerializer,
    LayerImportCreateSerializer,
    LayerImportSerializer,
    RasterLayerSerializer,
    RasterLayerUpdateSerializer,
    VectorLayerSerializer,
    VectorLayerUpdateSerializer,
)
from layers.models import CapAlert, LayerImport, RasterLayer, VectorLayer
from spmis.api.params import parse_number
from spmis.api.parsers import JSONObjectParser
from spmis.api.uploads import LimitedUploadMixin


class VectorLayerViewSet(mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Vector layers (metadata and style). Upload through layer-imports; features via tiles, GeoJSON or OGC API."""

    queryset = VectorLayer.objects.none()
    serializer_class = VectorLayerSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.vector_layer_list(user=self.request.user, kind=params.get("kind"), status=params.get("status"))

    @extend_schema(request=VectorLayerUpdateSerializer, responses=VectorLayerSerializer)
    def update(self, request, *args, **kwargs):
        payload = VectorLayerUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        layer = services.vector_layer_update(layer=self.get_object(), data=dict(payload.validated_data))
        return Response(VectorLayerSerializer(layer).data)

    def perform_destroy(self, instance):
        services.vector_layer_delete(layer=instance)

    @extend_schema(responses={(200, "application/geo+json"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="geojson")
    def geojson(self, request, pk=None):
        layer = self.get_object()
        response = StreamingHttpResponse(
            selectors.vector_layer_geojson(layer=layer), content_type="application/geo+json"
        )
        response["Content-Disposition"] = f'attachment; filename="layer-{layer.pk}.geojson"'
        return response


class VectorLayerTileView(APIView):
    """Mapbox vector tile of one layer: /vector-layers/<id>/tiles/<z>/<x>/<y>.mvt"""

    required_permissions = ["layers.view_vectorlayer"]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(responses={(200, MVT_CONTENT_TYPE): OpenApiTypes.BINARY})
    def get(self, request, pk, z, x, y):
        layer = get_object_or_404(selectors.vector_layer_list(user=request.user), pk=pk)
        return tile_response(selectors.vector_layer_tile(layer=layer, tile=Tile.parse(z, x, y)), MVT_CONTENT_TYPE)


class RasterLayerViewSet(mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Raster layers (COG metadata, statistics, histogram, style). Upload through layer-imports."""

    queryset = RasterLayer.objects.none()
    serializer_class = RasterLayerSerializer

    def get_queryset(self):
        return selectors.raster_layer_list(user=self.request.user, kind=self.request.query_params.get("kind"))

    @extend_schema(request=RasterLayerUpdateSerializer, responses=RasterLayerSerializer)
    def update(self, request, *args, **kwargs):
        payload = RasterLayerUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        layer = services.raster_layer_update(layer=self.get_object(), data=dict(payload.validated_data))
        return Response(RasterLayerSerializer(layer).data)

    def perform_destroy(self, instance):
        services.raster_layer_delete(layer=instance)

    @extend_schema(
        parameters=[OpenApiParameter("lon", OpenApiTypes.FLOAT), OpenApiParameter("lat", OpenApiTypes.FLOAT)],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"], url_path="point")
    def point(self, request, pk=None):
        layer = self.get_object()
        lon = parse_number(request.query_params.get("lon"), field="lon", minimum=-180, maximum=180)
        lat = parse_number(request.query_params.get("lat"), field="lat", minimum=-90, maximum=90)
        if lon is None or lat is None:
            raise ValidationError({"lon": "Give lon and lat (EPSG:4326)."})
        values = rasters.point_values(selectors.raster_layer_path(layer), lon=lon, lat=lat)
        return Response({"lon": lon, "lat": lat, "values": values, "unit": layer.unit})


class RasterTileView(APIView):
    """PNG tile of band 1 with the layer's colour ramp or class breaks: /raster-layers/<id>/tiles/<z>/<x>/<y>.png"""

    required_permissions = ["layers.view_rasterlayer"]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, pk, z, x, y):
        layer = get_object_or_404(selectors.raster_layer_list(user=request.user), pk=pk)
        tile = Tile.parse(z, x, y)
        data = rasters.render_tile(
            selectors.raster_layer_path(layer),
            z=tile.z,
            x=tile.x,
            y=tile.y,
            style=layer.style,
            statistics=layer.statistics,
        )
        return tile_response(data, "image/png")


class LayerImportViewSet(LimitedUploadMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Upload a vector file, GeoTIFF, CAP alert (file or url) or EMS package; poll the job it returns."""

    queryset = LayerImport.objects.none()
    serializer_class = LayerImportSerializer
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, JSONObjectParser]
    upload_limit_settings = ("LAYER_VECTOR_MAX_BYTES", "LAYER_RASTER_MAX_BYTES")

    def get_queryset(self):
        return selectors.layer_import_list(user=self.request.user)

    @extend_schema(request=LayerImportCreateSerializer, responses={202: LayerImportSerializer})
    def create(self, request, *args, **kwargs):
        data = request.data
        self.upload_check(request, None)  # the exact limit depends on the kind: checked by the service
        payload = LayerImportCreateSerializer(data=data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        kind = data.pop("kind")
        upload = data.pop("file", None)
        data["kind"] = data.pop("layer_kind")
        job = services.layer_import_start(
            kind=kind,
            file=upload,
            original_name=upload.name if upload else "",
            options=services.LayerImportOptions(**data),
            user=request.user,
        )
        job.refresh_from_db()
        return Response(LayerImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CapAlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Imported CAP alerts with their version chain (import through layer-imports, kind=cap)."""

    queryset = CapAlert.objects.none()
    serializer_class = CapAlertSerializer

    def get_queryset(self):
        return selectors.cap_alert_list(user=self.request.user, status=self.request.query_params.get("status"))
