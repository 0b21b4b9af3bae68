from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from geo.models import Area, AreaImport, AreaScope


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
