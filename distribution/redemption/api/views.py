"""Redemption at distribution points: thin views over distribution.redemption.services and selectors."""

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from distribution.redemption import selectors, services, vouchers
from distribution.redemption.api.serializers import (
    BatchUploadSerializer,
    CorrectSerializer,
    DeviceRegisterSerializer,
    DeviceSerializer,
    RedeemSerializer,
    RedemptionBatchSerializer,
    RedemptionConflictSerializer,
    RedemptionSerializer,
    ResolveSerializer,
)
from distribution.redemption.models import Device, Redemption, RedemptionBatch, RedemptionConflict
from geo.selectors import area_in_scope
from programs.models import Entitlement
from spmis.api.params import parse_int


def _refused(error: services.RedemptionRefused) -> Response:
    """Already redeemed: 409 with who, where and when of the first; a reused key: 422; anything else: 400 naming
    the field."""
    if error.reason in ("already_redeemed", "over_entitlement", "in_progress"):
        code = status.HTTP_409_CONFLICT
    elif error.reason == "key_reused":
        code = status.HTTP_422_UNPROCESSABLE_ENTITY
    else:
        code = status.HTTP_400_BAD_REQUEST
    return Response({error.field: [error.text], "reason": error.reason, "previous": error.previous}, status=code)


def _redemption_response(redemption: Redemption, *, created: bool) -> Response:
    redemption = Redemption.objects.select_related("point", "device", "operator", "entitlement", "household").get(
        pk=redemption.pk
    )
    data = RedemptionSerializer(redemption).data
    data["balance"] = selectors.balance(entitlement=redemption.entitlement)
    data["replayed"] = not created
    return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RedemptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Redemptions at distribution points inside the user's areas. POST redeems an entitlement now."""

    queryset = Redemption.objects.none()
    serializer_class = RedemptionSerializer
    filterset_fields = ["point", "entitlement", "kind", "method", "device"]

    def get_queryset(self):
        return selectors.redemption_list(user=self.request.user)

    @property
    def required_permissions(self) -> list[str] | None:
        if self.action == "correct":
            return ["distribution.add_redemption", "distribution.view_redemption"]
        if self.action in ("lookup", "summary"):
            return ["distribution.view_redemption"]
        if self.action == "voucher":
            # A voucher is a bearer credential for a named household: those who issue them, not every reader.
            return ["programs.view_entitlement", "registry.view_personal_data"]
        return None

    @extend_schema(request=RedeemSerializer, responses={201: RedemptionSerializer})
    def create(self, request):
        payload = RedeemSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            redemption = services.redemption_redeem(
                user=request.user,
                point_id=data["point"],
                voucher=data.get("voucher") or None,
                entitlement_code=data.get("entitlement") or None,
                id_number=data.get("id_number") or None,
                items=data.get("items"),
                amount=data.get("amount") or None,
                client_uuid=data.get("client_uuid"),
            )
        except services.RedemptionRefused as error:
            return _refused(error)
        return _redemption_response(redemption, created=not getattr(redemption, "replayed", False))

    @extend_schema(request=CorrectSerializer, responses={201: RedemptionSerializer})
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        """Reverse this redemption: the goods go back into the point's stock."""
        payload = CorrectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        correction = services.redemption_correct(
            user=request.user, redemption=self.get_object(), reason=payload.validated_data["reason"]
        )
        return _redemption_response(correction, created=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("point", OpenApiTypes.INT, required=True),
            OpenApiParameter("voucher", OpenApiTypes.STR),
            OpenApiParameter("code", OpenApiTypes.STR, description="Entitlement code"),
            OpenApiParameter("id_number", OpenApiTypes.STR, description="ID document number of a member"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def lookup(self, request):
        """What a voucher, an entitlement code or an ID number finds, with what remains and whether this point may
        redeem it now."""
        params = request.query_params
        point = parse_int(params.get("point"), field="point", default=0, minimum=1)
        if not point:
            raise ValidationError({"point": "Give the distribution point: ?point=<id>."})
        found = selectors.redemption_lookup(
            user=request.user,
            point_id=point,
            voucher=params.get("voucher") or None,
            code=params.get("code") or None,
            id_number=params.get("id_number") or None,
        )
        return Response({"count": len(found), "results": found})

    @extend_schema(
        parameters=[OpenApiParameter("point", OpenApiTypes.INT, required=True)], responses={200: OpenApiTypes.OBJECT}
    )
    @action(detail=False, methods=["get"])
    def summary(self, request):
        """What a point has handed over: redemptions, corrections, households served, quantities per item (net of
        corrections) and open conflicts."""
        point = parse_int(request.query_params.get("point"), field="point", default=0, minimum=1)
        if not point:
            raise ValidationError({"point": "Give the distribution point: ?point=<id>."})
        return Response(selectors.point_summary(user=request.user, point_id=point))

    @extend_schema(
        parameters=[OpenApiParameter("entitlement", OpenApiTypes.STR, required=True)],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def voucher(self, request):
        """The signed voucher code of an entitlement (for printing on a slip or a QR code)."""
        code = (request.query_params.get("entitlement") or "").strip()
        entitlement = Entitlement.objects.select_related("household").filter(code=code).first()
        if entitlement is None or not area_in_scope(request.user, entitlement.household.area_id):
            raise ValidationError({"entitlement": "No such entitlement in your areas."})
        return Response({"entitlement": entitlement.code, "voucher": vouchers.sign(entitlement.code)})


class DeviceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Devices registered to distribution points; POST registers one with its Ed25519 public key."""

    queryset = Device.objects.none()
    serializer_class = DeviceSerializer
    filterset_fields = ["point", "is_active"]

    def get_queryset(self):
        return selectors.device_list(user=self.request.user)

    @property
    def required_permissions(self) -> list[str] | None:
        if self.action == "revoke":
            return ["distribution.change_device", "distribution.view_device"]
        return None

    @extend_schema(request=DeviceRegisterSerializer, responses={201: DeviceSerializer})
    def create(self, request):
        payload = DeviceRegisterSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        device = services.device_register(
            user=request.user,
            point_id=data["point"],
            name=data["name"],
            public_key=data["public_key"],
            key_id=data.get("key_id") or "",
        )
        return Response(DeviceSerializer(device).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: DeviceSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return Response(DeviceSerializer(services.device_revoke(user=request.user, device=self.get_object())).data)


class RedemptionBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Batches of redemptions recorded offline; POST uploads one (signed by its device). Uploading the same batch
    again answers with the stored result (200) and adds nothing."""

    queryset = RedemptionBatch.objects.none()
    serializer_class = RedemptionBatchSerializer
    filterset_fields = ["device"]

    def get_queryset(self):
        return selectors.batch_list(user=self.request.user)

    @extend_schema(request=BatchUploadSerializer, responses={201: RedemptionBatchSerializer})
    def create(self, request):
        payload = BatchUploadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            batch = services.redemption_batch_upload(user=request.user, body=dict(payload.validated_data))
        except services.RedemptionRefused as error:
            return _refused(error)
        replayed = getattr(batch, "replayed", False)
        return Response(
            RedemptionBatchSerializer(batch).data, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED
        )


class RedemptionConflictViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Offline records the server could not apply, for follow-up; nothing was issued for them."""

    queryset = RedemptionConflict.objects.none()
    serializer_class = RedemptionConflictSerializer
    filterset_fields = ["point", "device", "status", "reason", "batch"]

    def get_queryset(self):
        return selectors.conflict_list(user=self.request.user)

    @property
    def required_permissions(self) -> list[str] | None:
        if self.action == "resolve":
            return ["distribution.change_redemptionconflict", "distribution.view_redemptionconflict"]
        return None

    @extend_schema(request=ResolveSerializer, responses={200: RedemptionConflictSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        payload = ResolveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        conflict = services.conflict_resolve(
            user=request.user, conflict=self.get_object(), resolution=payload.validated_data["resolution"]
        )
        return Response(RedemptionConflictSerializer(conflict).data)
