"""Writes for redemption: devices, redeeming an entitlement at a point (scanned voucher, or a registry search with
an ID check), corrections, and offline batches.

The database decides what may be handed over: every line moves its entitlement's balance (distribution/sql/
0008_redemption.sql), whose check refuses anything beyond the entitlement, so two points redeeming the same
entitlement at the same moment cannot both succeed; the second is refused with who, where and when of the first.
Goods leave the point's stock ledger in the same transaction (distribution.redemption.stock). The checks in Python
only give better words, earlier.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from distribution.models import DistributionPoint
from distribution.redemption import stock, vouchers
from distribution.redemption.models import (
    CASH_ITEM,
    Device,
    Redemption,
    RedemptionBalance,
    RedemptionBatch,
    RedemptionConflict,
    RedemptionLine,
)
from geo.selectors import area_in_scope
from programs.models import Cycle, Entitlement, EntitlementItem
from registry.models import IdDocument

BALANCE_CHECK = "distribution_redemptionbalance_within_entitlement"
IDEMPOTENCY = "distribution_redemption_idempotent"
REVERSED_ONCE = "distribution_redemption_reversed_once"
# A device's clock may run a little ahead of the server's.
CLOCK_SKEW = datetime.timedelta(minutes=10)
# Applied in the request (the device wants each record's answer); about 50 records a second on a small server, so a
# device with more sends several batches.
MAX_BATCH_RECORDS = 500


class RedemptionRefused(ValidationError):
    """A redemption the rules refuse: `reason` is a stable code (expired, cancelled, paused, not_approved, foreign,
    already_redeemed, insufficient_stock, paid, id_mismatch, unknown, invalid, key_reused), `previous` the
    redemptions that got there first when that is the reason."""

    def __init__(self, field: str, message: str, *, reason: str, previous: list[dict] | None = None):
        super().__init__({field: [message]})
        self.field = field
        self.text = message
        self.reason = reason
        self.previous = previous or []

    def as_dict(self) -> dict:
        return {"reason": self.reason, "field": self.field, "message": self.text, "previous": self.previous}


@dataclass(frozen=True)
class _Line:
    item: str
    quantity: Decimal
    unit: str
    base_quantity: Decimal
    base_unit: str


# ---------------------------------------------------------------------------------------------------------- input


def parse_quantity(value, *, field: str, places: int = 3) -> Decimal:
    """A positive decimal with at most `places` decimals, from a number or a string, or a ValidationError naming
    the field."""
    if isinstance(value, bool) or value is None or value == "":
        raise ValidationError({field: "Give a positive number."})
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"{str(value)[:40]!r} is not a number."}) from None
    if not number.is_finite() or number <= 0:
        raise ValidationError({field: "Give a positive number."})
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError({field: f"At most {places} decimals."})
    if number >= Decimal(10) ** 11:
        raise ValidationError({field: "The number is too large."})
    return number


def plain(number: Decimal) -> str:
    """A decimal as people write it: 500, 2.5 (never 5E+2, never 2.500000)."""
    text = format(number.normalize(), "f")
    return text


def _normalise_id_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def request_hash(record: dict) -> str:
    """SHA-256 of a record as canonical JSON (sorted keys, no spaces): the same request always hashes the same."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------------------------------------- devices


def _decode_key(text: str, *, field: str, length: int) -> bytes:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({field: "Required."})
    cleaned = text.strip()
    try:
        raw = base64.urlsafe_b64decode(cleaned.replace("+", "-").replace("/", "_") + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raise ValidationError({field: "Not base64."}) from None
    if len(raw) != length:
        raise ValidationError({field: f"Expected {length} bytes in base64, got {len(raw)}."})
    return raw


def device_register(*, user, point_id: int, name: str, public_key: str, key_id: str = "") -> Device:
    """Register a device to a point with its Ed25519 public key (32 bytes, base64 or base64url)."""
    point = _point_for(user, point_id)
    raw = _decode_key(public_key, field="public_key", length=32)
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ValidationError({"public_key": "This is not an Ed25519 public key."}) from None
    if not isinstance(name, str) or not name.strip():
        raise ValidationError({"name": "Name the device (for example the operator's tablet at the school)."})
    key_id = (key_id or "").strip() or f"dev-{point.code.lower()}-{uuid.uuid4().hex[:8]}"
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,64}", key_id):
        raise ValidationError({"key_id": "Letters, digits, dashes and underscores only (at most 64)."})
    if Device.objects.filter(key_id=key_id).exists():
        raise ValidationError({"key_id": f"A device {key_id!r} is registered already."})
    with transaction.atomic(durable=True):
        return Device.objects.create(
            point=point, key_id=key_id, name=name.strip()[:200], public_key=raw, registered_by=user
        )


def device_revoke(*, user, device: Device) -> Device:
    """A revoked device's batches are refused from now on; what it uploaded before stays."""
    _point_for(user, device.point_id)
    with transaction.atomic(durable=True):
        Device.objects.filter(pk=device.pk, is_active=True).update(is_active=False, revoked_at=timezone.now())
    device.refresh_from_db()
    return device


# ------------------------------------------------------------------------------------------------------ the rules


def _point_for(user, point_id) -> DistributionPoint:
    point = DistributionPoint.objects.select_related("area").filter(pk=point_id).first()
    if point is None or not area_in_scope(user, point.area_id):
        raise ValidationError({"point": "No such distribution point in your areas."})
    return point


def _service_area_id(point: DistributionPoint) -> int | None:
    """The area a point serves: its own, or its ancestor at settings.SPMIS_REDEMPTION_SERVICE_LEVEL when set (a
    point in a village serving its whole union, say)."""
    if point.area is None:
        return None
    level = getattr(settings, "SPMIS_REDEMPTION_SERVICE_LEVEL", None)
    lineage = list(point.area.lineage or [point.area_id])
    if level is None or level >= len(lineage):
        return point.area_id
    return lineage[level]


def describe(redemption: Redemption) -> dict:
    """Who, where and when of a redemption, as a refusal names it."""
    operator = redemption.operator_label or (redemption.operator.get_username() if redemption.operator else "")
    return {
        "redemption": redemption.code,
        "point": redemption.point.code,
        "point_name": redemption.point.name,
        "device": redemption.device.key_id if redemption.device else None,
        "operator": operator,
        "at": redemption.occurred_at.isoformat(),
    }


def _previous(entitlement_id: int) -> list[dict]:
    """The redemptions of an entitlement still standing (not corrected), oldest first."""
    rows = (
        Redemption.objects.select_related("point", "device", "operator")
        .filter(entitlement_id=entitlement_id, kind=Redemption.Kind.REDEMPTION, corrections__isnull=True)
        .order_by("id")[:20]
    )
    return [describe(row) for row in rows]


def _already_redeemed(entitlement: Entitlement, field: str) -> RedemptionRefused:
    previous = _previous(entitlement.pk)
    if previous:
        first = previous[0]
        where = f"{first['point_name']} ({first['point']})"
        who = f" by {first['operator']}" if first["operator"] else ""
        message = f"Entitlement {entitlement.code} was already redeemed at {where}{who} on {first['at']}."
    else:
        message = f"Entitlement {entitlement.code} was already redeemed."
    return RedemptionRefused(field, message, reason="already_redeemed", previous=previous)


def _check_entitlement(entitlement: Entitlement, point: DistributionPoint, user, *, on: datetime.date, field: str):
    """Refuse, with the reason, an entitlement this point may not hand over today (or on the day it happened)."""
    code = entitlement.code
    cycle = entitlement.cycle
    if entitlement.status == Entitlement.Status.CANCELLED or cycle.state == Cycle.State.CANCELLED:
        raise RedemptionRefused(field, f"Entitlement {code} was cancelled.", reason="cancelled")
    if entitlement.status == Entitlement.Status.PAUSED:
        # Paused by programs (the beneficiary's death was recorded): held back until an officer resumes it.
        raise RedemptionRefused(field, f"Entitlement {code} is paused and cannot be redeemed.", reason="paused")
    if entitlement.status != Entitlement.Status.APPROVED or cycle.state in (Cycle.State.DRAFT, Cycle.State.TO_APPROVE):
        raise RedemptionRefused(field, f"Entitlement {code} is not approved yet.", reason="not_approved")
    if on > entitlement.valid_until or cycle.state == Cycle.State.ENDED:
        raise RedemptionRefused(
            field, f"Entitlement {code} expired on {entitlement.valid_until.isoformat()}.", reason="expired"
        )
    if on < entitlement.valid_from:
        raise RedemptionRefused(
            field, f"Entitlement {code} is valid from {entitlement.valid_from.isoformat()}.", reason="not_yet_valid"
        )
    household = entitlement.household
    if not area_in_scope(user, household.area_id):
        raise RedemptionRefused(field, f"Entitlement {code} is for a household outside your areas.", reason="foreign")
    served = _service_area_id(point)
    lineage = household.area.lineage if household.area else []
    if served is None or served not in (lineage or []):
        where = point.area.name if point.area else "no area"
        raise RedemptionRefused(
            field,
            f"Entitlement {code} is for a household outside the area this point serves ({where}).",
            reason="foreign",
        )
    program_areas = list(entitlement.program.areas.values_list("id", flat=True))
    point_lineage = set(point.area.lineage or []) if point.area else set()
    if program_areas and not point_lineage.intersection(program_areas):
        raise RedemptionRefused(
            field,
            f"Entitlement {code} is of program {entitlement.program.name}, which does not distribute at {point.code}.",
            reason="foreign",
        )
    if entitlement.kind == Entitlement.Kind.CASH:
        _refuse_if_paid(entitlement, field)


def _refuse_if_paid(entitlement: Entitlement, field: str) -> None:
    from programs.payments.models import Payment

    live = Payment.objects.filter(entitlement=entitlement).exclude(status__in=["failed", "returned", "cancelled"])
    if live.exists():
        raise RedemptionRefused(
            field,
            f"Entitlement {entitlement.code} is paid by transfer; it cannot also be redeemed as a voucher.",
            reason="paid",
        )


def _lock_and_refuse_if_paid(entitlement: Entitlement, field: str) -> None:
    """Against a payment batch paying the same voucher at the same moment (the trigger on programs_payment in
    distribution/sql/0008): lock the entitlement row, which a payment's foreign-key check shares, and look for a live
    payment afresh. Called after the lines are written, so two redemptions of one voucher still meet first on the
    balance row, where its check decides."""
    Entitlement.objects.select_for_update().filter(pk=entitlement.pk).values_list("pk").first()
    _refuse_if_paid(entitlement, field)


def _entitlement(code: str, *, field: str) -> Entitlement:
    entitlement = (
        Entitlement.objects.select_related("cycle", "program", "household__area").filter(code=code.strip()).first()
    )
    if entitlement is None:
        raise RedemptionRefused(field, f"No entitlement has the code {code.strip()[:40]!r}.", reason="unknown")
    return entitlement


def _id_document(entitlement: Entitlement, id_number, *, field: str) -> IdDocument:
    """The ID document of a current member of the entitlement's household with this number, or a refusal."""
    if not isinstance(id_number, str) or not id_number.strip():
        raise ValidationError({field: "Type the number of the ID document the person shows."})
    wanted = _normalise_id_number(id_number)
    documents = IdDocument.objects.filter(
        individual__memberships__household_id=entitlement.household_id,
        individual__memberships__end_date__isnull=True,
        individual__status="active",
    ).select_related("id_type")
    for document in documents:
        if _normalise_id_number(document.number) == wanted:
            return document
    raise RedemptionRefused(
        field, "No current member of this household holds an ID document with this number.", reason="id_mismatch"
    )


def resolve(
    *, voucher: str | None = None, entitlement_code: str | None = None, id_number: str | None = None, prefix: str = ""
) -> tuple[Entitlement, str, IdDocument | None]:
    """(entitlement, method, checked document) from a scanned voucher or a searched code with an ID check."""
    if voucher:
        claims = vouchers.verify(voucher, field=f"{prefix}voucher")
        return _entitlement(claims.entitlement_code, field=f"{prefix}voucher"), Redemption.Method.SCAN, None
    if entitlement_code:
        if not isinstance(entitlement_code, str):
            raise ValidationError({f"{prefix}entitlement": "Give the entitlement's code (ENT-…)."})
        entitlement = _entitlement(entitlement_code, field=f"{prefix}entitlement")
        document = _id_document(entitlement, id_number, field=f"{prefix}id_number")
        return entitlement, Redemption.Method.SEARCH, document
    raise ValidationError({f"{prefix}voucher": "Scan the voucher, or give the entitlement's code and an ID number."})


def _requested(entitlement: Entitlement, items, amount, *, prefix: str) -> dict[str, _Line] | None:
    """What the operator hands over, per item in base units; None means "everything that remains"."""
    if entitlement.kind == Entitlement.Kind.CASH:
        if items:
            raise ValidationError({f"{prefix}items": "A cash voucher has an amount, not items."})
        if amount in (None, ""):
            return None
        value = parse_quantity(amount, field=f"{prefix}amount")
        return {CASH_ITEM: _Line(CASH_ITEM, value, entitlement.currency, value, entitlement.currency)}
    if amount not in (None, ""):
        raise ValidationError({f"{prefix}amount": "An in-kind entitlement has items, not an amount."})
    if items in (None, []):
        return None
    if not isinstance(items, list):
        raise ValidationError({f"{prefix}items": "A list of {item, quantity, unit}."})
    granted = {row.item: row for row in EntitlementItem.objects.filter(entitlement=entitlement)}
    lines: dict[str, _Line] = {}
    for index, row in enumerate(items):
        at = f"{prefix}items[{index}]"
        if not isinstance(row, dict):
            raise ValidationError({at: "Each item is an object with item, quantity and unit."})
        item = row.get("item")
        if item not in granted:
            raise ValidationError({f"{at}.item": f"{str(item)[:64]!r} is not part of entitlement {entitlement.code}."})
        if item in lines:
            raise ValidationError({f"{at}.item": f"{item} is listed twice."})
        quantity = parse_quantity(row.get("quantity"), field=f"{at}.quantity")
        unit = row.get("unit") or granted[item].unit
        if not isinstance(unit, str):
            raise ValidationError({f"{at}.unit": "A unit code."})
        base, base_unit = stock.to_base(item, quantity, unit, field=f"{at}.unit")
        lines[item] = _Line(item, quantity, unit, base, base_unit)
    return lines


def _ensure_balances(entitlement: Entitlement) -> dict[str, RedemptionBalance]:
    """The entitlement's balance rows, created at its first redemption from what it grants."""
    wanted: list[RedemptionBalance] = []
    if entitlement.kind == Entitlement.Kind.CASH:
        wanted.append(
            RedemptionBalance(
                entitlement=entitlement, item=CASH_ITEM, unit=entitlement.currency, entitled=entitlement.amount
            )
        )
    else:
        for row in EntitlementItem.objects.filter(entitlement=entitlement).order_by("item"):
            base, base_unit = stock.to_base(row.item, row.quantity, row.unit, field="items")
            wanted.append(RedemptionBalance(entitlement=entitlement, item=row.item, unit=base_unit, entitled=base))
    # A concurrent first redemption inserting the same rows makes this wait for it, then do nothing.
    RedemptionBalance.objects.bulk_create(wanted, ignore_conflicts=True)
    return {row.item: row for row in RedemptionBalance.objects.filter(entitlement=entitlement)}


def _lines_to_hand_over(
    entitlement: Entitlement, balances: dict[str, RedemptionBalance], requested: dict[str, _Line] | None, field: str
) -> list[_Line]:
    if requested is None:
        lines = []
        for item, balance in sorted(balances.items()):
            left = balance.entitled - balance.redeemed
            if left > 0:
                lines.append(_Line(item, left, balance.unit, left, balance.unit))
        if not lines:
            raise _already_redeemed(entitlement, field)
        return lines
    for line in requested.values():
        balance = balances[line.item]
        left = balance.entitled - balance.redeemed
        if line.base_quantity > left:
            if left <= 0:
                raise _already_redeemed(entitlement, field)
            raise RedemptionRefused(
                field,
                f"Only {plain(left)} {balance.unit} of {line.item} remain on entitlement {entitlement.code}.",
                reason="over_entitlement",
                previous=_previous(entitlement.pk),
            )
    return list(requested.values())


def _write(
    *,
    user,
    point: DistributionPoint,
    entitlement: Entitlement,
    method: str,
    requested: dict[str, _Line] | None,
    field: str,
    device: Device | None = None,
    batch: RedemptionBatch | None = None,
    client_uuid: uuid.UUID | None = None,
    record_hash: str = "",
    occurred_at: datetime.datetime | None = None,
    operator_label: str = "",
    id_document: IdDocument | None = None,
) -> Redemption:
    """One redemption in one transaction: its row, the goods out of the point's stock, its lines (which move the
    balance). An IntegrityError from the balance's check or the idempotency key is turned into words here."""
    # The balance rows exist before the redemption's transaction (their own, committed at once), so concurrent
    # redemptions never wait on each other's first insert: they meet on the balance's row lock, where its check
    # decides, not the read below.
    with transaction.atomic(durable=True):
        balances = _ensure_balances(entitlement)
    try:
        with transaction.atomic(durable=True):
            balances = {row.item: row for row in RedemptionBalance.objects.filter(entitlement=entitlement)}
            lines = _lines_to_hand_over(entitlement, balances, requested, field)
            redemption = Redemption.objects.create(
                kind=Redemption.Kind.REDEMPTION,
                method=method,
                entitlement=entitlement,
                household_id=entitlement.household_id,
                program_id=entitlement.program_id,
                point=point,
                device=device,
                batch=batch,
                operator=user,
                operator_label=operator_label[:120],
                id_document=id_document,
                client_uuid=client_uuid,
                request_hash=record_hash,
                occurred_at=occurred_at or timezone.now(),
            )
            rows = []
            for line in lines:
                movements: list[int] = []
                if line.item != CASH_ITEM:
                    try:
                        movements = stock.issue(
                            point_id=point.pk,
                            item_code=line.item,
                            quantity=line.quantity,
                            unit=line.unit,
                            reference=redemption.code,
                            user=user,
                        )
                    except ValidationError as error:
                        raise RedemptionRefused(
                            field,
                            f"Not enough {line.item} at {point.code}: {' '.join(error.messages)}",
                            reason="insufficient_stock",
                        ) from None
                rows.append(
                    RedemptionLine(
                        redemption=redemption,
                        entitlement=entitlement,
                        kind=Redemption.Kind.REDEMPTION,
                        item=line.item,
                        quantity=line.quantity,
                        unit=line.unit,
                        base_quantity=line.base_quantity,
                        stock_movements=movements,
                    )
                )
            RedemptionLine.objects.bulk_create(rows)
            if entitlement.kind == Entitlement.Kind.CASH:
                _lock_and_refuse_if_paid(entitlement, field)
            return redemption
    except IntegrityError as error:
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        if constraint == BALANCE_CHECK:
            raise _already_redeemed(entitlement, field) from None
        if constraint == IDEMPOTENCY and client_uuid is not None:
            return _replay(device=device, client_uuid=client_uuid, record_hash=record_hash, field=field)
        if constraint and constraint.startswith("distribution_stock"):
            raise RedemptionRefused(field, f"Not enough stock at {point.code}.", reason="insufficient_stock") from None
        raise


def _replay(*, device: Device | None, client_uuid: uuid.UUID, record_hash: str, field: str) -> Redemption:
    """The redemption already written under this idempotency key, if the request is the same one."""
    existing = Redemption.objects.filter(device=device, client_uuid=client_uuid).first()
    if existing is None:
        raise RedemptionRefused(field, "The redemption under this key is still being written.", reason="in_progress")
    if existing.request_hash != record_hash:
        raise RedemptionRefused(
            field,
            f"The key {client_uuid} was used for a different redemption ({existing.code}).",
            reason="key_reused",
        )
    existing.replayed = True
    return existing


def redemption_redeem(
    *,
    user,
    point_id: int,
    voucher: str | None = None,
    entitlement_code: str | None = None,
    id_number: str | None = None,
    items: list | None = None,
    amount=None,
    client_uuid: uuid.UUID | None = None,
) -> Redemption:
    """Redeem an entitlement at a point, now: by its voucher, or by its code with an ID check. Without items (or
    amount) everything that remains is handed over. A repeated `client_uuid` with the same request returns the
    first result (its `replayed` attribute is True) and adds nothing."""
    point = _point_for(user, point_id)
    entitlement, method, document = resolve(voucher=voucher, entitlement_code=entitlement_code, id_number=id_number)
    field = "voucher" if method == Redemption.Method.SCAN else "entitlement"
    record_hash = request_hash(
        {"point": point.pk, "entitlement": entitlement.code, "items": items, "amount": amount, "method": method}
    )
    if client_uuid is not None:
        existing = Redemption.objects.filter(device=None, client_uuid=client_uuid).first()
        if existing is not None:
            return _replay(device=None, client_uuid=client_uuid, record_hash=record_hash, field=field)
    _check_entitlement(entitlement, point, user, on=timezone.localdate(), field=field)
    requested = _requested(entitlement, items, amount, prefix="")
    return _write(
        user=user,
        point=point,
        entitlement=entitlement,
        method=method,
        requested=requested,
        field=field,
        client_uuid=client_uuid,
        record_hash=record_hash,
        id_document=document,
    )


def redemption_correct(*, user, redemption: Redemption, reason: str) -> Redemption:
    """Reverse a redemption: a new correction row with the same lines, the goods back into the point's stock. Each
    redemption is corrected at most once (the database's partial unique index)."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError({"reason": "Say why the redemption is corrected."})
    if redemption.kind != Redemption.Kind.REDEMPTION:
        raise ValidationError({"redemption": "A correction cannot itself be corrected; redeem again instead."})
    point = _point_for(user, redemption.point_id)
    try:
        with transaction.atomic(durable=True):
            correction = Redemption.objects.create(
                kind=Redemption.Kind.CORRECTION,
                method=Redemption.Method.CORRECTION,
                entitlement_id=redemption.entitlement_id,
                household_id=redemption.household_id,
                program_id=redemption.program_id,
                point=point,
                operator=user,
                reverses=redemption,
                reason=reason.strip()[:255],
                occurred_at=timezone.now(),
            )
            rows = []
            for line in redemption.lines.order_by("id"):
                movements: list[int] = []
                if line.item != CASH_ITEM:
                    movements = stock.give_back(
                        point_id=point.pk,
                        item_code=line.item,
                        quantity=line.quantity,
                        unit=line.unit,
                        reference=correction.code,
                        user=user,
                    )
                rows.append(
                    RedemptionLine(
                        redemption=correction,
                        entitlement_id=line.entitlement_id,
                        kind=Redemption.Kind.CORRECTION,
                        item=line.item,
                        quantity=line.quantity,
                        unit=line.unit,
                        base_quantity=line.base_quantity,
                        stock_movements=movements,
                    )
                )
            RedemptionLine.objects.bulk_create(rows)
            return correction
    except IntegrityError as error:
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        if constraint == REVERSED_ONCE:
            first = redemption.corrections.select_related("point", "operator", "device").first()
            when = f" ({first.code}, {describe(first)['operator']}, {first.occurred_at.isoformat()})" if first else ""
            raise ValidationError(
                {"redemption": f"Redemption {redemption.code} was corrected already{when}."}
            ) from None
        raise


# ------------------------------------------------------------------------------------------------- offline batches


def _verify_batch(body) -> tuple[Device, dict, str]:
    """(device, payload, payload hash) of an uploaded batch whose signature is the device's, or a ValidationError."""
    if not isinstance(body, dict):
        raise ValidationError({"non_field_errors": "The batch is an object with device, payload and signature."})
    key_id = body.get("device")
    if not isinstance(key_id, str) or not key_id:
        raise ValidationError({"device": "Give the device's key id."})
    device = Device.objects.select_related("point__area").filter(key_id=key_id).first()
    if device is None:
        raise ValidationError({"device": f"No device {key_id[:64]!r} is registered."})
    if not device.is_active:
        raise ValidationError({"device": f"Device {key_id} was revoked on {device.revoked_at:%Y-%m-%d}."})
    payload_text = body.get("payload")
    if not isinstance(payload_text, str) or not payload_text:
        raise ValidationError({"payload": "The batch's records as JSON text, exactly as the device signed them."})
    signature = _decode_key(body.get("signature") or "", field="signature", length=64)
    try:
        Ed25519PublicKey.from_public_bytes(bytes(device.public_key)).verify(signature, payload_text.encode())
    except InvalidSignature:
        raise ValidationError({"signature": f"The signature is not device {key_id}'s over this payload."}) from None
    try:
        payload = json.loads(payload_text)
    except ValueError:
        raise ValidationError({"payload": "The payload is not JSON."}) from None
    if not isinstance(payload, dict):
        raise ValidationError({"payload": "The payload is an object with batch and records."})
    if payload.get("device") != key_id:
        raise ValidationError({"payload": "The payload names another device than the upload."})
    return device, payload, hashlib.sha256(payload_text.encode()).hexdigest()


def _parse_uuid(value, *, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise ValidationError({field: "A UUID made by the device."}) from None


def _parse_records(payload: dict) -> list[dict]:
    """Each record checked for shape before anything is written, so a malformed batch writes nothing."""
    records = payload.get("records")
    if not isinstance(records, list) or not records:
        raise ValidationError({"records": "A list of the redemptions recorded offline."})
    if len(records) > MAX_BATCH_RECORDS:
        raise ValidationError({"records": f"At most {MAX_BATCH_RECORDS} records per batch."})
    now = timezone.now()
    seen: set[uuid.UUID] = set()
    parsed = []
    for index, record in enumerate(records):
        at = f"records[{index}]"
        if not isinstance(record, dict):
            raise ValidationError({at: "Each record is an object."})
        key = _parse_uuid(record.get("client_uuid"), field=f"{at}.client_uuid")
        if key in seen:
            raise ValidationError({f"{at}.client_uuid": "The same key appears twice in the batch."})
        seen.add(key)
        occurred = parse_datetime(str(record.get("occurred_at") or ""))
        if occurred is None or occurred.tzinfo is None:
            raise ValidationError({f"{at}.occurred_at": "When it happened, ISO 8601 with a time zone."})
        if occurred > now + CLOCK_SKEW:
            raise ValidationError({f"{at}.occurred_at": "In the future: check the device's clock."})
        if not (record.get("voucher") or record.get("entitlement")):
            raise ValidationError({f"{at}.voucher": "Each record has a voucher, or an entitlement and an ID number."})
        parsed.append({"index": index, "key": key, "occurred_at": occurred, "record": record})
    return parsed


def _conflict(device: Device, batch: RedemptionBatch, entry: dict, refusal: RedemptionRefused, entitlement) -> dict:
    reason = {
        "already_redeemed": RedemptionConflict.Reason.ALREADY_REDEEMED,
        "over_entitlement": RedemptionConflict.Reason.ALREADY_REDEEMED,
        "insufficient_stock": RedemptionConflict.Reason.INSUFFICIENT_STOCK,
        "key_reused": RedemptionConflict.Reason.KEY_REUSED,
    }.get(refusal.reason, RedemptionConflict.Reason.REFUSED)
    first = refusal.previous[0]["redemption"] if refusal.previous else None
    RedemptionConflict.objects.bulk_create(
        [
            RedemptionConflict(
                device=device,
                batch=batch,
                point_id=device.point_id,
                client_uuid=entry["key"],
                entitlement=entitlement,
                reason=reason,
                message=refusal.text,
                first_redemption=Redemption.objects.filter(code=first).first() if first else None,
                record=entry["record"],
                occurred_at=entry["occurred_at"],
            )
        ],
        ignore_conflicts=True,
    )
    return {"client_uuid": str(entry["key"]), "status": "conflict", **refusal.as_dict()}


def _apply_record(user, device: Device, batch: RedemptionBatch, entry: dict) -> dict:
    record = entry["record"]
    prefix = f"records[{entry['index']}]."
    record_hash = request_hash(record)
    existing = Redemption.objects.filter(device=device, client_uuid=entry["key"]).first()
    if existing is not None and existing.request_hash == record_hash:
        return {"client_uuid": str(entry["key"]), "status": "duplicate", "redemption": existing.code}
    stored = RedemptionConflict.objects.filter(device=device, client_uuid=entry["key"]).first()
    if stored is not None:
        return {
            "client_uuid": str(entry["key"]),
            "status": "conflict",
            "reason": stored.reason,
            "message": stored.message,
            "previous": [describe(stored.first_redemption)] if stored.first_redemption else [],
        }
    entitlement = None
    try:
        if existing is not None:
            raise RedemptionRefused(
                f"{prefix}client_uuid",
                f"The key {entry['key']} was used for a different redemption ({existing.code}).",
                reason="key_reused",
            )
        entitlement, method, document = resolve(
            voucher=record.get("voucher"),
            entitlement_code=record.get("entitlement"),
            id_number=record.get("id_number"),
            prefix=prefix,
        )
        field = f"{prefix}voucher" if method == Redemption.Method.SCAN else f"{prefix}entitlement"
        on = timezone.localdate(entry["occurred_at"])
        _check_entitlement(entitlement, device.point, user, on=on, field=field)
        requested = _requested(entitlement, record.get("items"), record.get("amount"), prefix=prefix)
        redemption = _write(
            user=user,
            point=device.point,
            entitlement=entitlement,
            method=Redemption.Method.OFFLINE,
            requested=requested,
            field=field,
            device=device,
            batch=batch,
            client_uuid=entry["key"],
            record_hash=record_hash,
            occurred_at=entry["occurred_at"],
            operator_label=str(record.get("operator") or ""),
            id_document=document,
        )
    except RedemptionRefused as refusal:
        return _conflict(device, batch, entry, refusal, entitlement)
    except ValidationError as error:
        # Bad data in one record (an unknown unit, a mistyped voucher): recorded for follow-up, the rest goes on.
        refusal = RedemptionRefused(
            next(iter(error.message_dict), "record") if hasattr(error, "error_dict") else "record",
            " ".join(error.messages),
            reason="invalid",
        )
        return _conflict(device, batch, entry, refusal, entitlement)
    status = "duplicate" if getattr(redemption, "replayed", False) else "redeemed"
    return {"client_uuid": str(entry["key"]), "status": status, "redemption": redemption.code}


def redemption_batch_upload(*, user, body) -> RedemptionBatch:
    """Apply a signed batch of redemptions a device recorded offline. Each record is its own transaction; a record
    the server cannot apply becomes an open RedemptionConflict and is reported, never issued. Uploading the same
    batch again returns the stored result; re-sent records (same device and key) add nothing."""
    device, payload, payload_hash = _verify_batch(body)
    if not area_in_scope(user, device.point.area_id):
        raise ValidationError({"device": "The device's point is outside your areas."})
    batch_uuid = _parse_uuid(payload.get("batch"), field="payload.batch")
    entries = _parse_records(payload)
    batch = RedemptionBatch.objects.filter(device=device, batch_uuid=batch_uuid).first()
    if batch is not None:
        if batch.request_hash != payload_hash:
            raise RedemptionRefused(
                "batch", f"Batch {batch_uuid} was uploaded before with different records.", reason="key_reused"
            )
        if batch.finished_at is not None:
            batch.replayed = True
            return batch
        # An upload that stopped half-way (a crash): its records are idempotent, so it is simply run again.
    else:
        try:
            with transaction.atomic(durable=True):
                batch = RedemptionBatch.objects.create(
                    device=device, batch_uuid=batch_uuid, request_hash=payload_hash, uploaded_by=user,
                    records=len(entries),
                )  # fmt: skip
        except IntegrityError:
            raise RedemptionRefused(
                "batch", f"Batch {batch_uuid} is being uploaded right now; try again in a moment.", reason="in_progress"
            ) from None
    results = [_apply_record(user, device, batch, entry) for entry in entries]
    counts = {status: sum(1 for row in results if row["status"] == status) for status in ("redeemed", "duplicate")}
    with transaction.atomic(durable=True):
        RedemptionBatch.objects.filter(pk=batch.pk).update(
            finished_at=timezone.now(),
            records=len(entries),
            redeemed=counts["redeemed"],
            duplicates=counts["duplicate"],
            conflicts=len(results) - counts["redeemed"] - counts["duplicate"],
            result=results,
        )
    batch.refresh_from_db()
    return batch


def conflict_resolve(*, user, conflict: RedemptionConflict, resolution: str) -> RedemptionConflict:
    """Close a conflict with what was done about it (goods handed over after all by a new redemption, household
    told to come back …)."""
    if not isinstance(resolution, str) or not resolution.strip():
        raise ValidationError({"resolution": "Say how the conflict was resolved."})
    _point_for(user, conflict.point_id)
    with transaction.atomic(durable=True):
        updated = RedemptionConflict.objects.filter(pk=conflict.pk, status=RedemptionConflict.Status.OPEN).update(
            status=RedemptionConflict.Status.RESOLVED,
            resolution=resolution.strip(),
            resolved_by=user,
            resolved_at=timezone.now(),
        )
    if not updated:
        raise ValidationError({"status": "The conflict was resolved already."})
    conflict.refresh_from_db()
    return conflict
