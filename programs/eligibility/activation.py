"""The Python reference for eligibility rules: each household's variables read through the ORM into nested maps
(the CEL activation), and rules evaluated on them by celpy's interpreter, with the functions written with shapely
and pyproj.

Nothing here reuses the compiler's SQL: the property tests compare the two, and the lead uses this to explain why
a sampled household is (not) eligible. It reads row by row, so it is for samples (at most MAX_HOUSEHOLDS at once),
never for a whole registry.
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import celpy
import shapely
from celpy import celtypes
from celpy.adapter import json_to_cel
from pyproj import Geod

from programs.eligibility.compiler import RuleContext, RuleError, check, parse_polygon
from programs.eligibility.variables import CUSTOM_TYPES, INT, STRING

MAX_HOUSEHOLDS = 10_000
WGS84 = Geod(ellps="WGS84")
WG_FIELDS = ("wg_seeing", "wg_hearing", "wg_walking", "wg_cognition", "wg_self_care", "wg_communication")


def age_on(birth_date: datetime.date, today: datetime.date) -> int:
    """Completed years."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def _custom_value(value: Any, cel_type: str) -> Any:
    """The stored value as the CEL type, or None when it is missing or of the wrong JSON type (then the rule reads
    the zero value; has() is false)."""
    if cel_type == "bool":
        return value if isinstance(value, bool) else None
    if cel_type == STRING:
        return value if isinstance(value, str) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if cel_type == INT else float(value)


def activation_for_households(ids: Iterable[int], context: RuleContext) -> dict[int, dict]:
    """{household id: {"household": {...}, "members": {...}, "custom": {...}, "exposure": {...}, "facts": {...}}}.

    "custom" holds only the fields the household has (with a value of the right type); "exposure" is there only
    when the context names a run; "facts" (the location, area codes and enrolled program codes) is what the
    functions read, not a variable a rule can name.
    """
    from geo.models import Area
    from programs.models import ProgramMembership
    from registry.models import CustomField, Household, Membership
    from response.models import ExposureResult, HazardClass

    ids = sorted(set(ids))
    if len(ids) > MAX_HOUSEHOLDS:
        raise ValueError(f"At most {MAX_HOUSEHOLDS} households at a time.")
    today = context.today
    custom_types = {
        name: CUSTOM_TYPES[kind]
        for name, kind in CustomField.objects.filter(applies_to=CustomField.AppliesTo.HOUSEHOLD).values_list(
            "name", "type"
        )
        if kind in CUSTOM_TYPES
    }
    households = list(Household.objects.filter(id__in=ids))
    lineage_of = dict(
        Area.objects.filter(id__in={h.area_id for h in households if h.area_id}).values_list("id", "lineage")
    )
    code_of = dict(
        Area.objects.filter(id__in={a for lineage in lineage_of.values() for a in lineage}).values_list("id", "code")
    )
    members: dict[int, list] = defaultdict(list)
    for membership in Membership.objects.filter(
        household_id__in=ids, end_date__isnull=True, individual__status="active"
    ).select_related("individual"):
        members[membership.household_id].append(membership.individual)
    enrolled: dict[int, list[str]] = defaultdict(list)
    for household_id, code in ProgramMembership.objects.filter(
        household_id__in=ids, state=ProgramMembership.State.ENROLLED
    ).values_list("household_id", "program__code"):
        enrolled[household_id].append(code)
    exposure: dict[int, ExposureResult] = {}
    class_key: dict[int, str] = {}
    if context.exposure_run_id is not None:
        exposure = {
            r.household_id: r
            for r in ExposureResult.objects.filter(run_id=context.exposure_run_id, household_id__in=ids)
        }
        class_key = dict(
            HazardClass.objects.filter(id__in={r.hazard_class_id for r in exposure.values()}).values_list("id", "key")
        )

    result: dict[int, dict] = {}
    for household in households:
        people = members[household.pk]
        ages = [age_on(p.birth_date, today) for p in people if p.birth_date is not None]
        activation: dict[str, Any] = {
            "household": {
                "size": len(people),
                "kind": household.kind,
                "has_location": household.location is not None,
                "location_precision": household.location_precision,
                "days_since_registration": (today - household.registered_on).days,
                "source": household.source,
            },
            "members": {
                "count": len(people),
                "under_5": sum(age < 5 for age in ages),
                "under_18": sum(age < 18 for age in ages),
                "aged_60_plus": sum(age >= 60 for age in ages),
                "with_disability": sum(
                    p.disability or any((getattr(p, f) or 0) >= 3 for f in WG_FIELDS) for p in people
                ),
                "pregnant_or_lactating": sum(p.is_pregnant or p.is_lactating for p in people),
                "female": sum(p.sex == "F" for p in people),
                "male": sum(p.sex == "M" for p in people),
            },
            "custom": {
                name: value
                for name, cel_type in custom_types.items()
                if (value := _custom_value((household.custom or {}).get(name), cel_type)) is not None
            },
            "facts": {
                "id": household.pk,
                "location": (household.location.x, household.location.y) if household.location else None,
                "area_codes": sorted(code_of[a] for a in lineage_of.get(household.area_id, []) if a in code_of),
                "enrolled_programs": sorted(enrolled[household.pk]),
            },
        }
        if context.exposure_run_id is not None:
            row = exposure.get(household.pk)
            activation["exposure"] = {
                "affected": row is not None,
                "rank": int(row.class_rank) if row else 0,
                "class": class_key.get(row.hazard_class_id, "") if row else "",
                "raster_value": float(row.raster_value) if row and row.raster_value is not None else 0.0,
                "distance_to_edge_m": float(row.distance_m) if row and row.distance_m is not None else 0.0,
            }
        result[household.pk] = activation
    return result


def _functions(activation: dict, cache: dict) -> dict[str, Any]:
    facts = activation.get("facts", {})
    location = facts.get("location")
    point = shapely.Point(location) if location else None

    def in_area(code: celtypes.StringType) -> celtypes.BoolType:
        return celtypes.BoolType(str(code) in facts.get("area_codes", ()))

    def in_zone(key: celtypes.StringType) -> celtypes.BoolType:
        zone = cache.get(("zone", str(key)))
        if zone is None:
            from response.models import HazardZone

            geom = HazardZone.objects.get(zone_key=uuid.UUID(str(key)), is_current=True).geom
            zone = cache[("zone", str(key))] = shapely.from_wkb(bytes(geom.wkb))
        return celtypes.BoolType(point is not None and zone.intersects(point))

    def within(wkt: celtypes.StringType) -> celtypes.BoolType:
        polygon = cache.get(("wkt", str(wkt)))
        if polygon is None:
            polygon = cache[("wkt", str(wkt))] = parse_polygon(str(wkt), ValueError)
        return celtypes.BoolType(point is not None and polygon.intersects(point))

    def distance_m(lon: celtypes.DoubleType, lat: celtypes.DoubleType) -> celtypes.DoubleType:
        if location is None:
            return celtypes.DoubleType(float("inf"))
        _, _, metres = WGS84.inv(location[0], location[1], float(lon), float(lat))
        return celtypes.DoubleType(metres)

    def enrolled_in(code: celtypes.StringType) -> celtypes.BoolType:
        return celtypes.BoolType(str(code) in facts.get("enrolled_programs", ()))

    return {
        "in_area": in_area,
        "in_zone": in_zone,
        "within": within,
        "distance_m": distance_m,
        "enrolled_in": enrolled_in,
    }


def _plain(value: Any) -> bool | int | float | str:
    # celpy returns its own types, and for some operations plain Python ones (a double product is a float).
    if isinstance(value, celtypes.BoolType | bool):
        return bool(value)
    if isinstance(value, celtypes.IntType | int):
        return int(value)
    if isinstance(value, celtypes.DoubleType | float):
        return float(value)
    if isinstance(value, celtypes.StringType | str):
        return str(value)
    raise RuleError(f"The rule gave {value!r}.")


def evaluate(text: str, activation: dict, *, cache: dict | None = None) -> bool | int | float | str:
    """The value of `text` for one household's activation, by celpy's interpreter. Blank text is true.

    The rule is checked exactly as compile_rule checks it (the same errors) and evaluated in its normalised CEL
    (see compiler.py). `cache`, a dict the caller keeps across calls, saves re-reading zones and re-parsing rules.
    """
    if not text.strip():
        return True
    cache = {} if cache is None else cache
    program = cache.get(("rule", text))
    if program is None:
        # Exposure comes from the activation here, not from a run in a context.
        compiled = check(text, RuleContext(exposure_run_id=0), for_sql=False)
        environment = celpy.Environment()
        program = cache[("rule", text)] = (environment, environment.compile(compiled.cel), compiled)
    environment, tree, compiled = program
    if any(name.startswith("exposure.") for name in compiled.variables) and "exposure" not in activation:
        raise RuleError("Choose an exposure run to use exposure variables.")
    variables = {
        root: json_to_cel(activation[root])
        for root in ("household", "members", "custom", "exposure")
        if root in activation
    }
    runner = environment.program(tree, functions=_functions(activation, cache))
    try:
        result = runner.evaluate(variables)
    except celpy.CELEvalError as error:
        raise RuleError(f"The rule could not be evaluated: {error.args[0]}.") from None
    if isinstance(result, celpy.CELEvalError):
        raise RuleError(f"The rule could not be evaluated: {result.args[0]}.")
    return _plain(result)
