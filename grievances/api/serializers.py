from django.utils import timezone
from rest_framework import serializers

from grievances.models import Category, Message, Team, Ticket, TicketEvent
from grievances.selectors import CONTACT_FIELDS, contact_allowed
from grievances.sla import ticket_clocks
from spmis.api.serializers import StrictFieldsMixin


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent.code", read_only=True, default=None)

    class Meta:
        model = Category
        fields = ["id", "code", "name", "parent", "default_severity", "ack_sla_hours", "resolve_sla_hours", "sensitive"]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    areas = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    members = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "areas", "handles_sensitive", "members"]
        read_only_fields = fields


class TicketEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, default=None)

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "from_status", "to_status", "actor", "note", "data", "at"]
        read_only_fields = fields


class TicketSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.code", read_only=True)
    area = serializers.CharField(source="area.code", read_only=True, default=None)
    team = serializers.CharField(source="team.name", read_only=True, default=None)
    clocks = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "channel",
            "category",
            "severity",
            "sensitive",
            "description",
            "area",
            "distribution_point",
            "team",
            "status",
            "anonymous",
            *CONTACT_FIELDS,
            "language",
            "household",
            "entitlement",
            "payment",
            "redemption",
            "created_at",
            "ack_due_at",
            "resolve_due_at",
            "acknowledged_at",
            "resolved_at",
            "closed_at",
            "escalated_at",
            "outcome",
            "decision_reason",
            "decided_by",
            "decided_at",
            "appeal_reason",
            "appealed_at",
            "appeal_outcome",
            "appeal_decision_reason",
            "appeal_decided_by",
            "appeal_decided_at",
            "clocks",
        ]
        read_only_fields = fields

    def get_clocks(self, ticket: Ticket) -> dict:
        return ticket_clocks(ticket, now=timezone.now())

    def _contact_allowed(self) -> bool:
        request = self.context.get("request")
        return request is not None and contact_allowed(request.user)

    def get_fields(self):
        fields = super().get_fields()
        if not self._contact_allowed():
            # Personal data is never read for a user without the permission (the selector defers it, too).
            for name in CONTACT_FIELDS:
                fields.pop(name, None)
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in CONTACT_FIELDS:
            # The keys stay, so a client sees that contact is withheld rather than missing.
            data.setdefault(name, None)
        return data


class TicketDetailSerializer(TicketSerializer):
    events = TicketEventSerializer(many=True, read_only=True)

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "events"]
        read_only_fields = fields


class TicketCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """An officer logs a ticket: from the API, the call centre (channel call_centre) or a walk-in at a distribution
    point (channel walk_in with distribution_point)."""

    channel = serializers.CharField(required=False, default="api")
    category = serializers.CharField(max_length=40)
    description = serializers.CharField(max_length=5000)
    severity = serializers.CharField(required=False, allow_blank=True)
    area = serializers.CharField(required=False, allow_blank=True, max_length=64, help_text="Area code")
    distribution_point = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    household = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    entitlement = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    payment = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    redemption = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    anonymous = serializers.BooleanField(required=False, default=False)
    complainant_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    complainant_phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    complainant_email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    language = serializers.CharField(required=False, default="en")


class PublicComplaintSerializer(StrictFieldsMixin, serializers.Serializer):
    category = serializers.CharField(max_length=40)
    description = serializers.CharField(max_length=5000)
    area = serializers.CharField(required=False, allow_blank=True, max_length=64)
    anonymous = serializers.BooleanField(required=False, default=False)
    complainant_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    complainant_phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    complainant_email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    language = serializers.CharField(required=False, default="en")


class PublicStatusSerializer(StrictFieldsMixin, serializers.Serializer):
    reference = serializers.CharField(max_length=32)
    code = serializers.CharField(max_length=32)


class DecisionSerializer(StrictFieldsMixin, serializers.Serializer):
    outcome = serializers.CharField(max_length=16)
    reason = serializers.CharField(max_length=5000)


class ReasonSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class NoteSerializer(StrictFieldsMixin, serializers.Serializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class ChangeRequestActionSerializer(StrictFieldsMixin, serializers.Serializer):
    kind = serializers.CharField(max_length=16)
    payload = serializers.JSONField()
    individual = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class MessageSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="ticket.reference", read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "reference",
            "kind",
            "medium",
            "recipient",
            "language",
            "subject",
            "body",
            "status",
            "created_at",
        ]
        read_only_fields = fields


class MessageSentSerializer(StrictFieldsMixin, serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=1000)
