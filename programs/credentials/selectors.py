"""Reads for ID cards: scoped lists, what a card's QR says (only the configured fields), and the status of a
credential. The one place area scoping is applied to cards."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from itertools import islice
from typing import Any

from django.conf import settings
from django.db.models import BigIntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from geo.selectors import scope_queryset
from programs.credentials import claim169, keys
from programs.credentials.documents import CardFace
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


def _expires_at(expires_on: datetime.date) -> int:
    return int(datetime.datetime.combine(expires_on, datetime.time(23, 59, 59), tzinfo=datetime.UTC).timestamp())


def card_print_rows(cards: QuerySet[Card], *, chunk: int = 2000) -> Iterator[list[dict[str, Any]]]:
    """The cards' printed fields, `chunk` at a time, as plain rows: a server-side cursor over the cards (with the
    holder resolved in SQL: the individual, or the household's head) and one query per chunk for the holders. No
    model objects, so a batch of any size streams in constant memory."""
    head = Membership.objects.filter(
        household_id=OuterRef("household_id"), end_date__isnull=True, role=Membership.Role.HEAD
    ).order_by("start_date", "id")
    rows = (
        cards.annotate(
            holder_id=Coalesce(
                "individual_id", Subquery(head.values("individual_id")[:1]), output_field=BigIntegerField()
            )
        )
        .values(
            "pk",
            "code",
            "individual_id",
            "holder_id",
            "expires_on",
            "status_index",
            "status_list_id",
            "household__registrant_id",
            "area__code",
            "program__code",
            "program__name",
        )
        .iterator(chunk_size=chunk)
    )
    while part := list(islice(rows, chunk)):
        holders = {
            h["pk"]: h
            for h in Individual.objects.filter(pk__in={r["holder_id"] for r in part if r["holder_id"]}).values(
                "pk", "registrant_id", "given_name", "family_name", "birth_date", "sex"
            )
        }
        for row in part:
            row["holder"] = holders.get(row["holder_id"])
        yield part


def _row_claims(row: dict[str, Any]) -> dict[str, Any]:
    """What `card_claims` says of a card, from a row of `card_print_rows`."""
    holder = row["holder"]
    return {
        "id": holder["registrant_id"] if row["individual_id"] and holder else row["household__registrant_id"],
        "fullName": " ".join(p for p in (holder["given_name"], holder["family_name"]) if p) if holder else None,
        "firstName": holder["given_name"] if holder else None,
        "lastName": holder["family_name"] if holder else None,
        "dateOfBirth": holder["birth_date"].strftime("%Y%m%d") if holder and holder["birth_date"] else None,
        "gender": GENDER.get(holder["sex"]) if holder else None,
        "locationCode": row["area__code"],
        "programCode": row["program__code"],
        "cardCode": row["code"],
    }


def card_faces(
    cards: QuerySet[Card],
    *,
    reprints: set[int] = frozenset(),  # type: ignore[assignment]
    key: claim169.SigningKey | None = None,
    issued_at: int | None = None,
) -> Iterator[CardFace]:
    """Printable faces of `cards` (in the queryset's order), each with its signed QR, signed a chunk at a time
    with `claim169.BatchSigner`: the same text `card_qr_text` gives, at a fraction of the cost per card."""
    fields = qr_fields()
    issuer = settings.SPMIS_CREDENTIAL_ISSUER.rstrip("/")
    key = key or keys.signing_key()
    issued_at = int(time.time()) if issued_at is None else issued_at
    signers: dict[int, claim169.BatchSigner] = {}  # one per status list (its URL is in every code)
    for part in card_print_rows(cards):
        claims = [_row_claims(row) for row in part]
        texts: list[str] = [""] * len(part)
        for list_id in {row["status_list_id"] for row in part}:
            signer = signers.get(list_id)
            if signer is None:
                signer = signers[list_id] = claim169.BatchSigner(
                    key, issuer=issuer, issued_at=issued_at, fields=fields, status_uri=status_list_url(list_id)
                )
            mine = [n for n, row in enumerate(part) if row["status_list_id"] == list_id]
            signed = signer.sign_many(
                (
                    tuple(claims[n][f] for f in fields),
                    _expires_at(part[n]["expires_on"]),
                    part[n]["status_index"],
                )
                for n in mine
            )
            for n, text in zip(mine, signed, strict=True):
                texts[n] = text
        for row, claim, text in zip(part, claims, texts, strict=True):
            yield CardFace(
                program=row["program__name"],
                name=claim["fullName"] or "",
                registrant_id=claim["id"],
                card_code=row["code"],
                expires_on=row["expires_on"].isoformat(),
                qr_text=text,
                reprint=row["pk"] in reprints,
            )
