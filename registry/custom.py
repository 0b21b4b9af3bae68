"""Custom fields (validating values against their definitions) and saved custom filters (compiled to Q objects).
Pure rule code plus one query for the definitions; no writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models import Q

from registry.models import CustomField, Household, Individual

FILTER_OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "isnull")
FILTERABLE = {
    "household": {
        "registrant_id",
        "external_id",
        "kind",
        "location_precision",
        "address",
        "registered_on",
        "source",
        "status",
        "area_approximate",
    },
    "individual": {
        "registrant_id",
        "external_id",
        "given_name",
        "family_name",
        "other_names",
        "birth_date",
        "birth_date_estimated",
        "sex",
        "disability",
        "is_pregnant",
        "is_lactating",
        "status",
        "wg_seeing",
        "wg_hearing",
        "wg_walking",
        "wg_cognition",
        "wg_self_care",
        "wg_communication",
    },
}
MODELS = {"household": Household, "individual": Individual}


def custom_value_clean(definition: CustomField, value):
    """The value as stored in JSON, or ValidationError naming `custom.<name>`."""
    key = f"custom.{definition.name}"
    if value in (None, "", []):
        if definition.required:
            raise ValidationError({key: "This field is required."})
        return None
    try:
        if definition.type == CustomField.Type.INTEGER:
            if isinstance(value, bool) or int(value) != float(value):
                raise ValueError
            return int(value)
        if definition.type == CustomField.Type.DECIMAL:
            return float(Decimal(str(value)))
        if definition.type == CustomField.Type.BOOLEAN:
            if isinstance(value, bool):
                return value
            lowered = str(value).lower()
            if lowered not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError
            return lowered in ("true", "yes", "1")
        if definition.type == CustomField.Type.DATE:
            return dt.date.fromisoformat(str(value)).isoformat()
        if definition.type == CustomField.Type.CHOICE:
            if value not in definition.choices:
                raise ValidationError({key: f"Choose one of: {', '.join(map(str, definition.choices))}."})
            return value
        if definition.type == CustomField.Type.MULTI_CHOICE:
            values = value if isinstance(value, list) else str(value).split(";")
            unknown = [v for v in values if v not in definition.choices]
            if unknown:
                raise ValidationError({key: f"Not among the choices: {', '.join(map(str, unknown))}."})
            return values
        return str(value)
    except (ValueError, TypeError, InvalidOperation):
        raise ValidationError({key: f"Expected a value of type {definition.type}; got {value!r}."}) from None


def custom_values_validate(*, applies_to: str, values: dict, partial: bool = False) -> dict:
    """Validate a `custom` dict against the definitions for households or individuals; unknown keys are refused.
    With partial=True, required fields that are absent are not reported (an update of some fields)."""
    if not isinstance(values, dict):
        raise ValidationError({"custom": "Expected an object of custom field values."})
    definitions = {d.name: d for d in CustomField.objects.filter(applies_to=applies_to)}
    errors: dict[str, str] = {}
    cleaned: dict = {}
    for name in values:
        if name not in definitions:
            errors[f"custom.{name}"] = "No such custom field."
    for name, definition in definitions.items():
        if partial and name not in values:
            continue
        try:
            value = custom_value_clean(definition, values.get(name))
        except ValidationError as error:
            errors.update({k: " ".join(v) for k, v in error.message_dict.items()})
            continue
        if value is not None:
            cleaned[name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def filter_conditions_validate(*, applies_to: str, conditions) -> None:
    filter_q(applies_to=applies_to, conditions=conditions)


def filter_q(*, applies_to: str, conditions) -> Q:
    """Compile saved-filter conditions [{field, op, value}] (all must hold) to a Q over households/individuals.
    `field` is a model field or `custom.<name>`; equality on custom fields uses JSONB containment (GIN index)."""
    if applies_to not in MODELS:
        raise ValidationError({"applies_to": "Choose household or individual."})
    if not isinstance(conditions, list) or not conditions:
        raise ValidationError({"conditions": "Give a non-empty list of {field, op, value} conditions."})
    custom_names = set(CustomField.objects.filter(applies_to=applies_to).values_list("name", flat=True))
    query = Q()
    for number, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict):
            raise ValidationError({"conditions": f"condition {number}: expected an object."})
        field, op, value = condition.get("field"), condition.get("op", "eq"), condition.get("value")
        if not isinstance(field, str) or not isinstance(op, str):
            raise ValidationError({"conditions": f"condition {number}: field and op must be text."})
        if op not in FILTER_OPS:
            raise ValidationError({"conditions": f"condition {number}: op must be one of {', '.join(FILTER_OPS)}."})
        if isinstance(field, str) and field.startswith("custom."):
            name = field.removeprefix("custom.")
            if name not in custom_names:
                raise ValidationError({"conditions": f"condition {number}: no custom field {name!r}."})
            if op == "eq":
                query &= Q(custom__contains={name: value})
                continue
            if op == "ne":
                query &= ~Q(custom__contains={name: value})
                continue
            lookup = f"custom__{name}"
        elif field in FILTERABLE[applies_to]:
            lookup = field
        else:
            raise ValidationError({"conditions": f"condition {number}: cannot filter on {field!r}."})
        if op == "eq":
            query &= Q(**{lookup: value})
        elif op == "ne":
            query &= ~Q(**{lookup: value})
        elif op == "isnull":
            query &= Q(**{f"{lookup}__isnull": bool(value)})
        elif op == "in":
            if not isinstance(value, list):
                raise ValidationError({"conditions": f"condition {number}: 'in' needs a list."})
            query &= Q(**{f"{lookup}__in": value})
        elif op == "contains":
            query &= Q(**{f"{lookup}__icontains": value})
        else:
            query &= Q(**{f"{lookup}__{op}": value})
    return query
