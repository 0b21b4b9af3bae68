"""Signed voucher codes for entitlements, and the verification of a scanned or typed text.

A voucher reads ``SPV1.<key id>.<entitlement code>.<signature>``: the signature is the first 10 bytes of
HMAC-SHA256 under the named key over the version, key id and code, in base32 (16 characters, no padding), short
enough to type from a paper slip. Keys come from ``settings.SPMIS_VOUCHER_KEYS`` ([(key id, key bytes)], the first
signs, all verify), or in development from one derived from SECRET_KEY. The credentials issue will sign QR cards
with its own format; `verify` is where their text comes in too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

VERSION = "SPV1"
SIGNATURE_BYTES = 10
_VOUCHER = re.compile(r"^SPV1\.([A-Za-z0-9_-]{1,32})\.(ENT-[0-9]{10}-[0-9])\.([A-Z2-7]{16})$")


@dataclass(frozen=True)
class Voucher:
    key_id: str
    entitlement_code: str


def _keys() -> list[tuple[str, bytes]]:
    keys = getattr(settings, "SPMIS_VOUCHER_KEYS", None)
    if keys:
        return [(kid, key if isinstance(key, bytes) else key.encode()) for kid, key in keys]
    # Development only: production settings are expected to name their keys (see the module docstring).
    return [("dev", hmac.new(settings.SECRET_KEY.encode(), b"spmis.voucher", hashlib.sha256).digest())]


def _signature(key: bytes, key_id: str, code: str) -> str:
    digest = hmac.new(key, f"{VERSION}|{key_id}|{code}".encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.b32encode(digest).decode().rstrip("=")


def sign(entitlement_code: str) -> str:
    """The voucher text for an entitlement code, under the current key."""
    key_id, key = _keys()[0]
    return f"{VERSION}.{key_id}.{entitlement_code}.{_signature(key, key_id, entitlement_code)}"


def verify(text: str, *, field: str = "voucher") -> Voucher:
    """The entitlement a scanned or typed voucher names, or a ValidationError on `field` saying what is wrong.
    Spaces and dashes a person adds while typing the signature, and lower case, are forgiven."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({field: "Scan or type the voucher code."})
    cleaned = text.strip()
    parts = cleaned.split(".")
    if len(parts) == 4:
        parts[3] = re.sub(r"[\s-]", "", parts[3]).upper()
        parts[2] = parts[2].upper()
        parts[0] = parts[0].upper()
        cleaned = ".".join(parts)
    match = _VOUCHER.match(cleaned)
    if match is None:
        raise ValidationError({field: "This is not a voucher code (expected SPV1.<key>.<ENT-…>.<signature>)."})
    key_id, code, signature = match.groups()
    key = dict(_keys()).get(key_id)
    if key is None:
        raise ValidationError({field: f"The voucher was signed with key {key_id!r}, which this server does not hold."})
    if not hmac.compare_digest(_signature(key, key_id, code), signature):
        raise ValidationError({field: "The voucher's signature does not match: it was altered or mistyped."})
    return Voucher(key_id=key_id, entitlement_code=code)
