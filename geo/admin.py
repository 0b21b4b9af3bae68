from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from geo.models import Area, AreaImport, AreaScope, AuditEvent


@admin.register(Area)
class AreaAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "level", "parent", "area_km2", "population"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    readonly_fields = ["lineage", "area_km2", "created_at", "updated_at"]
    raw_id_fields = ["parent"]


@admin.register(AreaScope)
class AreaScopeAdmin(admin.ModelAdmin):
    list_display = ["user"]
    filter_horizontal = ["areas"]


@admin.register(AreaImport)
class AreaImportAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "status", "progress", "created_by", "created_at"]
    readonly_fields = [f.name for f in AreaImport._meta.fields]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the database refuses changes to the audit log anyway."""

    list_display = ["at", "actor", "source", "action", "table_name", "row_id"]
    list_filter = ["action", "source", "table_name"]
    search_fields = ["row_id", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
