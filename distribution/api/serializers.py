from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from distribution.models import DistributionPoint, FacilityExposure, Warehouse
from geo.spatial import geometry_from_client
from spmis.api.serializers import StrictFieldsMixin


class PointField(serializers.Field):
    """A GeoJSON Point in EPSG:4326, validated by geo.spatial (clear errors for bad GeoJSON, CRS or coordinates)."""

    def to_internal_value(self, data):
        from django.core.exceptions import ValidationError

        try:
            return geometry_from_client(data, field=self.field_name, allowed=("Point",))
        except ValidationError as error:
            raise serializers.ValidationError(error.message_dict[self.field_name]) from None

    def to_representation(self, value):
        import json

        return json.loads(value.geojson) if value else None


class WarehouseSerializer(StrictFieldsMixin, GeoFeatureModelSerializer):
    location = PointField()
    area_code = serializers.CharField(source="area.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Warehouse
        geo_field = "location"
        fields = ["id", "code", "name", "capacity_tonnes", "area", "area_code", "created_at", "updated_at"]
        read_only_fields = ["id", "area", "area_code", "created_at", "updated_at"]


class DistributionPointSerializer(StrictFieldsMixin, GeoFeatureModelSerializer):
    location = PointField()
    area_code = serializers.CharField(source="area.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = DistributionPoint
        geo_field = "location"
        fields = ["id", "code", "name", "kind", "area", "area_code", "created_at", "updated_at"]
        read_only_fields = ["id", "area", "area_code", "created_at", "updated_at"]


class FacilityExposureSerializer(serializers.ModelSerializer):
    """A warehouse or distribution point flagged unusable by an exposure run."""

    kind = serializers.CharField(read_only=True)
    facility_id = serializers.IntegerField(source="facility.id", read_only=True)
    code = serializers.CharField(source="facility.code", read_only=True)
    name = serializers.CharField(source="facility.name", read_only=True)
    area_code = serializers.CharField(source="area.code", read_only=True, allow_null=True, default=None)
    zone_name = serializers.CharField(source="zone.name", read_only=True)
    class_key = serializers.CharField(source="hazard_class.key", read_only=True)

    class Meta:
        model = FacilityExposure
        fields = [
            "id", "run", "kind", "facility_id", "code", "name", "warehouse", "distribution_point", "area_code",
            "zone", "zone_name", "hazard_class", "class_key", "reason",
        ]  # fmt: skip
        read_only_fields = fields
