"""The variables and functions an eligibility rule may use: their CEL types, their documentation, and the SQL each
one reads. Both the SQL compiler (compiler.py) and the Python reference (activation.py) follow the semantics
written here; the docs (docs/programs.md) list the same table.

Every variable has a value for every household, never NULL: SQL stays two-valued, so `!`, `&&` and `||` mean in
SQL exactly what they mean in CEL.
"""

from __future__ import annotations

from dataclasses import dataclass

# CEL types used by the rule language.
INT, DOUBLE, STRING, BOOL = "int", "double", "string", "bool"

# The zero value a missing custom field reads as, per CEL type (also the value of an unset exposure field).
ZERO = {INT: 0, DOUBLE: 0.0, STRING: "", BOOL: False}


@dataclass(frozen=True)
class Variable:
    name: str  # "household.size"
    type: str
    description: str
    # Which join the variable needs: "members" (the member aggregates: the count from registry's per-household
    # summary, the others from a lateral), "exposure", "exposure_class" or None.
    join: str | None = None


HOUSEHOLD_VARIABLES = [
    Variable(
        "household.size", INT, "Number of current active members (open membership, active individual).", "members"
    ),
    Variable("household.kind", STRING, 'The household\'s kind ("household" unless registered otherwise).'),
    Variable("household.has_location", BOOL, "True when the household has a point location."),
    Variable("household.location_precision", STRING, 'How the location is known: "gps", "address" or "area".'),
    Variable("household.days_since_registration", INT, "Days from the registration date to the rule's date."),
    Variable("household.source", STRING, 'The data source the household was registered from ("" when none).'),
]

MEMBER_VARIABLES = [
    Variable("members.count", INT, "Current active members (the same number as household.size).", "members"),
    Variable(
        "members.under_5", INT, "Members younger than 5 on the rule's date (no birth date: not counted).", "members"
    ),
    Variable(
        "members.under_18", INT, "Members younger than 18 on the rule's date (no birth date: not counted).", "members"
    ),
    Variable(
        "members.aged_60_plus",
        INT,
        "Members aged 60 or more on the rule's date (no birth date: not counted).",
        "members",
    ),
    Variable(
        "members.with_disability",
        INT,
        "Members with a disability: marked disabled, or 'a lot of difficulty' or 'cannot do at all' (3 or 4) in any "
        "Washington Group domain.",
        "members",
    ),
    Variable("members.pregnant_or_lactating", INT, "Members recorded as pregnant or lactating.", "members"),
    Variable("members.female", INT, "Female members.", "members"),
    Variable("members.male", INT, "Male members.", "members"),
]

EXPOSURE_VARIABLES = [
    Variable("exposure.affected", BOOL, "True when the chosen exposure run found the household affected.", "exposure"),
    Variable("exposure.rank", INT, "Severity rank of the household's hazard class (0 when not affected).", "exposure"),
    Variable(
        "exposure.class",
        STRING,
        'Key of the household\'s hazard class, e.g. "high" ("" when not affected).',
        "exposure_class",
    ),
    Variable(
        "exposure.raster_value",
        DOUBLE,
        "Hazard raster value at the household (0.0 when not affected or when the run used no raster).",
        "exposure",
    ),
    Variable(
        "exposure.distance_to_edge_m",
        DOUBLE,
        "Metres from the household to the edge of its hazard zone (0.0 when not affected or not measured).",
        "exposure",
    ),
]

VARIABLE_BY_NAME: dict[str, Variable] = {v.name: v for v in HOUSEHOLD_VARIABLES + MEMBER_VARIABLES + EXPOSURE_VARIABLES}
ROOTS = ("household", "members", "exposure", "custom")

# Custom field types → CEL types. Dates read as their ISO text ("2026-07-01"), which orders like the dates;
# multi-choice fields are lists and not usable in rules yet.
CUSTOM_TYPES = {
    "text": STRING,
    "integer": INT,
    "decimal": DOUBLE,
    "boolean": BOOL,
    "date": STRING,
    "choice": STRING,
}
# The jsonb_typeof a stored value must have to count as present (anything else reads as missing).
JSON_TYPES = {INT: "number", DOUBLE: "number", STRING: "string", BOOL: "boolean"}


@dataclass(frozen=True)
class Function:
    name: str
    signature: str
    type: str
    description: str


FUNCTION_LIST = [
    Function("in_area", "in_area(code: string)", BOOL, "The household's area is the area with this code or inside it."),
    Function(
        "in_zone",
        "in_zone(zone_key: string)",
        BOOL,
        "The household's location is inside the current version of the hazard zone with this key (a UUID). "
        "Households without a location are never inside.",
    ),
    Function(
        "within",
        "within(wkt: string)",
        BOOL,
        "The household's location is inside this polygon, written as WKT in longitude/latitude, e.g. "
        '"POLYGON((90 23, 91 23, 91 24, 90 24, 90 23))". Households without a location are never inside.',
    ),
    Function(
        "distance_m",
        "distance_m(lon: double, lat: double)",
        DOUBLE,
        "Geodesic metres (WGS 84) from the household's location to this point; infinity for households without a "
        "location, so `distance_m(...) < 5000.0` is false for them.",
    ),
    Function(
        "enrolled_in",
        "enrolled_in(program_code: string)",
        BOOL,
        "The household is currently enrolled in the program with this code.",
    ),
    Function(
        "has",
        "has(custom.<name>)",
        BOOL,
        'The household has a value of the right type for this custom field (a missing one reads as 0, 0.0, "" or '
        "false).",
    ),
]
FUNCTION_BY_NAME = {f.name: f for f in FUNCTION_LIST}

# Public documentation lists (the API serves them to the rule editor).
VARIABLES: list[dict[str, str]] = [
    {"name": v.name, "type": v.type, "description": v.description} for v in VARIABLE_BY_NAME.values()
] + [
    {
        "name": "custom.<name>",
        "type": "per field",
        "description": "A household custom field: text, choice and date fields are strings (dates as ISO "
        "text), integer fields int, decimal fields double, boolean fields bool. A household without a value reads "
        'the zero value (0, 0.0, "" or false); has(custom.<name>) tells them apart.',
    }
]
FUNCTIONS: list[dict[str, str]] = [
    {"name": f.name, "signature": f.signature, "type": f.type, "description": f.description} for f in FUNCTION_LIST
]
