from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from distribution.models import DistributionPoint, Warehouse


@admin.register(Warehouse)
class WarehouseAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "area", "capacity_tonnes"]
    search_fields = ["code", "name"]
    readonly_fields = ["area"]


@admin.register(DistributionPoint)
class DistributionPointAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "kind", "area"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    readonly_fields = ["area"]
