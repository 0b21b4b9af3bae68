"""Query-parameter checks shared by every page and endpoint.

PostgreSQL text cannot hold a NUL character, so a NUL that reaches a query ends in a database error (a 500) far from
the parameter that carried it. The middleware refuses it at the door with a 400 naming the parameter; it also
covers NULs in the URL path (object codes) for every view, so no view has to remember.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse

# Far beyond any table here, far below PostgreSQL's bigint: a larger offset or id cannot match a row and would
# otherwise overflow in the database.
MAX_INT = 10**12
NUL = "\x00"
NUL_MESSAGE = "Contains a NUL character (0x00), which no field can hold."


def nul_parameters(params) -> list[str]:
    """The names of the parameters (in a QueryDict) whose name or any value holds a NUL character."""
    return [name for name, values in params.lists() if NUL in name or any(NUL in value for value in values)]


class RefuseNulMiddleware:
    """400 {parameter: [message]} for a NUL in any query parameter, {"path": [message]} for one in the path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        errors = {name.replace(NUL, "\\x00"): [NUL_MESSAGE] for name in nul_parameters(request.GET)}
        if NUL in request.path:
            errors["path"] = [NUL_MESSAGE]
        if errors:
            return JsonResponse(errors, status=400)
        return self.get_response(request)


def parse_int(
    raw: str | None,
    *,
    field: str,
    default: int | None,
    minimum: int = 0,
    maximum: int = MAX_INT,
    cap: int | None = None,
) -> int | None:
    """A whole-number query parameter: `default` when absent, a 400 naming `field` when it is not a whole number
    or lies outside minimum…maximum; values above `cap` (a page-size limit, say) are lowered to it."""
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({field: "Must be a whole number."}) from None
    if value < minimum:
        raise ValidationError({field: f"Must be at least {minimum}."})
    if cap is not None and value > cap:
        return cap
    if value > maximum:
        raise ValidationError({field: f"Must be at most {maximum}."})
    return value


def parse_bbox(raw: str | None, *, field: str = "in_bbox") -> tuple[float, float, float, float] | None:
    if not raw:
        return None
    try:
        parts = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ValidationError({field: "Expected four numbers: min_lon,min_lat,max_lon,max_lat."}) from None
    if len(parts) != 4 or not all(math.isfinite(part) for part in parts):
        raise ValidationError({field: "Expected four numbers: min_lon,min_lat,max_lon,max_lat."})
    if parts[0] > parts[2] or parts[1] > parts[3]:
        raise ValidationError({field: "Expected min_lon,min_lat,max_lon,max_lat with min ≤ max."})
    return parts


def parse_number(raw: str | None, *, field: str, minimum: float = 0, maximum: float = 1e9) -> float | None:
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError({field: "Must be a number."}) from None
    if not minimum <= value <= maximum:
        raise ValidationError({field: f"Must be between {minimum} and {maximum}."})
    return value


def parse_text(raw: str | None, *, field: str, max_length: int = 100) -> str | None:
    """A short search text: trimmed, None when empty; refused when too long or holding control characters (a NUL
    byte cannot even reach PostgreSQL)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if len(text) > max_length:
        raise ValidationError({field: f"At most {max_length} characters."})
    if any(ord(char) < 32 for char in text):
        raise ValidationError({field: "Must not contain control characters."})
    return text
