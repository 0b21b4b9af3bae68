"""Writes for ID cards: request, four-eyes approval, batch printing, distribution, loss, revocation and
replacement. One transaction per use case; states move with `filter(status__in=sources).update(...)` and a row
count, so two officers acting at once cannot both win; the database refuses self-approval and a second live card."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone

from geo.selectors import scope_queryset
from programs.credentials.models import LIVE_STATES, Card, CardPrint, CardPrintBatch, CredentialEvent, StatusList
from programs.models import Program, ProgramMembership
from registry.models import Household, Individual, Membership

STRIDE = 40_503  # odd, so index = n × STRIDE mod 2^k visits every bit once, in no neighbourly order
DEFAULT_VALID_DAYS = 365 * 2
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread on a printed card


def _new_code(prefix: str) -> str:
    return prefix + "-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def _actor(user) -> str:
    return getattr(user, "username", "") or "system"


def credential_event(*, kind: str, user=None, card: Card | None = None, **detail) -> None:
    CredentialEvent.objects.create(kind=kind, card=card, actor=_actor(user), detail=detail)


def _allocate_status_index() -> tuple[StatusList, int]:
    """The next free bit of the current status list (a new list when it is full), under the list's row lock."""
    status_list = StatusList.objects.select_for_update().filter(allocated__lt=F("size")).order_by("id").first()
    if status_list is None:
        size = 131072
        status_list = StatusList.objects.create(size=size, bits=bytes(size // 8))
        status_list = StatusList.objects.select_for_update().get(pk=status_list.pk)
    index = (status_list.allocated * STRIDE) % status_list.size
    StatusList.objects.filter(pk=status_list.pk).update(allocated=F("allocated") + 1)
    return status_list, index


def _require(user, permission: str, message: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(message)


def _in_scope(user, household: Household) -> None:
    if not scope_queryset(Household.objects.filter(pk=household.pk), user).exists():
        raise PermissionDenied("This household is outside your areas.")


@transaction.atomic(durable=True)
def card_request(
    *,
    user,
    program: Program,
    household: Household,
    individual: Individual | None = None,
    expires_on: datetime.date | None = None,
    reason: str = "",
) -> Card:
    """A card request for a household (or one of its members) enrolled in the program."""
    _require(user, "programs.add_card", "Requesting cards needs the card request permission.")
    _in_scope(user, household)
    if program.status != Program.Status.ACTIVE:
        raise ValidationError({"program": f"Program {program.code} is not active."})
    if not ProgramMembership.objects.filter(
        program=program, household=household, state=ProgramMembership.State.ENROLLED
    ).exists():
        raise ValidationError({"household": f"Household {household.registrant_id} is not enrolled in {program.code}."})
    if (
        individual is not None
        and not Membership.objects.filter(household=household, individual=individual, end_date__isnull=True).exists()
    ):
        raise ValidationError({"individual": f"{individual.registrant_id} is not a member of this household."})
    today = timezone.localdate()
    expires_on = expires_on or today + datetime.timedelta(days=DEFAULT_VALID_DAYS)
    if expires_on <= today:
        raise ValidationError({"expires_on": "The expiry date must be in the future."})
    status_list, index = _allocate_status_index()
    try:
        with transaction.atomic():
            card = Card.objects.create(
                code=_new_code("CRD"),
                program=program,
                household=household,
                individual=individual,
                area_id=household.area_id,
                status_list=status_list,
                status_index=index,
                expires_on=expires_on,
                reason=reason,
                requested_by=user,
            )
    except IntegrityError as exc:
        if "one_live" in str(exc):
            who = individual.registrant_id if individual else household.registrant_id
            raise ValidationError({"household": f"{who} already has a live card in {program.code}."}) from None
        raise
    return card


def _move(card: Card, target: str, **fields) -> Card:
    """One guarded transition; refuses with the card's actual state when it is not a source of `target`."""
    sources = Card.TRANSITIONS[target]
    moved = Card.objects.filter(pk=card.pk, status__in=sources).update(status=target, status_changed_at=Now(), **fields)
    card.refresh_from_db()
    if not moved:
        raise ValidationError({"status": f"Card {card.code} is {card.status}; it cannot become {target}."})
    return card


@transaction.atomic(durable=True)
def card_approve(*, user, card: Card) -> Card:
    _require(user, "programs.approve_card", "Approving cards needs the card approval permission.")
    _in_scope(user, card.household)
    if card.requested_by_id == user.pk:
        raise PermissionDenied("A card must be approved by someone other than who requested it.")
    return _move(card, "approved", approved_by=user, approved_at=Now())


@transaction.atomic(durable=True)
def card_print_batch(*, user, cards: Iterable[Card]) -> CardPrintBatch:
    """Record a print batch of approved (or, as reprints, printed) cards; the PDF is built from it on download."""
    from programs.credentials import keys

    _require(user, "programs.print_card", "Printing cards needs the print permission.")
    ids = sorted({c.pk for c in cards})
    if not ids:
        raise ValidationError({"cards": "Choose at least one card to print."})
    locked = list(scope_queryset(Card.objects.filter(pk__in=ids), user).select_for_update(of=("self",)).order_by("pk"))
    if len(locked) != len(ids):
        raise ValidationError({"cards": "Some cards do not exist or are outside your areas."})
    bad = [c.code for c in locked if c.status not in ("approved", "printed")]
    if bad:
        raise ValidationError({"cards": f"Only approved cards can be printed: {', '.join(bad[:10])}."})
    batch = CardPrintBatch.objects.create(code=_new_code("PRT"), created_by=user)
    kid = keys.signing_key().kid
    CardPrint.objects.bulk_create(
        [CardPrint(batch=batch, card=c, reprint=c.status == "printed" or c.prints > 0, key_id=kid) for c in locked]
    )
    Card.objects.filter(pk__in=ids).update(status="printed", prints=F("prints") + 1, status_changed_at=Now())
    credential_event(kind="printed", user=user, batch=batch.code, cards=len(ids))
    return batch


@transaction.atomic(durable=True)
def card_distribute(*, user, card: Card) -> Card:
    _require(user, "programs.change_card", "Recording card hand-over needs the card change permission.")
    _in_scope(user, card.household)
    return _move(card, "distributed")


@transaction.atomic(durable=True)
def card_mark_lost(*, user, card: Card, reason: str = "") -> Card:
    _require(user, "programs.change_card", "Reporting a lost card needs the card change permission.")
    _in_scope(user, card.household)
    card = _move(card, "lost", reason=reason or "reported lost")
    credential_event(kind="revoked", user=user, card=card, reason=card.reason)
    return card


@transaction.atomic(durable=True)
def card_revoke(*, user, card: Card, reason: str) -> Card:
    _require(user, "programs.change_card", "Revoking cards needs the card change permission.")
    _in_scope(user, card.household)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the card is revoked."})
    card = _move(card, "revoked", reason=reason.strip())
    credential_event(kind="revoked", user=user, card=card, reason=card.reason)
    return card


@transaction.atomic(durable=True)
def card_replace(*, user, card: Card, reason: str = "") -> Card:
    """The old card becomes replaced (its bit set); a new request for the same person follows the same four eyes."""
    _require(user, "programs.add_card", "Replacing cards needs the card request permission.")
    _in_scope(user, card.household)
    old = _move(card, "replaced", reason=reason or "replaced")
    status_list, index = _allocate_status_index()
    return Card.objects.create(
        code=_new_code("CRD"),
        program=old.program,
        household=old.household,
        individual=old.individual,
        area_id=old.area_id,
        status_list=status_list,
        status_index=index,
        expires_on=max(old.expires_on, timezone.localdate() + datetime.timedelta(days=1)),
        replaces=old,
        reason=reason,
        requested_by=user,
    )


def card_is_live(card: Card) -> bool:
    return card.status in LIVE_STATES and card.expires_on >= timezone.localdate()


def issuer_id() -> str:
    return settings.SPMIS_CREDENTIAL_ISSUER.rstrip("/")
