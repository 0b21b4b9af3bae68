"""Registrant IDs: a prefix letter (H household, I individual), a 9-digit serial and a Luhn check digit. The
database generates them (registry/sql/0003_functions.sql); this module checks and normalises what people type."""

from __future__ import annotations

import re

_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_SHAPE = re.compile(r"^[HI][0-9]{10,12}$")


def luhn_digit(payload: int) -> int:
    total = 0
    for position, char in enumerate(reversed(str(payload))):
        digit = int(char)
        total += _DOUBLED[digit] if position % 2 == 0 else digit
    return (10 - total % 10) % 10


def registrant_id_format(prefix: str, serial: int) -> str:
    return f"{prefix}{serial:09d}{luhn_digit(serial)}"


def registrant_id_normalise(value: str) -> str:
    """Upper-case, without spaces or dashes (people write IDs in groups)."""
    return re.sub(r"[\s\-]", "", value or "").upper()


def registrant_id_is_valid(value: str) -> bool:
    value = registrant_id_normalise(value)
    if not _SHAPE.match(value):
        return False
    return luhn_digit(int(value[1:-1])) == int(value[-1])
