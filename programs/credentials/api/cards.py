"""Card requests, approval, printing, hand-over, loss, revocation and replacement (mounted under
/api/v1/programs/ by programs/api/urls.py). Names and QR contents only for holders of registry.view_personal_data,
inside their areas."""

from __future__ import annotations

import base64

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from programs.credentials import oid4vci, selectors, services, verification
from programs.credentials.documents import cards_pdf
from programs.credentials.models import Card, CardPrintBatch
from programs.credentials.qr import qr_png
from programs.models import Program
from registry.models import Household, Individual
from registry.selectors import personal_data_allowed


class CardSerializer(serializers.ModelSerializer):
    program = serializers.SlugRelatedField(slug_field="code", queryset=Program.objects.all())
    household = serializers.SlugRelatedField(slug_field="registrant_id", queryset=Household.objects.all())
    individual = serializers.SlugRelatedField(
        slug_field="registrant_id", queryset=Individual.objects.all(), required=False, allow_null=True
    )
    area = serializers.SlugRelatedField(slug_field="code", read_only=True)
    holder_name = serializers.SerializerMethodField()
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    replaces = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Card
        fields = [
            "id",
            "code",
            "program",
            "household",
            "individual",
            "area",
            "holder_name",
            "status",
            "status_index",
            "expires_on",
            "reason",
            "replaces",
            "prints",
            "requested_by",
            "requested_at",
            "approved_by",
            "approved_at",
            "status_changed_at",
        ]
        extra_kwargs = {"expires_on": {"required": False}, "reason": {"required": False}}
        # One live card per person is the database's rule, answered by the service with a message in words.
        validators = []
        read_only_fields = [
            "code",
            "area",
            "status",
            "status_index",
            "replaces",
            "prints",
            "requested_at",
            "approved_at",
            "status_changed_at",
        ]

    def get_holder_name(self, card: Card) -> str | None:
        request = self.context.get("request")
        if not personal_data_allowed(getattr(request, "user", None)):
            return None
        holder = selectors.card_holder(card)
        return " ".join(p for p in (holder.given_name, holder.family_name) if p) if holder else None


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255)


class OfferRequestSerializer(serializers.Serializer):
    with_tx_code = serializers.BooleanField(default=True)


class CardViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Card requests and their life: approve (four eyes), distribute, lost, revoke, replace; the signed QR."""

    queryset = Card.objects.none()
    serializer_class = CardSerializer
    filterset_fields = ["status", "program__code"]

    def get_queryset(self):
        return selectors.card_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.card_request(user=self.request.user, **serializer.validated_data)

    def _done(self, card: Card, code: int = status.HTTP_200_OK) -> Response:
        return Response(CardSerializer(card, context={"request": self.request}).data, status=code)

    @extend_schema(request=None, responses={200: CardSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._done(services.card_approve(user=request.user, card=self.get_object()))

    @extend_schema(request=None, responses={200: CardSerializer})
    @action(detail=True, methods=["post"])
    def distribute(self, request, pk=None):
        return self._done(services.card_distribute(user=request.user, card=self.get_object()))

    @extend_schema(request=ReasonSerializer, responses={200: CardSerializer})
    @action(detail=True, methods=["post"])
    def lost(self, request, pk=None):
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._done(services.card_mark_lost(user=request.user, card=self.get_object(), **body.validated_data))

    @extend_schema(request=ReasonSerializer, responses={200: CardSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data.get("reason", "")
        return self._done(services.card_revoke(user=request.user, card=self.get_object(), reason=reason))

    @extend_schema(request=ReasonSerializer, responses={201: CardSerializer})
    @action(detail=True, methods=["post"])
    def replace(self, request, pk=None):
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new = services.card_replace(user=request.user, card=self.get_object(), **body.validated_data)
        return self._done(new, status.HTTP_201_CREATED)

    @extend_schema(request=OfferRequestSerializer, responses={201: dict})
    @action(detail=True, methods=["post"])
    def offer(self, request, pk=None):
        """An OpenID4VCI credential offer (pre-authorized code) for the person's wallet: the offer URI and its QR,
        and the transaction code to tell the person (shown once)."""
        body = OfferRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        made = oid4vci.offer_create(user=request.user, card=self.get_object(), **body.validated_data)
        return Response(
            {
                "credential_offer": made.credential_offer,
                "credential_offer_uri": made.uri,
                "qr_png_base64": base64.b64encode(qr_png(made.uri)).decode(),
                "tx_code": made.tx_code,
                "expires_at": made.offer.expires_at,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["get"])
    def qr(self, request, pk=None):
        """The card's signed QR text and PNG (personal data: the permission is required)."""
        if not personal_data_allowed(request.user):
            raise PermissionDenied("A card's QR holds personal data; it needs the personal data permission.")
        card = self.get_object()
        if card.status not in ("approved", "printed", "distributed"):
            raise ValidationError({"status": f"Card {card.code} is {card.status}; only approved cards have a QR."})
        text = selectors.card_qr_text(card)
        services.credential_event(kind="issued", user=request.user, card=card, via="qr")
        return Response({"qr": text, "png_base64": base64.b64encode(qr_png(text)).decode()})


class PrintBatchSerializer(serializers.ModelSerializer):
    cards = serializers.SlugRelatedField(slug_field="code", many=True, queryset=Card.objects.all())
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CardPrintBatch
        fields = ["id", "code", "cards", "created_by", "created_at"]
        read_only_fields = ["code", "created_by", "created_at"]


class CardPrintBatchViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """A print batch of approved cards; its PDF is built on download (and each download is recorded)."""

    queryset = CardPrintBatch.objects.none()
    serializer_class = PrintBatchSerializer

    def get_queryset(self):
        visible = selectors.card_list(user=self.request.user).values("pk")
        return CardPrintBatch.objects.filter(Q(created_by=self.request.user) | Q(prints__card__in=visible)).distinct()

    def perform_create(self, serializer):
        serializer.instance = services.card_print_batch(
            user=self.request.user, cards=serializer.validated_data["cards"]
        )

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        if not personal_data_allowed(request.user):
            raise PermissionDenied("Card sheets show names; they need the personal data permission.")
        batch = self.get_object()
        cards = selectors.card_list(user=request.user).filter(print_rows__batch=batch).order_by("print_rows__id")
        reprints = set(batch.prints.filter(reprint=True).values_list("card_id", flat=True))
        # The faces stream from the database into the PDF, signed a chunk at a time.
        pdf = cards_pdf(selectors.card_faces(cards, reprints=reprints))
        services.credential_event(kind="downloaded", user=request.user, batch=batch.code, cards=cards.count())
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{batch.code}.pdf"'
        return response


class VerifySerializer(serializers.Serializer):
    qr = serializers.CharField(max_length=8000, trim_whitespace=True)


class CredentialVerifyViewSet(viewsets.ViewSet):
    """Server-side check of a scanned card (the offline page does the same on the device): signature, key, expiry
    and status. Every lookup is recorded."""

    required_permissions = ["programs.view_card"]

    @extend_schema(request=VerifySerializer, responses={200: dict})
    def create(self, request):
        body = VerifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = verification.verify_card_qr(body.validated_data["qr"], user=request.user)
        return Response(result, status=status.HTTP_200_OK)
