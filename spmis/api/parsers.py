"""Request-body parsing shared by every endpoint."""

import math

from rest_framework import parsers, serializers

from spmis.api.params import NUL, NUL_MESSAGE


class JSONObjectParser(parsers.JSONParser):
    """JSON bodies, which must be one object: every endpoint takes named fields, and a bare number, string, list
    or null would otherwise reach serializers that index into it. A NUL character in any key or string is refused
    here too, naming its field, since PostgreSQL can store it neither in text nor in JSON; so is a number too large
    for any float (1e400 reads as infinity, which no JSON column or response can carry)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            kind = "null" if data is None else type(data).__name__
            raise serializers.ValidationError(
                {"non_field_errors": [f"The request body must be a JSON object of named fields, not {kind}."]}
            )
        problems = dict(json_problems(data))
        if problems:
            raise serializers.ValidationError({path: [message] for path, message in problems.items()})
        return data


def json_problems(value, path: str = ""):
    """(dotted path, message) for each key or string holding a NUL character and each number that is not finite,
    e.g. `columns.given_name` or `conditions.0.value`."""
    here = path or "non_field_errors"
    if isinstance(value, str):
        if NUL in value:
            yield here, NUL_MESSAGE
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield here, "Not a finite number."
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                yield child.replace(NUL, "\\x00"), NUL_MESSAGE
            else:
                yield from json_problems(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_problems(item, f"{path}.{index}" if path else str(index))
