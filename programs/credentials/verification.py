"""Server-side verification of a scanned card: signature against the issuer's keys, expiry, and the card's bit in
the status list. Recorded as a "verified" event (the card code and the outcome, never the claims)."""

from __future__ import annotations

import datetime
from typing import Any

from programs.credentials import claim169, keys, selectors, services
from programs.credentials.models import Card, StatusList
from registry.selectors import personal_data_allowed

MESSAGES = {
    "valid": "Valid card: signed by this issuer, not expired, not revoked.",
    "revoked": "This card has been revoked (lost, replaced, or the person left the program).",
}


def verify_card_qr(text: str, *, user) -> dict[str, Any]:
    try:
        decoded = claim169.decode(text, keys.verification_keys())
    except claim169.Claim169Error as exc:
        services.credential_event(kind="verified", user=user, outcome=exc.reason)
        return {"valid": False, "reason": exc.reason, "message": str(exc)}
    card_code = decoded.claims.get("cardCode")
    revoked = False
    checked_at = None
    if decoded.status_index is not None:
        status_list_id = _list_id(decoded.status_uri)
        row = StatusList.objects.filter(pk=status_list_id).first() if status_list_id else None
        if row is not None:
            revoked = bool(selectors.status_bit(row, decoded.status_index))
            checked_at = row.updated_at
    card = Card.objects.filter(code=card_code).first() if card_code else None
    outcome = "revoked" if revoked else "valid"
    services.credential_event(kind="verified", user=user, card=card, outcome=outcome, kid=decoded.kid)
    claims = (
        decoded.claims
        if personal_data_allowed(user)
        else {k: v for k, v in decoded.claims.items() if k in ("programCode", "cardCode", "locationCode")}
    )
    return {
        "valid": not revoked,
        "reason": outcome,
        "message": MESSAGES[outcome],
        "claims": claims,
        "issuer": decoded.issuer,
        "kid": decoded.kid,
        "expires_at": datetime.datetime.fromtimestamp(decoded.expires_at, datetime.UTC).isoformat()
        if decoded.expires_at
        else None,
        "status_index": decoded.status_index,
        "status_list_updated_at": checked_at.isoformat() if checked_at else None,
    }


def _list_id(uri: str | None) -> int | None:
    if not uri:
        return None
    tail = uri.rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None
