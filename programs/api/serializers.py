from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from geo.models import Area
from programs.models import (
    Cycle,
    EnrolmentRun,
    Entitlement,
    EntitlementRun,
    Notice,
    Program,
    ProgramMembership,
    Trigger,
)
from programs.money import round_amount
from response.models import ExposureRun, Incident


@extend_schema_field(OpenApiTypes.DECIMAL)
class MoneyField(serializers.Field):
    """An amount as a decimal string with the currency's minor unit ("8000.00" BDT, "8000" JPY): the database keeps
    three decimals for every currency, the API shows what the currency has. `currency` is the dotted path to the
    currency code on the instance."""

    def __init__(self, *, currency: str, **kwargs):
        self.currency_path = currency
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        currency = instance
        for part in self.currency_path.split("."):
            currency = getattr(currency, part, None)
        return value, currency

    def to_representation(self, pair) -> str | None:
        value, currency = pair
        if value is None:
            return None
        value = Decimal(value)
        return str(round_amount(value, currency)) if currency else str(value.normalize())


JOB_FIELDS = ["id", "status", "progress", "message", "result", "error", "created_at", "started_at", "finished_at"]


class ProgramSerializer(serializers.ModelSerializer):
    areas = serializers.SlugRelatedField(slug_field="code", many=True, queryset=Area.objects.all(), required=False)
    incidents = serializers.PrimaryKeyRelatedField(many=True, queryset=Incident.objects.all(), required=False)
    budget = serializers.DecimalField(max_digits=18, decimal_places=3, required=False, allow_null=True, min_value=0)
    currency = serializers.CharField(max_length=3, required=False)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Program
        fields = [
            "id",
            "code",
            "name",
            "description",
            "kind",
            "target",
            "currency",
            "budget",
            "funding_source",
            "status",
            "areas",
            "incidents",
            "eligibility_rule",
            "duplicate_policy",
            "counts",
            "created_at",
        ]
        read_only_fields = ["code", "created_at"]
        # Uniqueness is the service's to check, with a sentence instead of DRF's generic one.
        extra_kwargs = {"name": {"validators": []}}

    def get_counts(self, program) -> dict:
        return {state: getattr(program, state, None) for state in ("enrolled", "paused", "exited")}


class JobSerializerBase(serializers.ModelSerializer):
    class Meta:
        fields = JOB_FIELDS
        read_only_fields = JOB_FIELDS


class EnrolmentRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = EnrolmentRun
        fields = [*JOB_FIELDS, "program", "action", "rule", "reason"]
        read_only_fields = fields


class EntitlementRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = EntitlementRun
        fields = [*JOB_FIELDS, "cycle"]
        read_only_fields = fields


class EnrolSerializer(serializers.Serializer):
    rule = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255)


class MembershipChangeSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["pause", "resume", "exit"])
    households = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=100000)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class MembershipSerializer(serializers.ModelSerializer):
    registrant_id = serializers.CharField(source="household.registrant_id", read_only=True)

    class Meta:
        model = ProgramMembership
        fields = ["household", "registrant_id", "state", "reason", "enrolled_on", "state_changed_at"]
        read_only_fields = fields


class CycleSerializer(serializers.ModelSerializer):
    program_code = serializers.CharField(source="program.code", read_only=True)
    currency = serializers.CharField(source="program.currency", read_only=True)
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.all(), required=False, allow_null=True)
    exposure_run = serializers.PrimaryKeyRelatedField(
        queryset=ExposureRun.objects.all(), required=False, allow_null=True
    )
    formula = serializers.JSONField(required=False)
    planned_amount = MoneyField(currency="program.currency")
    latest_run = serializers.SerializerMethodField()

    class Meta:
        model = Cycle
        fields = [
            "id",
            "program",
            "program_code",
            "currency",
            "sequence",
            "name",
            "kind",
            "population",
            "starts_on",
            "ends_on",
            "state",
            "incident",
            "exposure_run",
            "supplements",
            "rule",
            "formula",
            "planned_count",
            "planned_people",
            "planned_amount",
            "flagged_count",
            "generated_at",
            "submitted_by",
            "submitted_at",
            "approved_by",
            "approved_at",
            "cancel_reason",
            "latest_run",
            "created_at",
        ]
        read_only_fields = [
            "sequence",
            "state",
            "supplements",
            "planned_count",
            "planned_people",
            "planned_amount",
            "flagged_count",
            "generated_at",
            "submitted_at",
            "approved_at",
            "cancel_reason",
            "created_at",
        ]
        extra_kwargs = {"name": {"required": False}}

    def get_latest_run(self, cycle) -> dict | None:
        run = cycle.runs.order_by("-created_at", "-id").first()
        return EntitlementRunSerializer(run).data if run else None

    def validate_formula(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("The formula is an object (see docs/programs.md).")
        return value


class CycleAdvanceSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["distributed", "ended"])


class CycleCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class EntitlementSerializer(serializers.ModelSerializer):
    registrant_id = serializers.CharField(source="household.registrant_id", read_only=True)
    amount = MoneyField(currency="currency")
    fee = MoneyField(currency="program.currency")
    items = serializers.SerializerMethodField()

    class Meta:
        model = Entitlement
        fields = [
            "code",
            "household",
            "registrant_id",
            "kind",
            "amount",
            "fee",
            "currency",
            "hazard_rank",
            "people",
            "flagged",
            "flag_reason",
            "valid_from",
            "valid_until",
            "status",
            "items",
        ]
        read_only_fields = fields

    def get_items(self, entitlement) -> list[dict]:
        return [
            {"item": item.item, "quantity": str(item.quantity), "unit": item.unit} for item in entitlement.items.all()
        ]


class RuleSerializer(serializers.Serializer):
    rule = serializers.CharField(allow_blank=True, max_length=10000, trim_whitespace=False)
    exposure_run = serializers.PrimaryKeyRelatedField(
        queryset=ExposureRun.objects.all(), required=False, allow_null=True
    )
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all(), required=False, allow_null=True)


class RuleExplainSerializer(serializers.Serializer):
    rule = serializers.CharField(allow_blank=True, max_length=10000, trim_whitespace=False)
    household = serializers.IntegerField(min_value=1)
    exposure_run = serializers.PrimaryKeyRelatedField(
        queryset=ExposureRun.objects.all(), required=False, allow_null=True
    )


class TopUpSerializer(serializers.Serializer):
    exposure_run = serializers.PrimaryKeyRelatedField(queryset=ExposureRun.objects.all())
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all(), required=False, allow_null=True)
    vertical = serializers.BooleanField(default=True)
    horizontal = serializers.BooleanField(default=False)
    emergency_program = serializers.PrimaryKeyRelatedField(
        queryset=Program.objects.all(), required=False, allow_null=True
    )
    new_program_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    amounts_by_class = serializers.DictField(child=serializers.CharField(max_length=32), required=False, default=dict)
    base_amount = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=32)
    in_kind = serializers.ListField(child=serializers.DictField(), required=False, allow_empty=True, max_length=50)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    preview_only = serializers.BooleanField(default=False)


class ScenarioInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    rule = serializers.CharField(allow_blank=True, max_length=10000)
    formula = serializers.DictField(required=False, default=dict)
    budget = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=32)


class SimulationInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    exposure_run = serializers.PrimaryKeyRelatedField(
        queryset=ExposureRun.objects.all(), required=False, allow_null=True
    )
    currency = serializers.CharField(max_length=3, required=False)
    scenarios = ScenarioInputSerializer(many=True)


class PromoteSerializer(serializers.Serializer):
    program_name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Program.Kind.choices, default=Program.Kind.REGULAR)


class TriggerSerializer(serializers.ModelSerializer):
    conditions = serializers.JSONField()
    formula = serializers.JSONField()

    class Meta:
        model = Trigger
        fields = [
            "id",
            "program",
            "name",
            "kind",
            "conditions",
            "rule",
            "formula",
            "valid_days",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class NoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notice
        fields = ["id", "subject", "body", "cycle", "created_at", "read_at"]
        read_only_fields = fields
