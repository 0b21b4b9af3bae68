"""Request-body parsing shared by every endpoint."""

from rest_framework import parsers, serializers

from spmis.api.params import NUL, NUL_MESSAGE


class JSONObjectParser(parsers.JSONParser):
    """JSON bodies, which must be one object: every endpoint takes named fields, and a bare number, string, list
    or null would otherwise reach serializers that index into it. A NUL character in any key or string is refused
    here too, naming its field, since PostgreSQL can store it neither in text nor in JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            kind = "null" if data is None else type(data).__name__
            raise serializers.ValidationError(
                {"non_field_errors": [f"The request body must be a JSON object of named fields, not {kind}."]}
            )
        paths = list(_nul_paths(data))
        if paths:
            raise serializers.ValidationError({path: [NUL_MESSAGE] for path in paths})
        return data


def _nul_paths(value, path: str = ""):
    """Dotted paths (`columns.given_name`, `conditions.0.value`) of the keys and strings holding a NUL character,
    which PostgreSQL cannot store in text or JSON."""
    if isinstance(value, str):
        if NUL in value:
            yield path or "non_field_errors"
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                yield child.replace(NUL, "\\x00")
            else:
                yield from _nul_paths(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, f"{path}.{index}" if path else str(index))
