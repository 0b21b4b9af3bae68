from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from distribution.models import DistributionPoint, Warehouse
from distribution.plans.models import DistributionPlan


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


from distribution.redemption.models import Device, Redemption, RedemptionConflict  # noqa: E402


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["key_id", "name", "point", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["key_id", "name"]
    readonly_fields = ["public_key", "registered_by", "created_at", "revoked_at"]


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    """Read-only: redemptions are append-only; a correction is made through the API."""

    list_display = ["code", "kind", "method", "entitlement", "point", "operator", "occurred_at"]
    list_filter = ["kind", "method"]
    search_fields = ["code"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(RedemptionConflict)
class RedemptionConflictAdmin(admin.ModelAdmin):
    list_display = ["client_uuid", "reason", "point", "device", "status", "created_at"]
    list_filter = ["reason", "status"]


# Stock: the catalogue is edited here; documents, lines and balances are read-only (the ledger is append-only).
from distribution.stock.models import StockItem, StockUnit  # noqa: E402


class StockUnitInline(admin.TabularInline):
    model = StockUnit
    extra = 0


@admin.register(StockItem)
class StockItemAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category", "base_unit", "weight_kg", "minimum_stock"]
    list_filter = ["category", "active"]
    search_fields = ["code", "name"]
    inlines = [StockUnitInline]


from distribution.roads.models import RoadNetwork, RouteRun, Vehicle  # noqa: E402


@admin.register(RoadNetwork)
class RoadNetworkAdmin(admin.ModelAdmin):
    # Networks are loaded by the loader (load_roads, the upload); the admin only shows them and picks the default.
    list_display = ["code", "name", "source", "status", "edge_count", "vertex_count", "is_default"]
    readonly_fields = ["code", "source", "status", "edge_count", "vertex_count", "attribution", "created_by"]
    exclude = ["extent"]


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "capacity_kg", "depot", "is_active"]
    list_filter = ["is_active", "depot"]
    search_fields = ["code", "name"]


@admin.register(RouteRun)
class RouteRunAdmin(admin.ModelAdmin):
    list_display = ["id", "network", "status", "message", "created_at"]
    readonly_fields = ["network", "parameters", "status", "progress", "message", "result", "error", "created_by"]


@admin.register(DistributionPlan)
class DistributionPlanAdmin(admin.ModelAdmin):
    """Plans are built by their job and never edited: read-only here."""

    list_display = ["id", "cycle", "exposure_run", "network", "status", "progress", "created_at"]
    list_filter = ["status"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
