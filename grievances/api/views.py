"""Thin views over grievances.services and selectors."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from grievances import outbox, selectors, services
from grievances.api.serializers import (
    AssignSerializer,
    CategorySerializer,
    ChangeRequestActionSerializer,
    DecisionSerializer,
    MessageSentSerializer,
    MessageSerializer,
    NoteSerializer,
    PublicComplaintSerializer,
    PublicStatusSerializer,
    ReasonSerializer,
    TeamSerializer,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketEventSerializer,
    TicketSerializer,
)
from grievances.models import Category, Message, Team, Ticket


class CategoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Complaint categories with their SLA hours and whether they are sensitive."""

    queryset = Category.objects.none()
    serializer_class = CategorySerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.category_list()


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Grievance teams, the areas they serve and their members (kept in the admin)."""

    queryset = Team.objects.none()
    serializer_class = TeamSerializer

    def get_queryset(self):
        return selectors.team_list(user=self.request.user)


class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tickets in the user's areas (sensitive ones only for their team). POST logs a ticket (API, call centre,
    walk-in at a distribution point); the actions move it along received → acknowledged → in progress → resolved →
    closed, with appeals."""

    queryset = Ticket.objects.none()
    serializer_class = TicketSerializer
    filterset_fields = ["status", "channel", "category__code", "severity", "area__code"]

    def get_queryset(self):
        queryset = selectors.ticket_list(user=self.request.user)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("events__actor")
        return queryset

    def get_serializer_class(self):
        return TicketDetailSerializer if self.action == "retrieve" else TicketSerializer

    @property
    def required_permissions(self) -> list[str] | None:
        if self.action in ("acknowledge", "start", "decide", "appeal", "decide_appeal", "close", "note", "assign"):
            return ["grievances.view_ticket", "grievances.change_ticket"]
        if self.action in ("change_request", "correct_redemption", "reissue_payment"):
            return ["grievances.view_ticket", "grievances.change_ticket"]
        if self.action == "events":
            return ["grievances.view_ticket"]
        return None

    def _detail(self, ticket: Ticket, code=status.HTTP_200_OK) -> Response:
        fresh = selectors.ticket_list(user=self.request.user).prefetch_related("events__actor").filter(pk=ticket.pk)
        fresh = fresh.first()
        if fresh is None:
            # Handed to a sensitive team the user is not in: say where it went, show nothing more.
            team = ticket.team.name if ticket.team_id else None
            return Response({"id": ticket.pk, "reference": ticket.reference, "team": team}, status=code)
        return Response(TicketDetailSerializer(fresh, context={"request": self.request}).data, status=code)

    @extend_schema(request=TicketCreateSerializer, responses={201: TicketDetailSerializer})
    def create(self, request):
        payload = TicketCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        created = services.ticket_create(
            user=request.user,
            channel=data["channel"],
            category=data["category"],
            description=data["description"],
            severity=data.get("severity") or None,
            area_code=data.get("area") or None,
            distribution_point_id=data.get("distribution_point"),
            household_id=data.get("household"),
            entitlement_id=data.get("entitlement"),
            payment_id=data.get("payment"),
            redemption_id=data.get("redemption"),
            anonymous=data["anonymous"],
            complainant_name=data.get("complainant_name", ""),
            complainant_phone=data.get("complainant_phone", ""),
            complainant_email=data.get("complainant_email", ""),
            language=data["language"],
        )
        response = self._detail(created.ticket, status.HTTP_201_CREATED)
        if created.followup_code:
            response.data["followup_code"] = created.followup_code
        return response

    def _transition(self, request, pk, serializer_class, service) -> Response:
        """A step of the ticket's life: the body checked by `serializer_class`, the move made by `service`."""
        payload = serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._detail(service(user=request.user, ticket_id=pk, **payload.validated_data))

    @extend_schema(request=NoteSerializer, responses={200: TicketDetailSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._transition(request, pk, NoteSerializer, services.ticket_acknowledge)

    @extend_schema(request=NoteSerializer, responses={200: TicketDetailSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._transition(request, pk, NoteSerializer, services.ticket_start)

    @extend_schema(request=DecisionSerializer, responses={200: TicketDetailSerializer})
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        return self._transition(request, pk, DecisionSerializer, services.ticket_decide)

    @extend_schema(request=ReasonSerializer, responses={200: TicketDetailSerializer})
    @action(detail=True, methods=["post"])
    def appeal(self, request, pk=None):
        return self._transition(request, pk, ReasonSerializer, services.ticket_appeal)

    @extend_schema(request=DecisionSerializer, responses={200: TicketDetailSerializer})
    @action(detail=True, methods=["post"], url_path="decide-appeal")
    def decide_appeal(self, request, pk=None):
        return self._transition(request, pk, DecisionSerializer, services.ticket_decide_appeal)

    @extend_schema(request=NoteSerializer, responses={200: TicketDetailSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._transition(request, pk, NoteSerializer, services.ticket_close)

    @extend_schema(request=AssignSerializer, responses={200: TicketDetailSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        payload = AssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._detail(
            services.ticket_assign(user=request.user, ticket_id=pk, team_id=payload.validated_data["team"])
        )

    @extend_schema(request=NoteSerializer, responses={201: TicketEventSerializer})
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        payload = NoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        event = services.ticket_note(user=request.user, ticket_id=pk, note=payload.validated_data.get("note", ""))
        return Response(TicketEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: TicketEventSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        events = selectors.ticket_events(user=request.user, ticket_id=pk)
        return Response(TicketEventSerializer(events, many=True).data)

    @extend_schema(request=ChangeRequestActionSerializer, responses={201: None})
    @action(detail=True, methods=["post"], url_path="change-request")
    def change_request(self, request, pk=None):
        payload = ChangeRequestActionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        change = services.ticket_open_change_request(
            user=request.user,
            ticket_id=pk,
            kind=data["kind"],
            payload=data["payload"],
            individual_id=data.get("individual"),
        )
        return Response({"change_request": change.pk, "status": change.status}, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={201: None})
    @action(detail=True, methods=["post"], url_path="correct-redemption")
    def correct_redemption(self, request, pk=None):
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        correction = services.ticket_correct_redemption(user=request.user, ticket_id=pk, **payload.validated_data)
        return Response({"correction": correction.pk, "code": correction.code}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: None})
    @action(detail=True, methods=["post"], url_path="reissue-payment")
    def reissue_payment(self, request, pk=None):
        run = services.ticket_reissue_payment(user=request.user, ticket_id=pk)
        return Response({"batch": run.batch_id, "run": run.pk, "status": run.status}, status=status.HTTP_201_CREATED)


class MessageViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """SMS messages waiting for the gateway (recipients are personal data). POST sent/ with their ids once
    delivered."""

    queryset = Message.objects.none()
    serializer_class = MessageSerializer
    pagination_class = None

    @property
    def required_permissions(self) -> list[str]:
        base = ["grievances.view_message", "registry.view_personal_data"]
        return [*base, "grievances.change_message"] if self.action == "sent" else base

    def get_queryset(self):
        return selectors.sms_outbox().select_related("ticket")

    @extend_schema(request=MessageSentSerializer, responses={200: None})
    @action(detail=False, methods=["post"])
    def sent(self, request):
        payload = MessageSentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return Response({"marked": outbox.sms_mark_sent(user=request.user, message_ids=payload.validated_data["ids"])})


def _date(raw: str | None, *, field: str) -> datetime.date | None:
    if raw in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({field: "Expected a date YYYY-MM-DD."}) from None


class StatisticsView(APIView):
    """Published counts by category, district and outcome with the median days to resolution; cells under
    SPMIS["PUBLISH_MIN_CELL"] are suppressed (spmis.core.disclosure)."""

    required_permissions = ["grievances.view_statistics"]

    @extend_schema(responses={200: None})
    def get(self, request):
        since = _date(request.query_params.get("since"), field="since")
        until = _date(request.query_params.get("until"), field="until")
        return Response(selectors.statistics_table(since=since, until=until))


# ------------------------------------------------------------------------------------------------ public endpoints


class PublicThrottle(AnonRateThrottle):
    rate = "60/min"


class _Public(APIView):
    """No sign-in: complainants and the SMS gateway. No session authentication either, so no CSRF cookie matters."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicThrottle]


def _public_ticket(ticket: Ticket) -> dict:
    """What a complainant with the code may read: no contact, no officer's names."""
    return {
        "reference": ticket.reference,
        "category": ticket.category.name,
        "status": ticket.status,
        "received_at": ticket.created_at,
        "acknowledged_at": ticket.acknowledged_at,
        "answer_due_by": ticket.resolve_due_at,
        "outcome": ticket.appeal_outcome or ticket.outcome or None,
        "reason": ticket.appeal_decision_reason or ticket.decision_reason or None,
    }


class PublicComplaintView(_Public):
    """Send a complaint (anonymous allowed). The answer holds the reference and a follow-up code shown only once."""

    @extend_schema(request=PublicComplaintSerializer, responses={201: None})
    def post(self, request):
        payload = PublicComplaintSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        created = services.ticket_create(
            channel=Ticket.Channel.WEB,
            category=data["category"],
            description=data["description"],
            area_code=data.get("area") or None,
            anonymous=data["anonymous"],
            complainant_name=data.get("complainant_name", ""),
            complainant_phone=data.get("complainant_phone", ""),
            complainant_email=data.get("complainant_email", ""),
            language=data["language"],
        )
        return Response(
            {"reference": created.ticket.reference, "followup_code": created.followup_code},
            status=status.HTTP_201_CREATED,
        )


class PublicStatusView(_Public):
    """Follow a complaint with its reference and follow-up code (POST, so the code stays out of logs)."""

    @extend_schema(request=PublicStatusSerializer, responses={200: None})
    def post(self, request):
        payload = PublicStatusSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ticket = selectors.public_status(**payload.validated_data)
        if ticket is None:
            return Response(
                {"reference": ["No complaint with this reference and follow-up code; check both."]},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(_public_ticket(ticket))


SIGNATURE_HEADER = "HTTP_X_SPMIS_SIGNATURE"


def sms_signature(body: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of the raw request body under the shared secret (what the gateway sends)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SmsWebhookView(_Public):
    """An SMS from the gateway: JSON {"id", "from", "text", "language"?}, signed in X-Spmis-Signature (hex HMAC-SHA256
    of the body with settings.GRIEVANCE_SMS_SECRET). Off while the secret is empty. A repeated id is answered with the
    same reference and stores nothing new."""

    throttle_classes: list = []

    @extend_schema(request=None, responses={201: None})
    def post(self, request):
        secret = getattr(settings, "GRIEVANCE_SMS_SECRET", "") or ""
        if not secret:
            return Response({"detail": "The SMS webhook is off: no shared secret is configured."}, status=404)
        body = request.body
        given = request.META.get(SIGNATURE_HEADER, "")
        if not given:
            return Response({"signature": ["The X-Spmis-Signature header is missing."]}, status=401)
        if not hmac.compare_digest(given.strip().lower().removeprefix("sha256="), sms_signature(body, secret)):
            return Response({"signature": ["The signature does not match the body; nothing was stored."]}, status=401)
        try:
            message = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return Response({"body": ["Expected a JSON object."]}, status=400)
        if not isinstance(message, dict):
            return Response({"body": ["Expected a JSON object."]}, status=400)
        ticket = services.ticket_from_sms(
            message_id=message.get("id"),
            sender=message.get("from"),
            text=message.get("text"),
            language=message.get("language") or "en",
        )
        return Response({"reference": ticket.reference}, status=status.HTTP_201_CREATED)
