from decimal import Decimal

from rest_framework import serializers

from distribution.plans.models import DistributionPlan, PlanAssignment, PlanItem, PlanPoint, PlanTransport
from spmis.api.serializers import JOB_FIELDS, StrictFieldsMixin


class PlanCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    cycle = serializers.IntegerField(min_value=1)
    exposure_run = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    network = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    days = serializers.IntegerField(min_value=1, max_value=90, default=1)
    truck_capacity_kg = serializers.DecimalField(
        max_digits=10, decimal_places=1, min_value=Decimal("100"), max_value=Decimal("60000"), default=Decimal(10000)
    )
    max_snap_m = serializers.IntegerField(min_value=10, max_value=20000, default=1000)


class PlanSerializer(serializers.ModelSerializer):
    network_code = serializers.CharField(source="network.code", read_only=True)

    class Meta:
        model = DistributionPlan
        fields = [
            "id", "cycle", "exposure_run", "network", "network_code", "previous", "days", "truck_capacity_kg",
            "max_snap_m", *JOB_FIELDS,
        ]  # fmt: skip
        read_only_fields = fields


class AssignmentSerializer(serializers.ModelSerializer):
    """One household of a plan without personal data: the household id, its area, its point and travel time."""

    point_code = serializers.CharField(source="point.code", read_only=True, allow_null=True, default=None)
    area_code = serializers.CharField(source="area.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = PlanAssignment
        fields = ["household", "entitlement", "area_code", "point", "point_code", "travel_s", "reason"]
        read_only_fields = fields


class PersonalAssignmentSerializer(AssignmentSerializer):
    """With registry.view_personal_data: the household's exact place and how far it is from the road."""

    location = serializers.SerializerMethodField()

    class Meta(AssignmentSerializer.Meta):
        fields = [*AssignmentSerializer.Meta.fields, "snap_m", "location"]
        read_only_fields = fields

    def get_location(self, row) -> list[float] | None:
        location = self.context["locations"].get(row.household_id)
        return [round(location.x, 6), round(location.y, 6)] if location else None


class PlanPointSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="point.code", read_only=True)
    name = serializers.CharField(source="point.name", read_only=True)
    area_code = serializers.CharField(source="area.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = PlanPoint
        fields = [
            "point", "code", "name", "area_code", "usable", "reason", "capacity", "households", "people",
            "mean_travel_s", "max_travel_s",
        ]  # fmt: skip
        read_only_fields = fields


class PlanItemSerializer(serializers.ModelSerializer):
    point_code = serializers.CharField(source="point.code", read_only=True)

    class Meta:
        model = PlanItem
        fields = [
            "point", "point_code", "item", "unit", "quantity", "on_hand", "from_warehouses", "shortfall", "weight_kg",
        ]  # fmt: skip
        read_only_fields = fields


class PlanTransportSerializer(serializers.ModelSerializer):
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    point_code = serializers.CharField(source="point.code", read_only=True)

    class Meta:
        model = PlanTransport
        fields = ["warehouse", "warehouse_code", "point", "point_code", "travel_s", "weight_kg", "trucks", "items"]
        read_only_fields = fields
