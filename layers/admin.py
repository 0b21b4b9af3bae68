from django.contrib import admin

from layers.models import CapAlert, LayerImport, RasterLayer, VectorLayer


@admin.register(VectorLayer)
class VectorLayerAdmin(admin.ModelAdmin):
    """Metadata and style only: features are replaced by uploading a new file, never edited here."""

    list_display = ["id", "name", "kind", "source_type", "geometry_type", "feature_count", "status", "created_at"]
    list_filter = ["kind", "source_type", "status", "geometry_type"]
    search_fields = ["name", "source", "activation_code"]
    readonly_fields = [
        "source_type", "source_crs", "original_name", "source_layer", "feature_count", "bbox", "geometry_type",
        "fields", "activation_code", "product_version", "metadata", "uploaded_by", "created_at", "updated_at",
    ]  # fmt: skip


@admin.register(RasterLayer)
class RasterLayerAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "kind", "crs", "width", "height", "unit", "status", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "source"]
    readonly_fields = [
        "file", "crs", "width", "height", "bounds", "resolution", "band_count", "dtype", "nodata", "bands",
        "statistics", "histogram", "uploaded_by", "created_at", "updated_at",
    ]  # fmt: skip


@admin.register(LayerImport)
class LayerImportAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "original_name", "status", "progress", "created_by", "created_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in LayerImport._meta.fields]


@admin.register(CapAlert)
class CapAlertAdmin(admin.ModelAdmin):
    list_display = ["identifier", "sender", "sent", "msg_type", "event", "severity", "status", "version"]
    list_filter = ["status", "msg_type", "severity"]
    search_fields = ["identifier", "sender", "event"]
    readonly_fields = [f.name for f in CapAlert._meta.fields]
