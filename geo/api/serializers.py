from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from geo.models import Area, AreaImport
from geo.services import PARENT_MATCH_CHOICES
from spmis.api.serializers import JOB_FIELDS, RedactedPathsMixin, UploadField
from spmis.core.models import AuditEvent


class AreaSerializer(GeoFeatureModelSerializer):
    parent_code = serializers.CharField(source="parent.code", read_only=True, allow_null=True, default=None)
    # The geometry served is the (optionally simplified) annotation made by geo.selectors.area_list.
    geom = GeometryField(source="geometry", read_only=True)

    class Meta:
        model = Area
        geo_field = "geom"
        fields = ["id", "code", "name", "level", "parent", "parent_code", "area_km2", "population", "lineage"]
        read_only_fields = fields


class AreaImportCreateSerializer(serializers.Serializer):
    file = UploadField()
    level = serializers.IntegerField(min_value=0)
    code_field = serializers.CharField(default="code")
    name_field = serializers.CharField(default="name")
    parent_match = serializers.ChoiceField(choices=PARENT_MATCH_CHOICES, default="none")
    parent_code_field = serializers.CharField(required=False, allow_null=True, default=None)
    population_field = serializers.CharField(required=False, allow_null=True, default=None)
    layer = serializers.CharField(required=False, allow_null=True, default=None)
    assume_crs = serializers.IntegerField(required=False, allow_null=True, default=None)


class AreaImportSerializer(RedactedPathsMixin, serializers.ModelSerializer):
    class Meta:
        model = AreaImport
        fields = ["id", "original_name", *JOB_FIELDS]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    values_withheld = serializers.SerializerMethodField(help_text="before/after hold personal data you may not see")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor",
            "source",
            "table_name",
            "row_id",
            "action",
            "before",
            "after",
            "values_withheld",
            "transaction_id",
        ]
        read_only_fields = fields

    def get_values_withheld(self, event) -> bool:
        return event.table_name in self.context.get("withheld_tables", ())

    def to_representation(self, event):
        data = super().to_representation(event)
        if data["values_withheld"]:
            data["before"] = data["after"] = None
        return data
