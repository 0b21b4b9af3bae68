"""Serializers and thin views for providers, accounts and account changes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from geo.models import Area
from programs.payments import selectors, services
from programs.payments.models import AccountKind, FinancialServiceProvider, PaymentAccount, PaymentAccountChange
from registry.models import Household
from registry.selectors import personal_data_allowed


class FinancialServiceProviderSerializer(serializers.ModelSerializer):
    areas = serializers.SlugRelatedField(slug_field="code", many=True, queryset=Area.objects.all(), required=False)

    class Meta:
        model = FinancialServiceProvider
        # What the services take (FSP_FIELDS, kept in one place), with the code, the areas and the timestamps.
        fields = ["id", "code", *services.FSP_FIELDS, "areas", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness is checked by the service with a message in words.
        extra_kwargs = {"code": {"validators": []}}


class _AccountFields(serializers.ModelSerializer):
    """Holder name and the masked number only for holders of registry.view_personal_data; nothing for others."""

    fsp = serializers.SlugRelatedField(slug_field="code", read_only=True)
    holder_name = serializers.SerializerMethodField()
    number_masked = serializers.SerializerMethodField()

    def _user(self):
        request = self.context.get("request")
        return getattr(request, "user", None)

    def get_holder_name(self, obj) -> str | None:
        return obj.holder_name if personal_data_allowed(self._user()) else None

    def get_number_masked(self, obj) -> str | None:
        return selectors.masked_number(self._user(), obj.number_ciphertext)


class PaymentAccountSerializer(_AccountFields):
    shared = serializers.BooleanField(read_only=True)

    class Meta:
        model = PaymentAccount
        fields = [
            "id",
            "household",
            "fsp",
            "kind",
            "holder_name",
            "number_masked",
            "routing_number",
            "bic",
            "blind_index",
            "shared",
            "changed_at",
            "last_change",
            "created_at",
        ]
        read_only_fields = fields


class PaymentAccountChangeSerializer(_AccountFields):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PaymentAccountChange
        fields = [
            "id",
            "household",
            "fsp",
            "kind",
            "holder_name",
            "number_masked",
            "routing_number",
            "bic",
            "blind_index",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "reviewed_by",
            "reviewed_at",
            "review_note",
        ]
        read_only_fields = fields


class PaymentAccountChangeRequestSerializer(serializers.Serializer):
    household = serializers.PrimaryKeyRelatedField(queryset=Household.objects.all())
    fsp = serializers.SlugRelatedField(slug_field="code", queryset=FinancialServiceProvider.objects.all())
    kind = serializers.ChoiceField(choices=AccountKind.choices)
    holder_name = serializers.CharField(max_length=200)
    number = serializers.CharField(max_length=64, write_only=True)
    routing_number = serializers.CharField(max_length=9, required=False, allow_blank=True, default="")
    bic = serializers.CharField(max_length=11, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ReviewSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class SharedAccountSerializer(serializers.Serializer):
    blind_index = serializers.CharField()
    households = serializers.IntegerField()


class FinancialServiceProviderViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = FinancialServiceProvider.objects.none()
    serializer_class = FinancialServiceProviderSerializer
    filterset_fields = ["kind", "active"]

    def get_queryset(self):
        return selectors.fsp_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.fsp_create(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("code", None)
        serializer.instance = services.fsp_update(fsp=serializer.instance, user=self.request.user, **data)


class PaymentAccountViewSet(viewsets.ReadOnlyModelViewSet):
    """Accounts of the households in the user's areas; set only through approved account changes."""

    queryset = PaymentAccount.objects.none()
    serializer_class = PaymentAccountSerializer
    filterset_fields = ["household", "kind", "fsp"]

    def get_queryset(self):
        return selectors.payment_account_list(user=self.request.user)

    @extend_schema(responses={200: SharedAccountSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def shared(self, request):
        """Blind-index values on more than one household: the same account paying two households."""
        page = self.paginate_queryset(selectors.shared_accounts(user=request.user))
        return self.get_paginated_response(SharedAccountSerializer(page, many=True).data)


class PaymentAccountChangeViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = PaymentAccountChange.objects.none()
    serializer_class = PaymentAccountChangeSerializer
    filterset_fields = ["status", "household"]

    def get_queryset(self):
        return selectors.payment_account_change_list(user=self.request.user)

    @property
    def required_permissions(self) -> list[str] | None:
        # Reviewing is its own permission (a finance officer reviews without requesting); the service checks it
        # again, with the four-eyes rule. Other actions use the model permissions.
        if self.action in ("approve", "reject"):
            return [services.APPROVE_PERMISSION, "programs.view_paymentaccountchange"]
        return None

    def get_serializer_class(self):
        if self.action == "create":
            return PaymentAccountChangeRequestSerializer
        return PaymentAccountChangeSerializer

    @extend_schema(request=PaymentAccountChangeRequestSerializer, responses={201: PaymentAccountChangeSerializer})
    def create(self, request, *args, **kwargs):
        payload = PaymentAccountChangeRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        change = services.payment_account_change_request(user=request.user, **payload.validated_data)
        return Response(PaymentAccountChangeSerializer(change, context={"request": request}).data, status=201)

    @extend_schema(request=ReviewSerializer, responses={200: PaymentAccountSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve (another person than the requester) and apply: the household's account is created or replaced."""
        payload = ReviewSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        account = services.payment_account_change_approve(
            change=self.get_object(), user=request.user, **payload.validated_data
        )
        account = selectors.payment_account_list(user=request.user).get(pk=account.pk)
        return Response(PaymentAccountSerializer(account, context={"request": request}).data)

    @extend_schema(request=ReviewSerializer, responses={200: PaymentAccountChangeSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        payload = ReviewSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        change = services.payment_account_change_reject(
            change=self.get_object(), user=request.user, **payload.validated_data
        )
        return Response(PaymentAccountChangeSerializer(change, context={"request": request}).data)
