from rest_framework import serializers

from distribution.stock.models import StockBalance, StockDocument, StockItem, StockLot, StockMovement, StockUnit
from spmis.api.serializers import StrictFieldsMixin


class StockUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockUnit
        fields = ["code", "name", "factor", "is_pack"]


class StockItemSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    units = StockUnitSerializer(many=True, required=False)

    class Meta:
        model = StockItem
        fields = [
            "id",
            "code",
            "name",
            "category",
            "base_unit",
            "weight_kg",
            "volume_m3",
            "kcal",
            "minimum_stock",
            "near_expiry_days",
            "tracks_lots",
            "active",
            "units",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class StockLotSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.code", read_only=True)

    class Meta:
        model = StockLot
        fields = ["id", "item", "code", "expires_on", "created_at"]


def _location(row) -> dict:
    place = row.warehouse or row.point
    return {
        "location_kind": "warehouse" if row.warehouse_id else "point",
        "location_id": place.pk,
        "location_code": place.code,
        "location_name": place.name,
    }


class StockBalanceSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.code")
    item_name = serializers.CharField(source="item.name")
    base_unit = serializers.CharField(source="item.base_unit")
    lot = serializers.CharField(source="lot.code", default=None)
    expires_on = serializers.DateField(source="lot.expires_on", default=None)
    expired = serializers.SerializerMethodField()

    class Meta:
        model = StockBalance
        fields = [
            "id",
            "warehouse",
            "point",
            "item",
            "item_name",
            "base_unit",
            "lot",
            "expires_on",
            "expired",
            "on_hand",
            "updated_at",
        ]

    def get_expired(self, row) -> bool:
        today = self.context["today"]
        return bool(row.lot_id and row.lot.expires_on and row.lot.expires_on < today)

    def to_representation(self, row):
        return {**super().to_representation(row), **_location(row)}


class StockMovementSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.code")
    lot = serializers.CharField(source="lot.code", default=None)
    document_number = serializers.CharField(source="document.number", default=None)

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "kind",
            "document",
            "document_number",
            "warehouse",
            "point",
            "item",
            "lot",
            "quantity",
            "reference",
            "reason",
            "reverses",
            "occurred_on",
            "recorded_at",
        ]

    def to_representation(self, row):
        return {**super().to_representation(row), **_location(row)}


class StockDocumentSerializer(serializers.ModelSerializer):
    source_code = serializers.CharField(source="source_warehouse.code", default=None)
    destination_code = serializers.SerializerMethodField()
    reverses_number = serializers.CharField(source="reverses.number", default=None)
    created_by = serializers.CharField(source="created_by.username", default=None)
    lines = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = StockDocument
        fields = [
            "id",
            "kind",
            "number",
            "source_warehouse",
            "source_code",
            "destination_warehouse",
            "point",
            "destination_code",
            "supplier",
            "reference",
            "vehicle",
            "driver",
            "reason",
            "reverses",
            "reverses_number",
            "occurred_on",
            "recorded_at",
            "created_by",
            "lines",
            "pdf_url",
        ]

    def get_destination_code(self, document) -> str | None:
        place = document.destination_warehouse or document.point
        return place.code if place else None

    def get_lines(self, document) -> list[dict]:
        return [
            {
                "line": line.line,
                "item": line.item.code,
                "lot": line.lot.code if line.lot else None,
                "unit": line.unit,
                "quantity": str(line.quantity),
                "shortage": str(line.shortage),
                "damaged": str(line.damaged),
                "base_quantity": str(line.base_quantity),
            }
            for line in document.lines.all()
        ]

    def get_pdf_url(self, document) -> str:
        return f"/api/v1/distribution/stock/documents/{document.pk}/pdf/"


class LineSerializer(StrictFieldsMixin, serializers.Serializer):
    item = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0)
    unit = serializers.CharField(required=False, allow_blank=True)
    lot = serializers.CharField(required=False, allow_blank=True, max_length=64)
    expires_on = serializers.DateField(required=False, allow_null=True)
    shortage = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    damaged = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)


class _Document(StrictFieldsMixin, serializers.Serializer):
    reference = serializers.CharField(required=False, allow_blank=True, max_length=100)
    occurred_on = serializers.DateField(required=False, allow_null=True)
    lines = LineSerializer(many=True, allow_empty=False, max_length=500)


class ReceiptSerializer(_Document):
    warehouse = serializers.IntegerField(min_value=1)
    supplier = serializers.CharField(required=False, allow_blank=True, max_length=200)


class TransferSerializer(_Document):
    source = serializers.IntegerField(min_value=1)
    destination = serializers.IntegerField(min_value=1)
    vehicle = serializers.CharField(required=False, allow_blank=True, max_length=100)
    driver = serializers.CharField(required=False, allow_blank=True, max_length=100)


class DispatchSerializer(_Document):
    warehouse = serializers.IntegerField(min_value=1)
    point = serializers.IntegerField(min_value=1)
    vehicle = serializers.CharField(required=False, allow_blank=True, max_length=100)
    driver = serializers.CharField(required=False, allow_blank=True, max_length=100)


class _OneItem(StrictFieldsMixin, serializers.Serializer):
    warehouse = serializers.IntegerField(min_value=1, required=False)
    point = serializers.IntegerField(min_value=1, required=False)
    item = serializers.CharField()
    unit = serializers.CharField(required=False, allow_blank=True)
    lot = serializers.CharField(required=False, allow_blank=True, max_length=64)
    occurred_on = serializers.DateField(required=False, allow_null=True)


class LossSerializer(_OneItem):
    quantity = serializers.DecimalField(max_digits=18, decimal_places=3)
    reason = serializers.CharField(max_length=255)


class CountSerializer(_OneItem):
    counted = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=0)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255)


class ReverseSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=255)
