from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets

from distribution import selectors, services
from distribution.api.serializers import DistributionPointSerializer, FacilityExposureSerializer, WarehouseSerializer
from distribution.models import DistributionPoint, FacilityExposure, Warehouse
from response import selectors as response_selectors
from spmis.api.pagination import GeoPagination
from spmis.api.params import parse_int


class WarehouseViewSet(viewsets.ModelViewSet):
    """Warehouses as GeoJSON; only those inside the user's areas are visible or writable."""

    queryset = Warehouse.objects.none()
    serializer_class = WarehouseSerializer
    pagination_class = GeoPagination
    filterset_fields = ["area"]

    def get_queryset(self):
        return selectors.warehouse_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.warehouse_create(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.warehouse_update(
            user=self.request.user, warehouse=serializer.instance, **serializer.validated_data
        )


class DistributionPointViewSet(viewsets.ModelViewSet):
    """Distribution points as GeoJSON; only those inside the user's areas are visible or writable."""

    queryset = DistributionPoint.objects.none()
    serializer_class = DistributionPointSerializer
    pagination_class = GeoPagination
    filterset_fields = ["area", "kind"]

    def get_queryset(self):
        return selectors.distribution_point_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.distribution_point_create(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.distribution_point_update(
            user=self.request.user, point=serializer.instance, **serializer.validated_data
        )


class FacilityExposureViewSet(viewsets.ReadOnlyModelViewSet):
    """Warehouses and distribution points inside an exposure run's hazard zones: `?run=<id>` (required)."""

    queryset = FacilityExposure.objects.none()
    serializer_class = FacilityExposureSerializer

    @extend_schema(parameters=[OpenApiParameter("run", OpenApiTypes.INT, required=True, description="Exposure run")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        # Only runs of incidents the user may see, and within them only facilities inside the user's areas.
        runs = response_selectors.exposure_run_list(user=self.request.user).values("pk")
        queryset = selectors.facility_exposure_list(user=self.request.user).filter(run__in=runs)
        if self.action == "list":
            raw = self.request.query_params.get("run")
            if raw in (None, ""):
                raise ValidationError({"run": "Give the exposure run: ?run=<id>."})
            queryset = queryset.filter(run_id=parse_int(raw, field="run", default=0, minimum=1))
        return queryset
