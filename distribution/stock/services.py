"""Writes to the stock ledger. Every change is movement lines inserted in one statement (the ledger's trigger moves
the balances and the database refuses negative stock, a warehouse above capacity and a second reversal of a line);
Python only chooses the lots (first expiry, first out) and turns the database's refusals into messages naming the
item or the row.

The document services (receive, transfer, dispatch, loss, count, reverse) are one transaction each. `stock_issue`
and `stock_return` run inside the caller's transaction (a redemption writes its rows and moves the goods together).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from distribution.models import DistributionPoint, Warehouse
from distribution.stock import selectors
from distribution.stock.models import (
    Kind,
    StockBalance,
    StockDocument,
    StockDocumentLine,
    StockItem,
    StockLot,
    StockMovement,
)
from geo.selectors import area_in_scope

Doc = StockDocument.DocumentKind
PREFIX = {
    Doc.RECEIPT: "GRN",
    Doc.TRANSFER: "TRF",
    Doc.DISPATCH: "WB",
    Doc.LOSS: "LOSS",
    Doc.ADJUSTMENT: "CNT",
    Doc.RETURN: "RET",
    Doc.REVERSAL: "REV",
}
MAX_LINES = 500


@dataclass(frozen=True)
class Place:
    """A stock location: a warehouse or a distribution point."""

    warehouse: Warehouse | None = None
    point: DistributionPoint | None = None

    @property
    def code(self) -> str:
        return (self.warehouse or self.point).code

    @property
    def filter(self) -> Q:
        if self.warehouse is not None:
            return Q(warehouse_id=self.warehouse.pk, point_id__isnull=True)
        return Q(point_id=self.point.pk, warehouse_id__isnull=True)

    def fields(self) -> dict:
        return {"warehouse": self.warehouse, "point": self.point}


def _warehouse(warehouse_id, *, field: str, user=None) -> Warehouse:
    warehouse = Warehouse.objects.filter(pk=warehouse_id).first() if _is_id(warehouse_id) else None
    if warehouse is None:
        raise ValidationError({field: f"Unknown warehouse {warehouse_id!r}."})
    _check_scope(warehouse, user)
    return warehouse


def _point(point_id, *, field: str, user=None) -> DistributionPoint:
    point = DistributionPoint.objects.filter(pk=point_id).first() if _is_id(point_id) else None
    if point is None:
        raise ValidationError({field: f"Unknown distribution point {point_id!r}."})
    _check_scope(point, user)
    return point


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _check_scope(place, user) -> None:
    if user is not None and getattr(user, "is_authenticated", False) and not area_in_scope(user, place.area_id):
        raise PermissionDenied(f"{place.code} lies outside your areas.")


def _place(*, warehouse_id=None, point_id=None, user=None) -> Place:
    if (warehouse_id is None) == (point_id is None):
        raise ValidationError({"location": "Give either a warehouse or a distribution point."})
    if warehouse_id is not None:
        return Place(warehouse=_warehouse(warehouse_id, field="warehouse", user=user))
    return Place(point=_point(point_id, field="point", user=user))


def _next_number(kind: str, day: datetime.date) -> str:
    """GRN-202612-00001: numbered per kind and month, without gaps (the counter rolls back with the transaction)."""
    prefix = f"{PREFIX[kind]}-{day:%Y%m}"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO distribution_stockdocumentnumber AS n (prefix, last) VALUES (%s, 1) "
            "ON CONFLICT (prefix) DO UPDATE SET last = n.last + 1 RETURNING last",
            [prefix],
        )
        return f"{prefix}-{cursor.fetchone()[0]:05d}"


def _user(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _day(occurred_on) -> datetime.date:
    if occurred_on in (None, ""):
        return timezone.localdate()
    if isinstance(occurred_on, datetime.date):
        day = occurred_on
    else:
        try:
            day = datetime.date.fromisoformat(str(occurred_on))
        except ValueError:
            raise ValidationError({"occurred_on": f"{occurred_on!r} is not a date (YYYY-MM-DD)."}) from None
    if day > timezone.localdate():
        raise ValidationError({"occurred_on": "A movement cannot happen in the future."})
    return day


def _lines(lines) -> list[Mapping]:
    if not isinstance(lines, Sequence) or isinstance(lines, str) or not lines:
        raise ValidationError({"lines": "Give at least one line."})
    if len(lines) > MAX_LINES:
        raise ValidationError({"lines": f"At most {MAX_LINES} lines per document."})
    for number, line in enumerate(lines):
        if not isinstance(line, Mapping):
            raise ValidationError({f"lines[{number}]": "Each line is an object with item, quantity and unit."})
    return list(lines)


def _amount(value, *, field: str, allow_zero: bool = True) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    try:
        amount = Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        raise ValidationError({field: f"{value!r} is not a number."}) from None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero) or amount >= Decimal("1e15"):
        raise ValidationError({field: "Give a number of zero or more."})
    return amount


@dataclass
class _Line:
    item: StockItem
    unit: str
    quantity: Decimal  # as written, in `unit`
    base: Decimal  # in the item's base unit
    lot_code: str | None
    expires_on: datetime.date | None
    shortage: Decimal = Decimal(0)
    damaged: Decimal = Decimal(0)


def _read_line(line: Mapping, at: str, *, receipt: bool = False) -> _Line:
    item = selectors.item_get(line.get("item"), field=f"{at}.item")
    unit = line.get("unit") or item.base_unit
    if not isinstance(unit, str):
        raise ValidationError({f"{at}.unit": "The unit is a text code."})
    quantity = selectors.to_base(item, line.get("quantity"), unit, field=f"{at}.quantity", unit_field=f"{at}.unit")
    written = Decimal(str(line.get("quantity")))
    lot = line.get("lot") or None
    if lot is not None and (not isinstance(lot, str) or len(lot) > 64):
        raise ValidationError({f"{at}.lot": "A lot is a code of at most 64 characters."})
    expires = line.get("expires_on") or None
    if expires is not None and not isinstance(expires, datetime.date):
        try:
            expires = datetime.date.fromisoformat(str(expires))
        except ValueError:
            raise ValidationError({f"{at}.expires_on": f"{expires!r} is not a date (YYYY-MM-DD)."}) from None
    result = _Line(item=item, unit=unit, quantity=written, base=quantity, lot_code=lot, expires_on=expires)
    if receipt:
        result.shortage = _amount(line.get("shortage"), field=f"{at}.shortage")
        result.damaged = _amount(line.get("damaged"), field=f"{at}.damaged")
        if result.shortage + result.damaged > written:
            raise ValidationError({f"{at}.shortage": "Shortage and damage together exceed the quantity on the line."})
        if expires is not None and lot is None:
            result.lot_code = expires.isoformat()
        if item.tracks_lots and result.lot_code is None:
            raise ValidationError({f"{at}.lot": f"{item.code} is tracked by lot: give the lot or its expiry date."})
    elif line.get("shortage") or line.get("damaged"):
        raise ValidationError({f"{at}.shortage": "Shortage and damage are recorded on a goods received note only."})
    return result


def _receipt_lot(line: _Line, at: str) -> StockLot | None:
    if line.lot_code is None:
        return None
    lot, created = StockLot.objects.get_or_create(
        item=line.item, code=line.lot_code, defaults={"expires_on": line.expires_on}
    )
    if not created and line.expires_on is not None and lot.expires_on != line.expires_on:
        raise ValidationError(
            {f"{at}.expires_on": f"Lot {lot.code} of {line.item.code} is known to expire on {lot.expires_on}."}
        )
    return lot


def _named_lot(line: _Line, at: str) -> StockLot | None:
    if line.lot_code is None:
        return None
    lot = StockLot.objects.filter(item=line.item, code=line.lot_code).first()
    if lot is None:
        raise ValidationError({f"{at}.lot": f"Unknown lot {line.lot_code!r} of {line.item.code}."})
    return lot


def _allocate(
    place: Place, item: StockItem, base: Decimal, *, lot: StockLot | None, field: str, day: datetime.date
) -> list[tuple[StockLot | None, Decimal]]:
    """First expiry, first out: [(lot, quantity)] taking `base` from the place's lots that have not expired, the
    soonest expiry first (lots without expiry last). The balances are locked in key order, so concurrent issues
    from the same lot queue on the row; the CHECK on the balance stays the guard if anything slips."""
    rows = (
        StockBalance.objects.filter(place.filter, item=item, on_hand__gt=0)
        .filter(Q(lot__isnull=True) | Q(lot__expires_on__isnull=True) | Q(lot__expires_on__gte=day))
        .select_related("lot")
        .order_by("pk")
    )
    if lot is not None:
        rows = rows.filter(lot=lot)
    locked = list(rows.select_for_update(of=("self",)))
    locked.sort(
        key=lambda b: (
            b.lot is None,
            b.lot.expires_on is None if b.lot else True,
            b.lot.expires_on if b.lot and b.lot.expires_on else datetime.date.max,
            b.pk,
        )
    )
    taken: list[tuple[StockLot | None, Decimal]] = []
    left = base
    for balance in locked:
        if left <= 0:
            break
        take = min(left, balance.on_hand)
        taken.append((balance.lot, take))
        left -= take
    if left > 0:
        available = base - left
        what = f"{item.name} ({item.code})" + (f" lot {lot.code}" if lot else "")
        raise ValidationError(
            {
                field: f"Not enough {what} at {place.code}: {_fmt(available)} {item.base_unit} usable on hand, "
                f"{_fmt(base)} {item.base_unit} asked."
            }
        )
    return taken


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


CONSTRAINT_MESSAGES = {
    "distribution_stockbalance_non_negative": "Not enough stock: the movement would take {what} below zero.",
    "distribution_stock_capacity": "{detail}",
    "distribution_stockmovement_reversed_once": "This movement has already been reversed.",
    "distribution_stockmovement_exact_reversal": "{detail}",
}


def _refusal(error: IntegrityError, *, field: str, what: str) -> ValidationError:
    """The database's refusal (negative stock, capacity, a second or inexact reversal) as a ValidationError on
    `field`; any other integrity error is not ours to explain and is raised as it is."""
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name not in CONSTRAINT_MESSAGES:
        raise error
    detail = (getattr(diag, "message_primary", None) or str(cause)).strip()
    if name == "distribution_stock_capacity":
        detail = f"Receipt refused: {detail}."
    return ValidationError({field: CONSTRAINT_MESSAGES[name].format(what=what, detail=detail)})


def _insert(movements: list[StockMovement], *, field: str, what: str) -> list[StockMovement]:
    """All lines in one statement (the trigger sees them together); a refusal by the database becomes a
    ValidationError on `field`, and the savepoint leaves nothing of them."""
    try:
        with transaction.atomic():
            return StockMovement.objects.bulk_create(movements)
    except IntegrityError as error:
        raise _refusal(error, field=field, what=what) from None


def _document(kind: str, day: datetime.date, user, **fields) -> StockDocument:
    return StockDocument.objects.create(
        kind=kind, number=_next_number(kind, day), occurred_on=day, created_by=_user(user), **fields
    )


def _text(value, field: str, limit: int) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise ValidationError({field: f"Give a text of at most {limit} characters."})
    return value.strip()


# ---- Documents


@transaction.atomic(durable=True)
def stock_receive(
    *,
    warehouse_id: int,
    lines: Sequence[Mapping],
    supplier: str = "",
    reference: str = "",
    waybill: str = "",
    occurred_on: datetime.date | str | None = None,
    user=None,
) -> StockDocument:
    """A goods received note: each line {item, quantity, unit, lot?, expires_on?, shortage?, damaged?}, quantity as
    on the waybill. What arrived in good order (quantity − shortage − damaged) goes into stock; damage is written off
    at once as a loss with its reason. A warehouse filled above its capacity is refused (the database's check)."""
    warehouse = _warehouse(warehouse_id, field="warehouse", user=user)
    day = _day(occurred_on)
    read = [_read_line(line, f"lines[{n}]", receipt=True) for n, line in enumerate(_lines(lines))]
    document = _document(
        Doc.RECEIPT,
        day,
        user,
        destination_warehouse=warehouse,
        supplier=_text(supplier, "supplier", 200),
        reference=_text(reference or waybill, "reference", 100),
    )
    movements = []
    for n, line in enumerate(read):
        at = f"lines[{n}]"
        lot = _receipt_lot(line, at)
        factor = line.base / line.quantity
        shortage_base = (line.shortage * factor).quantize(selectors.BASE)
        damaged_base = (line.damaged * factor).quantize(selectors.BASE)
        StockDocumentLine.objects.create(
            document=document,
            line=n + 1,
            item=line.item,
            lot=lot,
            unit=line.unit,
            quantity=line.quantity,
            shortage=line.shortage,
            damaged=line.damaged,
            base_quantity=line.base,
        )
        arrived = line.base - shortage_base
        common = {
            "document": document,
            "warehouse": warehouse,
            "item": line.item,
            "lot": lot,
            "occurred_on": day,
            "reference": document.number,
            "created_by": _user(user),
        }
        if arrived > 0:
            movements.append(StockMovement(kind=Kind.RECEIPT, quantity=arrived, **common))
        if damaged_base > 0:
            movements.append(
                StockMovement(kind=Kind.LOSS, quantity=-damaged_base, reason="damaged at receipt", **common)
            )
    if movements:
        _insert(movements, field="lines", what="stock")
    return document


def _moving_document(
    kind: str, source: Place, destination: Place, lines, *, reference, vehicle, driver, occurred_on, user
) -> StockDocument:
    day = _day(occurred_on)
    read = [_read_line(line, f"lines[{n}]") for n, line in enumerate(_lines(lines))]
    out_kind, in_kind = (
        (Kind.TRANSFER_OUT, Kind.TRANSFER_IN) if kind == Doc.TRANSFER else (Kind.DISPATCH_OUT, Kind.DISPATCH_IN)
    )
    document = _document(
        kind,
        day,
        user,
        source_warehouse=source.warehouse,
        destination_warehouse=destination.warehouse,
        point=destination.point,
        reference=_text(reference, "reference", 100),
        vehicle=_text(vehicle, "vehicle", 100),
        driver=_text(driver, "driver", 100),
    )
    movements = []
    for n, line in enumerate(read):
        at = f"lines[{n}]"
        lot = _named_lot(line, f"{at}.lot")
        taken = _allocate(source, line.item, line.base, lot=lot, field=f"{at}.quantity", day=day)
        for number, (taken_lot, quantity) in enumerate(taken):
            StockDocumentLine.objects.create(
                document=document,
                line=len(movements) // 2 + 1,
                item=line.item,
                lot=taken_lot,
                unit=line.item.base_unit if len(taken) > 1 or number else line.unit,
                quantity=quantity if len(taken) > 1 else line.quantity,
                base_quantity=quantity,
            )
            common = {
                "document": document,
                "item": line.item,
                "lot": taken_lot,
                "occurred_on": day,
                "reference": document.number,
                "created_by": _user(user),
            }
            movements.append(StockMovement(kind=out_kind, quantity=-quantity, **source.fields(), **common))
            movements.append(StockMovement(kind=in_kind, quantity=quantity, **destination.fields(), **common))
    _insert(movements, field="lines", what="stock")
    return document


@transaction.atomic(durable=True)
def stock_transfer(
    *,
    source_id: int,
    destination_id: int,
    lines: Sequence[Mapping],
    reference: str = "",
    vehicle: str = "",
    driver: str = "",
    occurred_on=None,
    user=None,
) -> StockDocument:
    """Move goods between warehouses on a transfer waybill, lots chosen first expiry first out unless a line names
    one; refused (nothing written) when any line has not enough stock or the destination would go above capacity."""
    source = Place(warehouse=_warehouse(source_id, field="source", user=user))
    destination = Place(warehouse=_warehouse(destination_id, field="destination", user=user))
    if source.warehouse.pk == destination.warehouse.pk:
        raise ValidationError({"destination": "The destination is the source warehouse."})
    return _moving_document(
        Doc.TRANSFER,
        source,
        destination,
        lines,
        reference=reference,
        vehicle=vehicle,
        driver=driver,
        occurred_on=occurred_on,
        user=user,
    )


@transaction.atomic(durable=True)
def stock_dispatch(
    *,
    warehouse_id: int,
    point_id: int,
    lines: Sequence[Mapping],
    reference: str = "",
    vehicle: str = "",
    driver: str = "",
    occurred_on=None,
    user=None,
) -> StockDocument:
    """Send goods from a warehouse to a distribution point on a waybill (lots first expiry first out); the goods
    are in the point's stock once the waybill is recorded."""
    source = Place(warehouse=_warehouse(warehouse_id, field="warehouse", user=user))
    destination = Place(point=_point(point_id, field="point", user=user))
    return _moving_document(
        Doc.DISPATCH,
        source,
        destination,
        lines,
        reference=reference,
        vehicle=vehicle,
        driver=driver,
        occurred_on=occurred_on,
        user=user,
    )


@transaction.atomic(durable=True)
def stock_loss(
    *,
    item_code: str,
    quantity,
    unit: str,
    reason: str,
    warehouse_id: int | None = None,
    point_id: int | None = None,
    lot: str | None = None,
    occurred_on=None,
    user=None,
) -> StockDocument:
    """Write off lost, stolen, damaged or expired goods with the reason (a named lot, or first expiry first out —
    expired lots included, since spoiled goods are what is written off)."""
    place = _place(warehouse_id=warehouse_id, point_id=point_id, user=user)
    reason = _text(reason, "reason", 255)
    if not reason:
        raise ValidationError({"reason": "Say why the goods are lost or damaged."})
    day = _day(occurred_on)
    line = _read_line({"item": item_code, "quantity": quantity, "unit": unit, "lot": lot}, "line")
    named = _named_lot(line, "lot")
    taken = _allocate(place, line.item, line.base, lot=named, field="quantity", day=datetime.date.min)
    document = _document(Doc.LOSS, day, user, source_warehouse=place.warehouse, point=place.point, reason=reason)
    movements = []
    for n, (taken_lot, amount) in enumerate(taken):
        StockDocumentLine.objects.create(
            document=document,
            line=n + 1,
            item=line.item,
            lot=taken_lot,
            unit=line.item.base_unit,
            quantity=amount,
            base_quantity=amount,
        )
        movements.append(
            StockMovement(
                kind=Kind.LOSS,
                quantity=-amount,
                item=line.item,
                lot=taken_lot,
                reason=reason,
                document=document,
                occurred_on=day,
                reference=document.number,
                created_by=_user(user),
                **place.fields(),
            )
        )
    _insert(movements, field="quantity", what="stock")
    return document


@transaction.atomic(durable=True)
def stock_count(
    *,
    item_code: str,
    counted,
    unit: str,
    reason: str = "physical count",
    warehouse_id: int | None = None,
    point_id: int | None = None,
    lot: str | None = None,
    occurred_on=None,
    user=None,
) -> StockDocument:
    """A physical count of one item (and lot) at a location: the difference from the ledger is an adjustment line."""
    place = _place(warehouse_id=warehouse_id, point_id=point_id, user=user)
    item = selectors.item_get(item_code)
    counted_base = (_amount(counted, field="counted") * selectors.unit_factor(item, unit or item.base_unit)).quantize(
        selectors.BASE
    )
    lot_row = StockLot.objects.filter(item=item, code=lot).first() if lot else None
    if lot and lot_row is None:
        raise ValidationError({"lot": f"Unknown lot {lot!r} of {item.code}."})
    day = _day(occurred_on)
    balance = StockBalance.objects.select_for_update(of=("self",)).filter(place.filter, item=item, lot=lot_row).first()
    on_hand = balance.on_hand if balance else Decimal(0)
    document = _document(
        Doc.ADJUSTMENT,
        day,
        user,
        source_warehouse=place.warehouse,
        point=place.point,
        reason=_text(reason, "reason", 255),
    )
    StockDocumentLine.objects.create(
        document=document,
        line=1,
        item=item,
        lot=lot_row,
        unit=item.base_unit,
        quantity=counted_base,
        base_quantity=counted_base,
    )
    if counted_base != on_hand:
        _insert(
            [
                StockMovement(
                    kind=Kind.ADJUSTMENT,
                    quantity=counted_base - on_hand,
                    item=item,
                    lot=lot_row,
                    document=document,
                    occurred_on=day,
                    reference=document.number,
                    reason=document.reason,
                    created_by=_user(user),
                    **place.fields(),
                )
            ],
            field="counted",
            what="stock",
        )
    return document


@transaction.atomic(durable=True)
def stock_reverse(*, document_id: int, reason: str, user=None) -> StockDocument:
    """Reverse a whole document: one reversing line per line of it, dated today, each pointing back at the line it
    cancels. A line reverses at most once (the database's partial unique index), and a reversal that would take stock
    below zero (goods already handed out) is refused."""
    original = StockDocument.objects.filter(pk=document_id).first() if _is_id(document_id) else None
    if original is None:
        raise ValidationError({"document": f"Unknown document {document_id!r}."})
    if original.kind == Doc.REVERSAL:
        raise ValidationError({"document": "A reversal cannot itself be reversed; record a new movement instead."})
    reason = _text(reason, "reason", 255)
    if not reason:
        raise ValidationError({"reason": "Say why the document is reversed."})
    for place in (original.source_warehouse, original.destination_warehouse, original.point):
        if place is not None:
            _check_scope(place, user)
    lines = list(original.movements.order_by("pk"))
    if not lines:
        raise ValidationError({"document": f"{original.number} moved no stock; there is nothing to reverse."})
    day = timezone.localdate()
    document = _document(
        Doc.REVERSAL,
        day,
        user,
        source_warehouse=original.source_warehouse,
        destination_warehouse=original.destination_warehouse,
        point=original.point,
        reason=reason,
        reverses=original,
        reference=original.number,
    )
    movements = [
        StockMovement(
            kind=Kind.REVERSAL,
            quantity=-line.quantity,
            warehouse_id=line.warehouse_id,
            point_id=line.point_id,
            item_id=line.item_id,
            lot_id=line.lot_id,
            reverses=line,
            document=document,
            occurred_on=day,
            reference=original.number,
            reason=reason,
            created_by=_user(user),
        )
        for line in lines
    ]
    _insert(movements, field="document", what="stock")
    return document


# ---- Inside the caller's transaction (redemption)


def stock_issue(
    *, point_id: int, item_code: str, quantity, unit: str, reference: str, user=None
) -> list[StockMovement]:
    """Hand goods to a beneficiary at a distribution point: distribution lines from the point's lots, first expiry
    first out (expired lots never handed out), inside the caller's transaction. Not enough stock is a
    ValidationError naming the item; nothing is written then."""
    point = _point(point_id, field="point")
    item = selectors.item_get(item_code)
    base = selectors.to_base(item, quantity, unit)
    day = timezone.localdate()
    reference = _text(reference, "reference", 100)
    # One savepoint for the lock and the insert (a redemption calls this once per item): a refusal rolls it back and
    # leaves the caller's transaction usable.
    try:
        with transaction.atomic():
            taken = _allocate(Place(point=point), item, base, lot=None, field="item", day=day)
            movements = [
                StockMovement(
                    kind=Kind.DISTRIBUTION,
                    quantity=-amount,
                    point=point,
                    item=item,
                    lot=lot,
                    reference=reference,
                    occurred_on=day,
                    created_by=_user(user),
                )
                for lot, amount in taken
            ]
            return StockMovement.objects.bulk_create(movements)
    except IntegrityError as error:
        raise _refusal(error, field="item", what=f"{item.name} ({item.code}) at {point.code}") from None


def stock_return(
    *,
    item_code: str,
    quantity,
    unit: str,
    reference: str,
    point_id: int | None = None,
    warehouse_id: int | None = None,
    lot: str | None = None,
    user=None,
) -> list[StockMovement]:
    """Goods given back to a location (a beneficiary's return, a redemption corrected), inside the caller's
    transaction. Without a lot, into the lots most recently handed out there, as much as each gave out, so a
    correction puts the goods back where they came from."""
    place = _place(warehouse_id=warehouse_id, point_id=point_id)
    item = selectors.item_get(item_code)
    base = selectors.to_base(item, quantity, unit)
    day = timezone.localdate()
    portions: list[tuple[StockLot | None, Decimal]] = []
    if lot:
        named = StockLot.objects.filter(item=item, code=lot).first()
        if named is None:
            raise ValidationError({"lot": f"Unknown lot {lot!r} of {item.code}."})
        portions = [(named, base)]
    else:
        left = base
        recent = (
            StockMovement.objects.filter(place.filter, item=item, kind=Kind.DISTRIBUTION)
            .select_related("lot")
            .order_by("-pk")[:50]
        )
        last_lot = None
        for movement in recent:
            if left <= 0:
                break
            take = min(left, -movement.quantity)
            portions.append((movement.lot, take))
            last_lot = movement.lot if last_lot is None else last_lot
            left -= take
        if left > 0:
            portions.append((last_lot, left))
    merged: dict[int | None, list] = {}
    for lot_row, amount in portions:
        key = lot_row.pk if lot_row else None
        merged.setdefault(key, [lot_row, Decimal(0)])[1] += amount
    with transaction.atomic():
        movements = [
            StockMovement(
                kind=Kind.RETURN,
                quantity=amount,
                item=item,
                lot=lot_row,
                occurred_on=day,
                reference=_text(reference, "reference", 100),
                created_by=_user(user),
                **place.fields(),
            )
            for lot_row, amount in merged.values()
        ]
        return _insert(movements, field="item", what="stock")


def stock_rebuild() -> int:
    """Recompute every balance from the ledger (the trigger keeps them; this proves or repairs them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT distribution_stock_rebuild()")
        return cursor.fetchone()[0]


@transaction.atomic(durable=True)
def stock_item_save(*, user=None, item: StockItem | None = None, units: Sequence[Mapping] | None = None, **fields):
    """Create or change a catalogue item; `units` (if given) replaces its other units [{code, factor, name?,
    is_pack?}]. The base unit cannot change once the ledger holds the item (its quantities are in it)."""
    changes_base = item is not None and fields.get("base_unit", item.base_unit) != item.base_unit
    if changes_base and StockMovement.objects.filter(item=item).exists():
        raise ValidationError({"base_unit": "The ledger already counts this item in its base unit."})
    item = item or StockItem()
    for name, value in fields.items():
        setattr(item, name, value)
    item.save()
    if units is not None:
        codes = [unit["code"] for unit in units]
        if len(set(codes)) != len(codes) or item.base_unit in codes:
            raise ValidationError({"units": "Each unit once, and not the base unit (which is always 1)."})
        item.units.exclude(code__in=codes).delete()
        for unit in units:
            item.units.update_or_create(code=unit["code"], defaults={k: v for k, v in unit.items() if k != "code"})
    return item
