"""Serializer building blocks shared by every app."""

import json

from rest_framework import serializers

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
