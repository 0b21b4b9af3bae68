from django.contrib.gis import admin

from response.models import ExposureRun, HazardClass, HazardZone, Incident, NeedsProfile


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["name", "hazard_type", "status", "started_on", "cap_identifier"]
    list_filter = ["hazard_type", "status"]
    search_fields = ["name", "cap_identifier"]


@admin.register(HazardClass)
class HazardClassAdmin(admin.ModelAdmin):
    list_display = ["hazard_type", "incident", "key", "name", "rank", "min_value", "max_value", "displacement_rate"]
    list_filter = ["hazard_type"]


@admin.register(HazardZone)
class HazardZoneAdmin(admin.GISModelAdmin):
    list_display = ["name", "incident", "version", "is_current", "hazard_class", "source_kind"]
    list_filter = ["is_current", "source_kind"]
    readonly_fields = ["zone_key", "version", "is_current"]


@admin.register(ExposureRun)
class ExposureRunAdmin(admin.ModelAdmin):
    list_display = ["id", "incident", "status", "progress", "created_at", "finished_at"]
    list_filter = ["status"]
    readonly_fields = ["parameters", "result", "error", "status", "progress"]


@admin.register(NeedsProfile)
class NeedsProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "days", "is_default"]
