"""Ticket references and follow-up codes, without the database.

A reference is GRV-XXXX-XXXX: seven Crockford base32 characters and a Luhn mod 32 check character, the same as
grievances/sql/0001_reference.sql computes when a ticket is inserted. A follow-up code (given to an anonymous
complainant once) is kept only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Crockford's reading of look-alike characters.
_READ = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
_SHAPE = re.compile(r"^GRV-?([0-9A-Z]{4})-?([0-9A-Z]{4})$")


def luhn32(body: str) -> str:
    """The Luhn mod 32 check character of `body` (characters of ALPHABET)."""
    factor, total = 2, 0
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def reference_for(number: int) -> str:
    """The reference the database gives to sequence value `number` (for tests and the benchmark)."""
    value = (number * 29943829) % 32**7
    body = ""
    for _ in range(7):
        body = ALPHABET[value % 32] + body
        value //= 32
    return f"GRV-{body[:4]}-{body[4:]}{luhn32(body)}"


def reference_normalise(text: str) -> str | None:
    """The canonical reference for what a person typed (case, spaces, O for 0 forgiven), or None when it is not
    one: wrong shape or a check character that does not match."""
    if not isinstance(text, str):
        return None
    cleaned = re.sub(r"\s+", "", text.upper())
    if cleaned.startswith("GRV"):
        cleaned = "GRV" + cleaned[3:].translate(_READ)
    match = _SHAPE.match(cleaned)
    if not match:
        return None
    body = match[1] + match[2][:3]
    if any(char not in ALPHABET for char in body + match[2][3]) or luhn32(body) != match[2][3]:
        return None
    return f"GRV-{match[1]}-{match[2]}"


def followup_code_new() -> str:
    """A code of 12 Crockford characters (60 bits), shown once to the complainant, in groups of four."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def followup_hash(reference: str, code: str) -> str:
    """HMAC-SHA256 of the reference and the code under a key derived from SECRET_KEY: a stolen table alone does not
    let anyone test codes."""
    cleaned = re.sub(r"[\s-]+", "", str(code).upper()).translate(_READ)
    key = hashlib.sha256(f"spmis.grievances.followup:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{reference}:{cleaned}".encode(), hashlib.sha256).hexdigest()
