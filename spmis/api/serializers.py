"""Serializer building blocks shared by every app."""

from rest_framework import serializers

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
