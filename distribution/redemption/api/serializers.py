from rest_framework import serializers

from distribution.redemption.models import Device, Redemption, RedemptionBatch, RedemptionConflict, RedemptionLine
from spmis.api.serializers import StrictFieldsMixin


class ItemInputSerializer(StrictFieldsMixin, serializers.Serializer):
    item = serializers.CharField(max_length=64)
    quantity = serializers.CharField(max_length=32, help_text="A positive number, as text or number")
    unit = serializers.CharField(max_length=16, required=False)


class RedeemSerializer(StrictFieldsMixin, serializers.Serializer):
    """Scan: `voucher`. Registry search: `entitlement` (its code) and `id_number` of a document a member shows.
    Without `items` (in kind) or `amount` (cash) everything that remains is handed over."""

    point = serializers.IntegerField(min_value=1)
    voucher = serializers.CharField(required=False, allow_blank=True, max_length=200)
    entitlement = serializers.CharField(required=False, allow_blank=True, max_length=32)
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=64)
    items = serializers.JSONField(required=False, help_text="[{item, quantity, unit}]")
    amount = serializers.CharField(required=False, allow_blank=True, max_length=32)
    client_uuid = serializers.UUIDField(required=False, help_text="Idempotency key made by the screen")


class CorrectSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class ResolveSerializer(StrictFieldsMixin, serializers.Serializer):
    resolution = serializers.CharField(max_length=2000)


class DeviceRegisterSerializer(StrictFieldsMixin, serializers.Serializer):
    point = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=200)
    public_key = serializers.CharField(max_length=100, help_text="Raw Ed25519 public key, base64 or base64url")
    key_id = serializers.CharField(max_length=64, required=False, allow_blank=True)


class BatchUploadSerializer(StrictFieldsMixin, serializers.Serializer):
    """`payload` is the JSON text the device signed ({device, batch, records: [...]}), `signature` its Ed25519
    signature over that text's UTF-8 bytes (base64url)."""

    device = serializers.CharField(max_length=64)
    payload = serializers.CharField(max_length=5_000_000, trim_whitespace=False)
    signature = serializers.CharField(max_length=100)


class RedemptionLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = RedemptionLine
        fields = ["item", "quantity", "unit", "base_quantity", "remaining_after", "stock_movements"]
        read_only_fields = fields


class RedemptionSerializer(serializers.ModelSerializer):
    entitlement_code = serializers.CharField(source="entitlement.code", read_only=True)
    household = serializers.CharField(source="household.registrant_id", read_only=True)
    point_code = serializers.CharField(source="point.code", read_only=True)
    device_key = serializers.CharField(source="device.key_id", read_only=True, default=None)
    operator_name = serializers.SerializerMethodField()
    reverses_code = serializers.CharField(source="reverses.code", read_only=True, default=None)
    lines = RedemptionLineSerializer(many=True, read_only=True)

    class Meta:
        model = Redemption
        fields = [
            "id", "code", "kind", "method", "entitlement", "entitlement_code", "household", "point", "point_code",
            "device", "device_key", "batch", "operator_name", "reverses", "reverses_code", "reason", "client_uuid",
            "occurred_at", "created_at", "lines",
        ]  # fmt: skip
        read_only_fields = fields

    def get_operator_name(self, obj) -> str:
        return obj.operator_label or (obj.operator.get_username() if obj.operator else "")


class DeviceSerializer(serializers.ModelSerializer):
    point_code = serializers.CharField(source="point.code", read_only=True)

    class Meta:
        model = Device
        fields = ["id", "key_id", "name", "point", "point_code", "is_active", "created_at", "revoked_at"]
        read_only_fields = fields


class RedemptionBatchSerializer(serializers.ModelSerializer):
    device_key = serializers.CharField(source="device.key_id", read_only=True)

    class Meta:
        model = RedemptionBatch
        fields = [
            "id", "batch_uuid", "device", "device_key", "received_at", "finished_at", "records", "redeemed",
            "duplicates", "conflicts", "result",
        ]  # fmt: skip
        read_only_fields = fields


class RedemptionConflictSerializer(serializers.ModelSerializer):
    device_key = serializers.CharField(source="device.key_id", read_only=True)
    point_code = serializers.CharField(source="point.code", read_only=True)
    entitlement_code = serializers.CharField(source="entitlement.code", read_only=True, default=None)
    first_redemption_code = serializers.CharField(source="first_redemption.code", read_only=True, default=None)

    class Meta:
        model = RedemptionConflict
        fields = [
            "id", "device", "device_key", "batch", "point", "point_code", "client_uuid", "entitlement",
            "entitlement_code", "reason", "message", "first_redemption", "first_redemption_code", "occurred_at",
            "status", "resolution", "resolved_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields
