"""Reads of the stock catalogue and ledger: unit conversion, stock on hand, alerts, and the scoped lists the API and
the pages show. Area scoping is applied here: a balance, document or movement is visible when its warehouse or
distribution point lies inside the user's areas."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from distribution.models import DistributionPoint, Warehouse
from distribution.stock.models import StockBalance, StockDocument, StockItem, StockLot, StockMovement, StockUnit
from geo.selectors import scope_queryset

BASE = Decimal("0.001")


def item_get(item_code: str, *, field: str = "item") -> StockItem:
    """The catalogue item with this code, or a ValidationError on `field` saying it is unknown."""
    item = StockItem.objects.filter(code=item_code).first() if isinstance(item_code, str) else None
    if item is None or not item.active:
        raise ValidationError({field: f"Unknown item {item_code!r}: not in the stock catalogue."})
    return item


def unit_factor(item: StockItem, unit: str, *, field: str = "unit") -> Decimal:
    """How many base units one `unit` of the item is; ValidationError on `field` for a unit the item does not have."""
    if unit == item.base_unit:
        return Decimal(1)
    factor = StockUnit.objects.filter(item=item, code=unit).values_list("factor", flat=True).first()
    if factor is None:
        known = [item.base_unit, *StockUnit.objects.filter(item=item).values_list("code", flat=True)]
        raise ValidationError({field: f"Unknown unit {unit!r} for {item.code}: use one of {', '.join(known)}."})
    return factor


def to_base(item: StockItem, quantity, unit: str, *, field: str = "quantity", unit_field: str = "unit") -> Decimal:
    """`quantity` of `unit` in the item's base unit (to the ledger's 0.001), refusing what is not a positive number."""
    try:
        value = Decimal(str(quantity))
    except (ArithmeticError, ValueError, TypeError):
        raise ValidationError({field: f"{quantity!r} is not a number."}) from None
    if not value.is_finite() or value <= 0:
        raise ValidationError({field: "The quantity must be a number above zero."})
    base = (value * unit_factor(item, unit, field=unit_field)).quantize(BASE)
    if base <= 0 or base >= Decimal("1e15"):
        raise ValidationError({field: f"{quantity} {unit} is out of range for the ledger."})
    return base


def convert(item_code: str, quantity, unit: str) -> Decimal:
    """`quantity` `unit` of the item, in its base unit (2 bags of 25 kg rice -> 50 kg). ValidationError naming the
    item or the unit when either is unknown."""
    return to_base(item_get(item_code), quantity, unit)


def base_unit(item_code: str) -> str:
    return item_get(item_code).base_unit


def item_weights(items: Iterable[str]) -> dict[str, Decimal | None]:
    """{item code: kg per base unit}, None where the catalogue gives no weight (for truck loads)."""
    return dict(StockItem.objects.filter(code__in=list(items)).values_list("code", "weight_kg"))


def stock_on_hand(
    *,
    items: Iterable[str] | None = None,
    points: Iterable[int] | None = None,
    warehouses: Iterable[int] | None = None,
    usable_on: datetime.date | None = None,
) -> dict[tuple[str, int, str], Decimal]:
    """On hand in base units per location and item: {("point" | "warehouse", location id, item code): quantity}.

    Without `points` and `warehouses`, every location. With `usable_on`, lots expired before that day are left out
    (what can still be handed out)."""
    queryset = StockBalance.objects.filter(on_hand__gt=0)
    if items is not None:
        queryset = queryset.filter(item__code__in=list(items))
    where = Q()
    if points is not None:
        where |= Q(point_id__in=list(points))
    if warehouses is not None:
        where |= Q(warehouse_id__in=list(warehouses))
    if points is not None or warehouses is not None:
        queryset = queryset.filter(where)
    if usable_on is not None:
        queryset = queryset.filter(
            Q(lot__isnull=True) | Q(lot__expires_on__isnull=True) | Q(lot__expires_on__gte=usable_on)
        )
    rows = queryset.values("warehouse_id", "point_id", "item__code").annotate(total=Sum("on_hand"))
    return {
        (
            "point" if row["point_id"] else "warehouse",
            row["point_id"] or row["warehouse_id"],
            row["item__code"],
        ): row["total"]
        for row in rows
    }


def warehouse_load_kg(warehouse_id: int) -> Decimal:
    """Weight of what a warehouse holds (items without a weight count as nothing)."""
    total = Decimal(0)
    for on_hand, weight in StockBalance.objects.filter(warehouse_id=warehouse_id, on_hand__gt=0).values_list(
        "on_hand", "item__weight_kg"
    ):
        total += on_hand * (weight or 0)
    return total


# ---- Scoped lists


def _visible_locations(user) -> Q:
    warehouses = scope_queryset(Warehouse.objects.all(), user).values("pk")
    points = scope_queryset(DistributionPoint.objects.all(), user).values("pk")
    return Q(warehouse_id__in=warehouses) | Q(point_id__in=points)


def item_list(*, user=None) -> QuerySet[StockItem]:
    return StockItem.objects.prefetch_related("units")


def lot_list(*, user=None) -> QuerySet[StockLot]:
    return StockLot.objects.select_related("item")


def balance_list(*, user) -> QuerySet[StockBalance]:
    return StockBalance.objects.filter(_visible_locations(user)).select_related("warehouse", "point", "item", "lot")


def movement_list(*, user) -> QuerySet[StockMovement]:
    return StockMovement.objects.filter(_visible_locations(user)).select_related(
        "warehouse", "point", "item", "lot", "document"
    )


def document_list(*, user) -> QuerySet[StockDocument]:
    warehouses = scope_queryset(Warehouse.objects.all(), user).values("pk")
    points = scope_queryset(DistributionPoint.objects.all(), user).values("pk")
    return StockDocument.objects.filter(
        Q(source_warehouse_id__in=warehouses) | Q(destination_warehouse_id__in=warehouses) | Q(point_id__in=points)
    ).select_related("source_warehouse", "destination_warehouse", "point", "created_by")


def stock_alerts(*, user, today: datetime.date | None = None) -> list[dict]:
    """Minimum-stock and expiry alerts in the user's areas: `low_stock` (an item below its minimum at a location,
    lots added up), `near_expiry` (a lot on hand expiring within the item's near-expiry days) and `expired`."""
    today = today or timezone.localdate()
    balances = list(balance_list(user=user).filter(on_hand__gt=0))
    alerts: list[dict] = []
    totals: dict[tuple, Decimal] = {}
    places: dict[tuple, object] = {}
    for balance in balances:
        key = (balance.warehouse_id, balance.point_id, balance.item_id)
        totals[key] = totals.get(key, Decimal(0)) + balance.on_hand
        places[key] = balance
        lot = balance.lot
        if lot is None or lot.expires_on is None:
            continue
        place = balance.warehouse or balance.point
        if lot.expires_on < today:
            kind, message = "expired", f"{balance.item.name} lot {lot.code} at {place.code} expired on {lot.expires_on}"
        elif lot.expires_on <= today + datetime.timedelta(days=balance.item.near_expiry_days):
            kind, message = (
                "near_expiry",
                f"{balance.item.name} lot {lot.code} at {place.code} expires on {lot.expires_on}",
            )
        else:
            continue
        alerts.append(_alert(kind, balance, message, lot=lot.code, expires_on=lot.expires_on.isoformat()))
    # Below minimum: locations holding the item at all, and every location with a balance row of it (even at zero).
    for balance in balance_list(user=user).filter(item__minimum_stock__isnull=False, on_hand=0):
        key = (balance.warehouse_id, balance.point_id, balance.item_id)
        totals.setdefault(key, Decimal(0))
        places.setdefault(key, balance)
    for key, total in totals.items():
        balance = places[key]
        minimum = balance.item.minimum_stock
        if minimum is not None and total < minimum:
            place = balance.warehouse or balance.point
            message = (
                f"{balance.item.name} at {place.code}: {total.normalize():f} {balance.item.base_unit} on hand, "
                f"below the minimum of {minimum.normalize():f}"
            )
            alerts.append(_alert("low_stock", balance, message, on_hand=str(total), minimum=str(minimum)))
    order = {"expired": 0, "low_stock": 1, "near_expiry": 2}
    alerts.sort(key=lambda a: (order[a["kind"]], a["location_code"], a["item"]))
    return alerts


def _alert(kind: str, balance: StockBalance, message: str, **extra) -> dict:
    place = balance.warehouse or balance.point
    return {
        "kind": kind,
        "item": balance.item.code,
        "item_name": balance.item.name,
        "location_kind": "warehouse" if balance.warehouse_id else "point",
        "location_id": place.pk,
        "location_code": place.code,
        "location_name": place.name,
        "message": message,
        **extra,
    }
