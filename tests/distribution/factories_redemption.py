"""Helpers for redemption tests: an approved cycle and its entitlements, a point, a household whose member holds an
ID document, a registered device with its private key, and signed batches."""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.contrib.gis.geos import Point
from django.utils import timezone

from distribution.redemption import services
from programs.models import Cycle, Entitlement, EntitlementItem, Program
from registry.models import IdDocument, IdType
from tests.factories import (
    DistributionPointFactory,
    HouseholdFactory,
    IndividualFactory,
    MembershipFactory,
    UserFactory,
)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def approved_cycle(*, program: Program | None = None, days: int = 30, state: str = "approved") -> Cycle:
    program = program or Program.objects.create(name=f"Flood relief {uuid.uuid4().hex[:6]}", currency="BDT")
    today = timezone.localdate()
    submitter = UserFactory()
    approver = UserFactory()
    return Cycle.objects.create(
        program=program,
        sequence=program.cycles.count() + 1,
        name=f"Cycle {program.cycles.count() + 1}",
        kind="top_up",
        starts_on=today - datetime.timedelta(days=1),
        ends_on=today + datetime.timedelta(days=days),
        state=state,
        submitted_by=submitter,
        approved_by=approver if state in ("approved", "distributed", "ended") else None,
    )


def household_with_id(*, location=(90.5, 23.5), number: str | None = None):
    """A household (west district by default) whose head holds a national ID card; (household, number)."""
    household = HouseholdFactory(location=Point(*location, srid=4326))
    person = IndividualFactory()
    MembershipFactory(household=household, individual=person, role="head")
    id_type, _ = IdType.objects.get_or_create(code="nid", defaults={"name": "National ID"})
    number = number or f"19{uuid.uuid4().int % 10**11:011d}"
    IdDocument.objects.create(individual=person, id_type=id_type, number=number)
    household.refresh_from_db()
    return household, number


def entitlement(
    *,
    cycle: Cycle,
    household,
    kind: str = "in_kind",
    items: dict[str, tuple[str, str]] | None = None,
    amount: str = "3000",
    status: str = "approved",
    valid_from: datetime.date | None = None,
    valid_until: datetime.date | None = None,
) -> Entitlement:
    """An entitlement of the cycle; `items` {item: (quantity, unit)} for in kind."""
    row = Entitlement.objects.create(
        cycle=cycle,
        program=cycle.program,
        household=household,
        kind=kind,
        amount=Decimal(amount) if kind == "cash" else None,
        currency="BDT" if kind == "cash" else "",
        valid_from=valid_from or cycle.starts_on,
        valid_until=valid_until or cycle.ends_on,
        status=status,
    )
    for item, (quantity, unit) in (items or {}).items():
        EntitlementItem.objects.create(entitlement=row, item=item, quantity=Decimal(quantity), unit=unit)
    row.refresh_from_db()
    return row


def point(code: str | None = None, *, location=(90.4, 23.7), **extra):
    kwargs = {"location": Point(*location, srid=4326), **extra}
    if code:
        kwargs["code"] = code
    row = DistributionPointFactory(**kwargs)
    row.refresh_from_db()
    return row


def device(*, user, point, key_id: str | None = None):
    """(Device, its Ed25519 private key)."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    row = services.device_register(
        user=user, point_id=point.pk, name="Tablet", public_key=b64url(public), key_id=key_id or ""
    )
    return row, private


def signed_batch(device, private_key, records: list[dict], *, batch: str | None = None) -> dict:
    """The upload body of a batch: the payload text and the device's signature over it."""
    payload = json.dumps(
        {"device": device.key_id, "batch": batch or str(uuid.uuid4()), "records": records}, separators=(",", ":")
    )
    return {"device": device.key_id, "payload": payload, "signature": b64url(private_key.sign(payload.encode()))}


def offline_record(*, voucher: str, items=None, amount=None, minutes_ago: int = 30, operator: str = "Rahima") -> dict:
    record = {
        "client_uuid": str(uuid.uuid4()),
        "voucher": voucher,
        "occurred_at": (timezone.now() - datetime.timedelta(minutes=minutes_ago)).isoformat(),
        "operator": operator,
    }
    if items is not None:
        record["items"] = items
    if amount is not None:
        record["amount"] = amount
    return record
