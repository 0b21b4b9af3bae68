"""Stock API under /api/v1/distribution/stock/: the catalogue, balances and alerts, the ledger's lines, and one
endpoint per kind of movement document. Views validate shapes and call the services; the services and the database
refuse what is wrong (unknown item or unit naming the line, not enough stock, above capacity) with a 400 and nothing
written."""

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from distribution.stock import selectors, services
from distribution.stock.api import serializers as s
from distribution.stock.documents import document_pdf
from distribution.stock.models import StockBalance, StockDocument, StockItem, StockLot, StockMovement
from spmis.api.params import parse_int, parse_text


class StockItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The item catalogue (codes are what entitlements name), with each item's units and pack sizes."""

    queryset = StockItem.objects.none()
    serializer_class = s.StockItemSerializer
    lookup_field = "code"
    filterset_fields = ["category", "active"]

    def get_queryset(self):
        return selectors.item_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.stock_item_save(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.stock_item_save(
            user=self.request.user, item=serializer.instance, **serializer.validated_data
        )


class StockLotViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = StockLot.objects.none()
    serializer_class = s.StockLotSerializer

    def get_queryset(self):
        queryset = selectors.lot_list(user=self.request.user)
        item = parse_text(self.request.query_params.get("item"), field="item")
        return queryset.filter(item__code=item) if item else queryset


def _location_filters(queryset, params):
    warehouse = parse_int(params.get("warehouse"), field="warehouse", default=None, minimum=1)
    point = parse_int(params.get("point"), field="point", default=None, minimum=1)
    item = parse_text(params.get("item"), field="item")
    if warehouse is not None:
        queryset = queryset.filter(warehouse_id=warehouse)
    if point is not None:
        queryset = queryset.filter(point_id=point)
    if item:
        queryset = queryset.filter(item__code=item)
    return queryset


class StockBalanceViewSet(viewsets.ReadOnlyModelViewSet):
    """Stock on hand per location, item and lot (base units), in the user's areas: `?warehouse=`, `?point=`,
    `?item=<code>`, `?all=1` to include empty balances."""

    queryset = StockBalance.objects.none()
    serializer_class = s.StockBalanceSerializer

    def get_queryset(self):
        queryset = _location_filters(selectors.balance_list(user=self.request.user), self.request.query_params)
        if self.request.query_params.get("all") not in ("1", "true"):
            queryset = queryset.filter(on_hand__gt=0)
        return queryset.order_by("item__code", "warehouse_id", "point_id", "lot__expires_on", "lot_id", "id")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}


class StockMovementViewSet(viewsets.ReadOnlyModelViewSet):
    """The ledger's lines in the user's areas: `?warehouse=`, `?point=`, `?item=`, `?document=`, `?reference=`."""

    queryset = StockMovement.objects.none()
    serializer_class = s.StockMovementSerializer

    def get_queryset(self):
        params = self.request.query_params
        queryset = _location_filters(selectors.movement_list(user=self.request.user), params)
        document = parse_int(params.get("document"), field="document", default=None, minimum=1)
        if document is not None:
            queryset = queryset.filter(document_id=document)
        reference = parse_text(params.get("reference"), field="reference")
        if reference:
            queryset = queryset.filter(reference=reference)
        return queryset.order_by("-id")


class StockDocumentViewSet(viewsets.ReadOnlyModelViewSet):
    """Goods received notes, waybills, loss reports, counts and reversals; `pdf/` prints one, `reverse/` cancels
    one with reversing lines."""

    queryset = StockDocument.objects.none()
    serializer_class = s.StockDocumentSerializer
    filterset_fields = ["kind"]

    def get_queryset(self):
        return selectors.document_list(user=self.request.user).prefetch_related("lines__item", "lines__lot")

    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        document = self.get_object()
        response = HttpResponse(document_pdf(document), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{document.number}.pdf"'
        return response

    @extend_schema(request=s.ReverseSerializer, responses=s.StockDocumentSerializer)
    @action(detail=True, methods=["post"], serializer_class=s.ReverseSerializer)
    def reverse(self, request, pk=None):
        document = self.get_object()
        body = s.ReverseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reversal = services.stock_reverse(
            document_id=document.pk, reason=body.validated_data["reason"], user=request.user
        )
        return Response(s.StockDocumentSerializer(reversal).data, status=status.HTTP_201_CREATED)


def _lines(data) -> list[dict]:
    return [{k: v for k, v in line.items() if v not in (None, "")} for line in data["lines"]]


class _DocumentView(APIView):
    required_permissions = ["distribution.add_stockmovement"]
    serializer = None

    def post(self, request):
        body = self.serializer(data=request.data)
        body.is_valid(raise_exception=True)
        document = self.write(body.validated_data, request.user)
        return Response(s.StockDocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class ReceiptView(_DocumentView):
    """POST a goods received note: {warehouse, supplier?, reference?, occurred_on?, lines: [{item, quantity, unit,
    lot?, expires_on?, shortage?, damaged?}]}."""

    serializer = s.ReceiptSerializer

    @extend_schema(request=s.ReceiptSerializer, responses={201: s.StockDocumentSerializer})
    def post(self, request):
        return super().post(request)

    def write(self, data, user):
        return services.stock_receive(
            warehouse_id=data["warehouse"],
            lines=_lines(data),
            supplier=data.get("supplier", ""),
            reference=data.get("reference", ""),
            occurred_on=data.get("occurred_on"),
            user=user,
        )


class TransferView(_DocumentView):
    """POST a transfer between warehouses: {source, destination, reference?, vehicle?, driver?, lines}."""

    serializer = s.TransferSerializer

    @extend_schema(request=s.TransferSerializer, responses={201: s.StockDocumentSerializer})
    def post(self, request):
        return super().post(request)

    def write(self, data, user):
        return services.stock_transfer(
            source_id=data["source"],
            destination_id=data["destination"],
            lines=_lines(data),
            reference=data.get("reference", ""),
            vehicle=data.get("vehicle", ""),
            driver=data.get("driver", ""),
            occurred_on=data.get("occurred_on"),
            user=user,
        )


class DispatchView(_DocumentView):
    """POST a dispatch waybill from a warehouse to a distribution point: {warehouse, point, vehicle?, driver?,
    reference?, lines}."""

    serializer = s.DispatchSerializer

    @extend_schema(request=s.DispatchSerializer, responses={201: s.StockDocumentSerializer})
    def post(self, request):
        return super().post(request)

    def write(self, data, user):
        return services.stock_dispatch(
            warehouse_id=data["warehouse"],
            point_id=data["point"],
            lines=_lines(data),
            reference=data.get("reference", ""),
            vehicle=data.get("vehicle", ""),
            driver=data.get("driver", ""),
            occurred_on=data.get("occurred_on"),
            user=user,
        )


class LossView(_DocumentView):
    """POST a loss or damage: {warehouse | point, item, quantity, unit, lot?, reason}."""

    serializer = s.LossSerializer

    @extend_schema(request=s.LossSerializer, responses={201: s.StockDocumentSerializer})
    def post(self, request):
        return super().post(request)

    def write(self, data, user):
        return services.stock_loss(
            warehouse_id=data.get("warehouse"),
            point_id=data.get("point"),
            item_code=data["item"],
            quantity=data["quantity"],
            unit=data.get("unit") or "",
            lot=data.get("lot") or None,
            reason=data["reason"],
            occurred_on=data.get("occurred_on"),
            user=user,
        )


class CountView(_DocumentView):
    """POST a physical count of one item (and lot): {warehouse | point, item, counted, unit, lot?, reason?}."""

    serializer = s.CountSerializer

    @extend_schema(request=s.CountSerializer, responses={201: s.StockDocumentSerializer})
    def post(self, request):
        return super().post(request)

    def write(self, data, user):
        return services.stock_count(
            warehouse_id=data.get("warehouse"),
            point_id=data.get("point"),
            item_code=data["item"],
            counted=data["counted"],
            unit=data.get("unit") or "",
            lot=data.get("lot") or None,
            reason=data.get("reason") or "physical count",
            occurred_on=data.get("occurred_on"),
            user=user,
        )


class AlertView(APIView):
    """Minimum-stock, near-expiry and expired alerts in the user's areas."""

    required_permissions = ["distribution.view_stockbalance"]

    @extend_schema(responses={200: dict})
    def get(self, request):
        alerts = selectors.stock_alerts(user=request.user)
        return Response({"count": len(alerts), "results": alerts})
