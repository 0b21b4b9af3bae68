from rest_framework import viewsets

from distribution import selectors, services
from distribution.api.serializers import DistributionPointSerializer, WarehouseSerializer
from distribution.models import DistributionPoint, Warehouse
from spmis.api.pagination import GeoPagination


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
