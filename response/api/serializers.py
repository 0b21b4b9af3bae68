from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geo.models import Area
from response.classify import validate_bands
from response.models import (
    ExposureResult,
    ExposureRun,
    HazardClass,
    HazardZone,
    Incident,
    NeedsProfile,
)
from spmis.api.redact import redact_paths
from spmis.api.serializers import JOB_FIELDS, RedactedPathsMixin, StrictFieldsMixin


class IncidentSerializer(serializers.ModelSerializer):
    area_codes = serializers.SlugRelatedField(source="areas", slug_field="code", many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "name",
            "hazard_type",
            "status",
            "description",
            "started_on",
            "ended_on",
            "area_codes",
            "cap_identifier",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class IncidentWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    hazard_type = serializers.ChoiceField(choices=Incident._meta.get_field("hazard_type").choices)
    status = serializers.ChoiceField(choices=Incident.Status.choices, default=Incident.Status.ALERT)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    started_on = serializers.DateField()
    ended_on = serializers.DateField(required=False, allow_null=True, default=None)
    area_codes = serializers.SlugRelatedField(
        slug_field="code", queryset=Area.objects.all(), many=True, required=False, default=list
    )
    cap_identifier = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)


class IncidentUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=Incident.Status.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    started_on = serializers.DateField(required=False)
    ended_on = serializers.DateField(required=False, allow_null=True)
    area_codes = serializers.SlugRelatedField(slug_field="code", queryset=Area.objects.all(), many=True, required=False)


class HazardClassSerializer(serializers.ModelSerializer):
    class Meta:
        model = HazardClass
        fields = [
            "id",
            "hazard_type",
            "incident",
            "key",
            "name",
            "rank",
            "min_value",
            "max_value",
            "displacement_rate",
            "color",
        ]
        read_only_fields = fields


class HazardClassWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    key = serializers.SlugField(max_length=32)
    name = serializers.CharField(max_length=80, required=False)
    rank = serializers.IntegerField(min_value=1, max_value=100)
    min_value = serializers.FloatField(required=False, allow_null=True, default=None)
    max_value = serializers.FloatField(required=False, allow_null=True, default=None)
    displacement_rate = serializers.FloatField(min_value=0, max_value=1, default=0.0)
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False, default="#d73027")


class HazardClassTableSerializer(StrictFieldsMixin, serializers.Serializer):
    classes = HazardClassWriteSerializer(many=True)


class HazardZoneSerializer(GeoFeatureModelSerializer):
    # Zones made before raster zones stopped recording their file's server path may still hold it.
    source = serializers.SerializerMethodField()
    hazard_class = serializers.CharField(source="hazard_class.key", read_only=True)
    class_name = serializers.CharField(source="hazard_class.name", read_only=True)
    class_rank = serializers.IntegerField(source="hazard_class.rank", read_only=True)

    class Meta:
        model = HazardZone
        geo_field = "geom"
        fields = [
            "id",
            "incident",
            "zone_key",
            "version",
            "is_current",
            "name",
            "hazard_class",
            "class_name",
            "class_rank",
            "source_kind",
            "source",
            "created_at",
        ]
        read_only_fields = fields

    def get_source(self, zone) -> dict:
        return redact_paths(zone.source)


class ZoneDrawSerializer(StrictFieldsMixin, serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    geometry = serializers.JSONField()
    hazard_class = serializers.SlugField()
    name = serializers.CharField(required=False, allow_blank=True, default="")


class ZoneReviseSerializer(StrictFieldsMixin, serializers.Serializer):
    geometry = serializers.JSONField(required=False)
    hazard_class = serializers.SlugField(required=False)
    name = serializers.CharField(required=False, allow_blank=True)


class ZoneCircleSerializer(StrictFieldsMixin, serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    center = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)
    radius_m = serializers.FloatField(min_value=1)
    hazard_class = serializers.SlugField()
    name = serializers.CharField(required=False, allow_blank=True, default="")


class BandSerializer(serializers.Serializer):
    inner_m = serializers.FloatField(min_value=0)
    outer_m = serializers.FloatField(min_value=1)
    hazard_class = serializers.SlugField()


class ZoneBufferSerializer(StrictFieldsMixin, serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    geometry = serializers.JSONField()
    bands = BandSerializer(many=True, allow_empty=False)
    name = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_bands(self, value):
        try:
            validate_bands([(b["inner_m"], b["outer_m"], b["hazard_class"]) for b in value])
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None
        return value


class ZoneFromRasterSerializer(StrictFieldsMixin, serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    raster_layer = serializers.IntegerField()
    band = serializers.IntegerField(min_value=1, default=1)
    simplify = serializers.FloatField(min_value=0, required=False, allow_null=True, default=None)
    name = serializers.CharField(required=False, allow_blank=True, default="")


class ZoneFromLayerSerializer(StrictFieldsMixin, serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    vector_layer = serializers.IntegerField()
    where = serializers.DictField(child=serializers.CharField(), required=False, default=dict)
    class_attribute = serializers.CharField(required=False, allow_null=True, default=None)
    class_map = serializers.DictField(child=serializers.SlugField(), required=False, default=dict)
    hazard_class = serializers.SlugField(required=False, allow_null=True, default=None)
    name = serializers.CharField(required=False, allow_blank=True, default="")


class ExposureRunSerializer(RedactedPathsMixin, serializers.ModelSerializer):
    zones = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = ExposureRun
        fields = ["id", "incident", "zones", *JOB_FIELDS]
        read_only_fields = fields


class ExposureRunCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all())
    zones = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    raster_layer = serializers.IntegerField(required=False, allow_null=True, default=None)
    raster_band = serializers.IntegerField(min_value=1, default=1)


class ExposureResultSerializer(serializers.ModelSerializer):
    hazard_class = serializers.CharField(source="hazard_class.key", read_only=True)
    area_code = serializers.CharField(source="area.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ExposureResult
        fields = [
            "household",
            "zone",
            "hazard_class",
            "class_rank",
            "area",
            "area_code",
            "raster_value",
            "distance_m",
            "approximate",
            "reason",
        ]
        read_only_fields = fields


class NeedsProfileSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = NeedsProfile
        fields = ["id", "name", "items", "days", "is_default"]

    def validate_items(self, value):
        if not isinstance(value, list) or not value:
            raise serializers.ValidationError("Give a list of items.")
        for position, item in enumerate(value, start=1):
            if not isinstance(item, dict) or not {"item", "unit", "per_person_per_day"} <= set(item):
                raise serializers.ValidationError(f"item {position}: needs item, unit and per_person_per_day.")
            try:
                if float(item["per_person_per_day"]) < 0:
                    raise ValueError
            except (TypeError, ValueError):
                raise serializers.ValidationError(
                    f"item {position}: per_person_per_day must be a number ≥ 0."
                ) from None
        return value


class IncidentFromCapSerializer(StrictFieldsMixin, serializers.Serializer):
    alert = serializers.IntegerField()
    hazard_type = serializers.ChoiceField(choices=Incident._meta.get_field("hazard_type").choices, default="other")
    hazard_class = serializers.SlugField(default="high")
