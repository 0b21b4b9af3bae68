from rest_framework import serializers

from layers.models import CapAlert, LayerImport, LayerKind, RasterLayer, VectorLayer
from spmis.api.serializers import JOB_FIELDS, RedactedPathsMixin, StrictFieldsMixin, UploadField


class VectorLayerSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True, allow_null=True, default=None)
    cap_alert = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = VectorLayer
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "source_type",
            "source",
            "licence",
            "observed_at",
            "source_crs",
            "original_name",
            "source_layer",
            "feature_count",
            "bbox",
            "geometry_type",
            "fields",
            "style",
            "status",
            "activation_code",
            "product_version",
            "metadata",
            "cap_alert",
            "uploaded_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class VectorLayerUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(max_length=255, required=False, allow_blank=True)
    licence = serializers.CharField(max_length=255, required=False, allow_blank=True)
    observed_at = serializers.DateTimeField(required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=LayerKind.choices, required=False)
    status = serializers.ChoiceField(choices=VectorLayer.Status.choices, required=False)
    style = serializers.JSONField(required=False)


class RasterLayerSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = RasterLayer
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "source",
            "licence",
            "observed_at",
            "original_name",
            "crs",
            "width",
            "height",
            "bounds",
            "resolution",
            "band_count",
            "dtype",
            "nodata",
            "unit",
            "bands",
            "statistics",
            "histogram",
            "style",
            "status",
            "uploaded_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RasterLayerUpdateSerializer(VectorLayerUpdateSerializer):
    unit = serializers.CharField(max_length=64, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=RasterLayer.Status.choices, required=False)


class LayerImportCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=LayerImport.Kind.choices)
    file = UploadField(required=False)
    url = serializers.URLField(required=False, allow_null=True, default=None, help_text="CAP alerts only")
    name = serializers.CharField(max_length=200, required=False, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    source = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    licence = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    observed_at = serializers.CharField(required=False, allow_null=True, default=None)
    layer_kind = serializers.ChoiceField(choices=LayerKind.choices, default=LayerKind.CONTEXT)
    layer = serializers.CharField(required=False, allow_null=True, default=None, help_text="Layer inside the file")
    assume_crs = serializers.IntegerField(required=False, allow_null=True, default=None)
    x_field = serializers.CharField(required=False, allow_null=True, default=None)
    y_field = serializers.CharField(required=False, allow_null=True, default=None)
    wkt_field = serializers.CharField(required=False, allow_null=True, default=None)
    unit = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    nodata = serializers.FloatField(required=False, allow_null=True, default=None)
    style = serializers.JSONField(required=False, default=dict, binary=True)


class LayerImportSerializer(RedactedPathsMixin, serializers.ModelSerializer):
    class Meta:
        model = LayerImport
        fields = ["id", "kind", "original_name", "vector_layer", "raster_layer", *JOB_FIELDS]
        read_only_fields = fields


class CapAlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = CapAlert
        fields = [
            "id",
            "identifier",
            "sender",
            "sent",
            "cap_status",
            "msg_type",
            "scope",
            "references",
            "event",
            "headline",
            "description",
            "severity",
            "urgency",
            "certainty",
            "onset",
            "expires",
            "status",
            "closed_reason",
            "version",
            "previous",
            "layer",
            "created_at",
        ]
        read_only_fields = fields
