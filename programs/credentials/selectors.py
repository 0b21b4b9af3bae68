"""Reads for ID cards: scoped lists, what a card's QR says (only the configured fields), and the status of a
credential. The one place area scoping is applied to cards."""

from __future__ import annotations

import datetime
import time
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from geo.selectors import scope_queryset
from programs.credentials import claim169, keys
from programs.credentials.models import Card, StatusList
from registry.models import Individual, Membership

# Minimised by default (docs/credentials.md): the registrant ID, the name a verifier compares with the holder, the
# area code and the program; birth date and gender only when a deployment adds them.
DEFAULT_QR_FIELDS = ("id", "fullName", "locationCode", "programCode", "cardCode")
GENDER = {"M": 1, "F": 2, "X": 3}


def qr_fields() -> tuple[str, ...]:
    fields = tuple(getattr(settings, "SPMIS_CREDENTIAL_QR_FIELDS", None) or DEFAULT_QR_FIELDS)
    unknown = [f for f in fields if f not in claim169.NAME_TO_KEY]
    if unknown:
        raise ValueError(f"SPMIS_CREDENTIAL_QR_FIELDS names fields Claim 169 does not have: {', '.join(unknown)}")
    return fields


def card_list(*, user) -> QuerySet[Card]:
    return scope_queryset(
        Card.objects.select_related("program", "household", "individual", "area", "requested_by", "approved_by"),
        user,
    )


def card_holder(card: Card) -> Individual | None:
    """The person named on the card: the individual, or the head of the household."""
    if card.individual_id:
        return card.individual
    head = (
        Membership.objects.filter(household_id=card.household_id, end_date__isnull=True, role=Membership.Role.HEAD)
        .select_related("individual")
        .order_by("start_date", "id")
        .first()
    )
    return head.individual if head else None


def card_claims(card: Card, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The claims a card's QR carries: exactly the configured fields, nothing else."""
    fields = fields or qr_fields()
    holder = card_holder(card)
    every: dict[str, Any] = {
        "id": holder.registrant_id if card.individual_id and holder else card.household.registrant_id,
        "fullName": " ".join(p for p in (holder.given_name, holder.family_name) if p) if holder else None,
        "firstName": holder.given_name if holder else None,
        "lastName": holder.family_name if holder else None,
        "dateOfBirth": holder.birth_date.strftime("%Y%m%d") if holder and holder.birth_date else None,
        "gender": GENDER.get(holder.sex) if holder else None,
        "locationCode": card.area.code if card.area_id else None,
        "programCode": card.program.code,
        "cardCode": card.code,
    }
    return {name: every[name] for name in fields if every.get(name) not in (None, "")}


def status_list_url(status_list_id: int) -> str:
    return settings.SPMIS_CREDENTIAL_ISSUER.rstrip("/") + reverse("credential-status-list", args=[status_list_id])


def card_qr_text(card: Card, *, key: claim169.SigningKey | None = None, issued_at: int | None = None) -> str:
    key = key or keys.signing_key()
    expires = datetime.datetime.combine(card.expires_on, datetime.time(23, 59, 59), tzinfo=datetime.UTC)
    return claim169.encode(
        card_claims(card),
        key,
        issuer=settings.SPMIS_CREDENTIAL_ISSUER.rstrip("/"),
        issued_at=int(time.time()) if issued_at is None else issued_at,
        expires_at=int(expires.timestamp()),
        status=(card.status_index, status_list_url(card.status_list_id)),
    )


def status_bit(status_list: StatusList, index: int) -> int:
    bits = bytes(status_list.bits)
    return (bits[index // 8] >> (7 - index % 8)) & 1
