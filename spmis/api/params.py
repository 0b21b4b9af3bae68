"""Query-parameter checks shared by every page and endpoint.

PostgreSQL text cannot hold a NUL character, so a NUL that reaches a query ends in a database error (a 500) far from
the parameter that carried it. The middleware refuses it at the door with a 400 naming the parameter; it also
covers NULs in the URL path (object codes) for every view, so no view has to remember.
"""

from __future__ import annotations

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
    raw: str | None, *, field: str, default: int, minimum: int = 0, maximum: int = MAX_INT, cap: int | None = None
) -> int:
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
