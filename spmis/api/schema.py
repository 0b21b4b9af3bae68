"""OpenAPI schema post-processing: document the one error shape every endpoint shares (see spmis.api.exceptions)."""

ERROR_COMPONENT = "ValidationErrorResponse"
ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "What was wrong, by field: {field: [messages]}. Fields of nested objects nest the same way; "
        "`non_field_errors` holds problems with the request as a whole, and `detail` a message about it."
    ),
    "additionalProperties": {"anyOf": [{"type": "array", "items": {}}, {"type": "object"}, {"type": "string"}]},
    "example": {"location": ["The location lies outside every known area."]},
}
METHODS = ("get", "put", "post", "patch", "delete")


def document_errors(result: dict, generator, request, public) -> dict:
    """Add a 400 response with the shared error shape to every operation that takes input (a body or query
    parameters) and does not document its own."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    error = {
        "description": "The input was refused; nothing was saved.",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
    }
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            if "requestBody" in operation or operation.get("parameters"):
                operation.setdefault("responses", {}).setdefault("400", error)
    return result


def nullable_feature_geometries(result: dict, generator, request, public) -> dict:
    """A GeoJSON Feature's geometry may be null (RFC 7946 §3.2): a household located only to an area has none. The
    GeoJSON extension documents it as an object always; say null is allowed."""
    for component in result.get("components", {}).get("schemas", {}).values():
        properties = component.get("properties", {})
        if "geometry" in properties and properties.get("type", {}).get("$ref", "").endswith("GisFeatureEnum"):
            properties["geometry"]["nullable"] = True
    return result
