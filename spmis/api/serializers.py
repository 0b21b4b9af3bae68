"""Serializer building blocks shared by every app."""

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from spmis.api.parsers import json_problems
from spmis.api.redact import redact_paths

# The fields of every job row (geo.models.Job), for the serializers that return jobs to poll.
JOB_FIELDS = [
    "parameters",
    "status",
    "progress",
    "message",
    "result",
    "error",
    "created_by",
    "created_at",
    "started_at",
    "finished_at",
]


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """An uploaded file, documented as binary (drf-spectacular would type a FileField as a URI, the way it is
    shown in responses, since request and response share one component here)."""


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.JSONField):
    """A JSON object: given as JSON, or as the JSON text of one in a multipart or form request (where every part
    is text). Anything else (null unless allowed, a number, a list, text that is not an object) is a 400 on the
    field. With `text_values`, every value must be text too (column names, for example)."""

    def __init__(self, *, text_values: bool = False, **kwargs):
        self.text_values = text_values
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise serializers.ValidationError("Expected a JSON object.") from None
        if not isinstance(data, dict):
            kind = "null" if data is None else type(data).__name__
            raise serializers.ValidationError(f"Expected a JSON object, got {kind}.")
        problems = dict(json_problems(data))
        if problems:
            raise serializers.ValidationError([f"{path}: {message}" for path, message in problems.items()])
        if self.text_values:
            wrong = sorted(str(key) for key, value in data.items() if not isinstance(value, str))
            if wrong:
                raise serializers.ValidationError(f"Expected text for: {', '.join(wrong)}.")
        return data


class RedactedPathsMixin:
    """Output without server file paths (spmis.api.redact) in the fields named in `redacted_fields`: job rows keep
    the paths they worked with in parameters and results, and libraries name files in their error messages."""

    redacted_fields: tuple[str, ...] = ("parameters", "message", "result", "error")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in self.redacted_fields:
            if name in data:
                data[name] = redact_paths(data[name])
        return data


class StrictFieldsMixin:
    """Reject fields the endpoint does not know, instead of silently dropping them (a typo in a field name
    must not look like success). For GeoJSON Features, unknown keys inside `properties` are rejected too."""

    def to_internal_value(self, data):
        if hasattr(data, "keys") and "properties" in data:
            data = {**_single_values(data), "properties": _properties_object(data["properties"])}
        if isinstance(data, dict) and "geometry" in data and "properties" not in data:
            # A partial update that only moves a feature: let the GeoJSON serializer map geometry to its field.
            data = {**data, "properties": {}}
        if hasattr(data, "keys"):
            known = set(self.fields) | {"type", "geometry", "properties", "id", "bbox", "crs"}
            unknown = [key for key in data if key not in known]
            properties = data.get("properties") if isinstance(data.get("properties"), dict) else {}
            unknown += [f"properties.{key}" for key in properties if key not in self.fields]
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


def _single_values(data) -> dict:
    """A plain dict of a form's parts (one value each), or the JSON object itself."""
    return data.dict() if hasattr(data, "dict") else dict(data)


def _properties_object(value) -> dict:
    """A Feature's `properties`: an object, or (in a multipart or form request, where every part is text) the JSON
    text of one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise serializers.ValidationError({"properties": ["Expected a JSON object of field values."]}) from None
    if not isinstance(value, dict):
        raise serializers.ValidationError(
            {"properties": [f"Expected a JSON object of field values, got {type(value).__name__}."]}
        )
    return value
