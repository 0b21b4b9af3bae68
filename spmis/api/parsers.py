"""Request-body parsing shared by every endpoint."""

from rest_framework import parsers, serializers


class JSONObjectParser(parsers.JSONParser):
    """JSON bodies, which must be one object: every endpoint takes named fields, and a bare number, string, list
    or null would otherwise reach serializers that index into it."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            kind = "null" if data is None else type(data).__name__
            raise serializers.ValidationError(
                {"non_field_errors": [f"The request body must be a JSON object of named fields, not {kind}."]}
            )
        return data
