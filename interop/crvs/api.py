"""CRVS endpoints. The CRVS posts signed messages (notify, on-subscribe): the signature is the authentication, the
source's service user becomes the request's user and must hold interop.deliver_crvssource. Staff read the events
(the unmatched ones wait for a person to look) and may ask for subscriptions."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authentication import BaseAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from interop import national_id
from interop.crvs import selectors, services
from interop.crvs.models import CrvsEvent, IdVerification
from interop.crvs.signing import CrvsError
from registry.selectors import personal_data_allowed
from spmis.api.permissions import RolePermission
from spmis.api.serializers import StrictFieldsMixin


class CrvsSignatureAuthentication(BaseAuthentication):
    """Verifies the envelope before anything else runs: request.user is the source's service user and request.auth
    the verified envelope. A refusal raises CrvsError; nothing has been written."""

    def authenticate(self, request):
        view = request.parser_context["view"]
        env = services.envelope_open(request._request.body, action=view.crvs_action)
        return env.source.service_user, env

    def authenticate_header(self, request) -> str:
        return 'Signature namespace="dci"'


def error_body(code: str, message: str) -> dict:
    """The spec's HTTP error ({errors: [...]}) and its acknowledgement with ack_status ERR, in one body."""
    error = {"code": code, "message": message}
    return {"errors": [error], **services.ack("", status="ERR", error=error)}


class CrvsView(APIView):
    authentication_classes = [CrvsSignatureAuthentication]
    permission_classes = [RolePermission]
    required_permissions = ["interop.deliver_crvssource"]
    parser_classes: list = []
    schema = None  # documented by the SPDCI CRVS OpenAPI file (docs/interoperability.md)
    crvs_action = "notify"

    def handle_exception(self, exc):
        if isinstance(exc, CrvsError):
            response = Response(error_body(exc.code, exc.message), status=exc.status)
            if exc.status == 401:
                response["WWW-Authenticate"] = 'Signature namespace="dci"'
            return response
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return Response(error_body("err.signature.missing", "The message carries no signature."), status=401)
        if isinstance(exc, exceptions.PermissionDenied):
            return Response(
                error_body("err.request.forbidden", "This sender may not deliver CRVS messages."), status=403
            )
        if isinstance(exc, exceptions.MethodNotAllowed):
            return Response(error_body("err.request.bad", "Only POST is accepted here."), status=405)
        return super().handle_exception(exc)


class Notify(CrvsView):
    """POST /api/v1/interop/crvs/notify: birth and death events. Each is stored once; a redelivery is acknowledged
    and changes nothing."""

    crvs_action = "notify"

    def post(self, request, *args, **kwargs):
        result = services.crvs_notify_receive(env=request.auth)
        body = services.ack(str(request.auth.message.get("transaction_id")))
        body["message"]["stored"] = len(result.stored)
        body["message"]["duplicates"] = len(result.duplicates)
        return Response(body, status=status.HTTP_200_OK)


class OnSubscribe(CrvsView):
    """POST /api/v1/interop/crvs/on-subscribe: the CRVS's answer to our subscribe (its subscription codes)."""

    crvs_action = "on-subscribe"

    def post(self, request, *args, **kwargs):
        services.crvs_on_subscribe(env=request.auth)
        return Response(services.ack(str(request.auth.message.get("transaction_id"))), status=status.HTTP_200_OK)


class CrvsEventSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = CrvsEvent
        fields = [
            "id",
            "source",
            "event_id",
            "event",
            "occurred_on",
            "outcome",
            "reason",
            "individual",
            "household",
            "change_request",
            "record",
            "received_at",
        ]
        read_only_fields = fields


class CrvsEventReducedSerializer(CrvsEventSerializer):
    """Without the person record and the words of the reason (they quote identifiers)."""

    class Meta(CrvsEventSerializer.Meta):
        fields = [f for f in CrvsEventSerializer.Meta.fields if f not in ("record", "reason")]
        read_only_fields = fields


@extend_schema(
    parameters=[
        OpenApiParameter("outcome", enum=CrvsEvent.Outcome.values),
        OpenApiParameter("event", enum=["live_birth", "death"]),
    ]
)
class CrvsEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Events notified by civil registries, with what came of each: a change request, or why none was made."""

    queryset = CrvsEvent.objects.none()
    serializer_class = CrvsEventSerializer

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False) or personal_data_allowed(self.request.user):
            return CrvsEventSerializer
        return CrvsEventReducedSerializer

    def get_queryset(self):
        params = self.request.query_params
        outcome, event = params.get("outcome"), params.get("event")
        if outcome and outcome not in CrvsEvent.Outcome.values:
            raise exceptions.ValidationError({"outcome": f"Choose one of {', '.join(CrvsEvent.Outcome.values)}."})
        if event and event not in ("live_birth", "death"):
            raise exceptions.ValidationError({"event": "Choose live_birth or death."})
        return selectors.crvs_event_list(user=self.request.user, outcome=outcome, event=event)


class IdVerificationSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = IdVerification
        fields = [
            "id",
            "individual",
            "document",
            "id_type",
            "adapter",
            "result",
            "reason",
            "reference",
            "duration_ms",
            "requested_by",
            "requested_at",
            "answered_at",
        ]
        read_only_fields = fields


class IdVerificationRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    document = serializers.IntegerField(help_text="id of the individual's ID document to check")


@extend_schema(parameters=[OpenApiParameter("individual", int)])
class IdVerificationViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Ask the national ID system whether an ID document is the individual's (POST {document}); every check is
    kept with who asked, when and the answer. Off unless SPMIS_ID_VERIFICATION_ADAPTER is set."""

    queryset = IdVerification.objects.none()
    serializer_class = IdVerificationSerializer

    def get_queryset(self):
        raw = self.request.query_params.get("individual")
        if raw is not None and not raw.isdigit():
            raise exceptions.ValidationError({"individual": "Expected an individual's id (a number)."})
        return national_id.id_verification_list(user=self.request.user, individual_id=int(raw) if raw else None)

    @extend_schema(request=IdVerificationRequestSerializer, responses={201: IdVerificationSerializer})
    def create(self, request, *args, **kwargs):
        payload = IdVerificationRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        row = national_id.id_verification_request(user=request.user, document_id=payload.validated_data["document"])
        return Response(IdVerificationSerializer(row).data, status=status.HTTP_201_CREATED)
