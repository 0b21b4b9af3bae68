"""DCI search criteria to ORM filters.

A search names an entity (Group: households; Member: people), a query and optionally sort and pagination. Three
query shapes are understood:

- query_type "idtype-value": {"type": "UIN", "value": "123"};
- query_type "expression", the spec's ExpressionWithConditionList: [{"seq_num": 1, "expression1": {"attribute_name",
  "operator", "attribute_value"}, "condition": "and", "expression2": {...}}, ...]; items are ANDed in seq_num order,
  each item's expressions combined left to right by its condition (and, or; not means "and not");
- query_type "expression" in the NoSql form of the spec's example: {"type": "...NoSql", "value": {"expression":
  {"collection": "Group", "query": {"$and": [{"group_size": {"$lt": 5}}]}}}}, with $and, $or, $eq, $gt, $gte/$ge,
  $lt, $lte/$le, $in.

Only the attributes in ATTRIBUTES can be searched, each with its own operators and value type; values become ORM
lookups (parameters in SQL), never text in SQL. A household-level attribute on a Member search means "in a household
that ...", a person-level attribute on a Group search "with a current member who ..." (each condition on its own).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from geo.models import Area
from registry.models import Household, HouseholdMembers, IdDocument, IdType, Individual, Membership

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
MAX_CONDITIONS = 20
MAX_DEPTH = 5
OPERATORS = ("gt", "lt", "eq", "ge", "le", "in")
NOSQL_OPERATORS = {
    "$eq": "eq",
    "$gt": "gt",
    "$lt": "lt",
    "$gte": "ge",
    "$ge": "ge",
    "$lte": "le",
    "$le": "le",
    "$in": "in",
}
# Identifier types senders use, to the registry's IdType codes; any IdType code is also accepted as itself.
ID_TYPE_ALIASES = {
    "uin": "national-id",
    "nid": "national-id",
    "nationalid": "national-id",
    "national_id": "national-id",
    "brn": "birth-certificate",
    "passport": "passport",
}
HOUSEHOLD_ID_TYPES = {"household_id", "group_id", "spmis-hh", "registrant_id_household"}
MEMBER_ID_TYPES = {"member_id", "person_id", "spmis-i", "registrant_id"}
SEX_VALUES = {"f": "F", "female": "F", "m": "M", "male": "M", "x": "X", "other": "X"}


class CriteriaError(ValueError):
    """A search request we cannot run: the spec's status reason code and words naming what to change."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Attribute:
    level: str  # "household" or "individual"
    kind: str  # int, date, sex, bool, area, text
    operators: tuple[str, ...]
    personal: bool = False  # searching by it needs the personal-data permission


ATTRIBUTES: dict[str, Attribute] = {
    "household_size": Attribute("household", "int", OPERATORS),
    "members_under_5": Attribute("household", "int", OPERATORS),
    "area_code": Attribute("household", "area", ("eq", "in")),
    "registration_date": Attribute("household", "date", OPERATORS),
    "household_id": Attribute("household", "text", ("eq", "in")),
    "age": Attribute("individual", "int", OPERATORS),
    "birth_date": Attribute("individual", "date", OPERATORS, personal=True),
    "birth_year": Attribute("individual", "int", OPERATORS, personal=True),
    "sex": Attribute("individual", "sex", ("eq", "in")),
    "is_disabled": Attribute("individual", "bool", ("eq",)),
    "member_id": Attribute("individual", "text", ("eq", "in")),
}
ALIASES = {
    "group_size": "household_size",
    "size": "household_size",
    "under_5": "members_under_5",
    "children_under_5": "members_under_5",
    "location": "area_code",
    "area": "area_code",
    "admin_area": "area_code",
    "dob": "birth_date",
    "yob": "birth_year",
    "gender": "sex",
    "disability": "is_disabled",
    "registrant_id": "member_id",
    "group_identifier": "household_id",
}
SORTABLE = {
    "group": {"household_size": "dci_size", "registration_date": "registered_on", "household_id": "registrant_id"},
    "member": {"age": "-birth_date", "birth_date": "birth_date", "member_id": "registrant_id"},
}


@dataclass(frozen=True)
class Leaf:
    attribute: str  # a key of ATTRIBUTES, or "id:<IdType code>"
    operator: str
    value: Any


@dataclass(frozen=True)
class Criteria:
    entity: str  # "group" or "member"
    condition: Q
    order: tuple[str, ...]
    page_size: int
    page_number: int
    personal_attributes: tuple[str, ...]


def attribute_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise CriteriaError("rjct.search_criteria.invalid", "Every condition needs an attribute_name.")
    name = raw.strip().lower()
    for prefix in ("demographic_info.person.", "demographic_info.", "person.", "group.", "member."):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    name = ALIASES.get(name, name)
    if name in ATTRIBUTES:
        return name
    id_type = identifier_type(raw.strip())
    if id_type:
        return id_type
    raise CriteriaError(
        "rjct.search_criteria.invalid",
        f"{raw} is not a searchable attribute; searchable: {', '.join(sorted(ATTRIBUTES))} and identifier types "
        f"({', '.join(sorted(ID_TYPE_ALIASES))} or the registry's ID type codes).",
    )


def identifier_type(raw: str) -> str | None:
    """'id:<IdType code>', 'household_id', 'member_id' for an identifier type a sender names, or None."""
    key = raw.lower()
    if key in HOUSEHOLD_ID_TYPES:
        return "household_id"
    if key in MEMBER_ID_TYPES:
        return "member_id"
    code = ID_TYPE_ALIASES.get(key.replace(" ", ""))
    known = {c.lower(): c for c in IdType.objects.values_list("code", flat=True)}
    if code and code in known.values():
        return f"id:{code}"
    if key in known:
        return f"id:{known[key]}"
    return None


def _one(kind: str, name: str, value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    if kind == "int":
        if isinstance(value, bool):
            raise CriteriaError("rjct.search_criteria.invalid", f"{name} needs a whole number, not {value!r}.")
        try:
            number = float(value) if isinstance(value, (int, float)) else float(str(value))
        except ValueError:
            raise CriteriaError(
                "rjct.search_criteria.invalid", f"{name} needs a whole number, not {value!r}."
            ) from None
        if number != int(number) or abs(number) > 1_000_000:
            raise CriteriaError("rjct.search_criteria.invalid", f"{name} needs a whole number, not {value!r}.")
        return int(number)
    if kind == "date":
        text = str(value)[:10]
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise CriteriaError(
                "rjct.search_criteria.invalid", f"{name} needs a date as YYYY-MM-DD, not {value!r}."
            ) from None
    if kind == "sex":
        code = SEX_VALUES.get(str(value).lower())
        if code is None:
            raise CriteriaError("rjct.search_criteria.invalid", f"{name} is one of female, male, other; not {value!r}.")
        return code
    if kind == "bool":
        if value in (True, "true", "1", 1, "yes"):
            return True
        if value in (False, "false", "0", 0, "no"):
            return False
        raise CriteriaError("rjct.search_criteria.invalid", f"{name} is true or false, not {value!r}.")
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value) or len(str(value)) > 64:
        raise CriteriaError("rjct.search_criteria.invalid", f"{name} needs a text value of 1 to 64 characters.")
    return str(value)


def leaf(name: Any, operator: Any, value: Any) -> Leaf:
    attribute = attribute_name(name)
    spec = ATTRIBUTES.get(attribute, Attribute("individual", "text", ("eq", "in"), personal=True))
    operator = str(operator or "").lower()
    if operator not in spec.operators:
        raise CriteriaError(
            "rjct.search_criteria.invalid", f"{name} takes the operators {', '.join(spec.operators)}, not {operator!r}."
        )
    if operator == "in":
        values = value if isinstance(value, list) else [v for v in str(value).split(",") if v.strip()]
        if not values or len(values) > 100:
            raise CriteriaError("rjct.search_criteria.invalid", f"{name} in needs a list of 1 to 100 values.")
        return Leaf(attribute, operator, tuple(_one(spec.kind, str(name), v) for v in values))
    return Leaf(attribute, operator, _one(spec.kind, str(name), value))


# -- parsing the three shapes into a tree of ("and"|"or"|"not", [...]) and Leaf -----------------------------------


def parse_query(query_type: Any, query: Any) -> Any:
    if query_type == "idtype-value":
        if not isinstance(query, dict) or not query.get("type") or query.get("value") in (None, ""):
            raise CriteriaError("rjct.search_criteria.invalid", 'An idtype-value query is {"type": ..., "value": ...}.')
        attribute = identifier_type(str(query["type"]))
        if attribute is None:
            raise CriteriaError(
                "rjct.search_criteria.invalid", f"{query['type']} is not an identifier type this registry holds."
            )
        return Leaf(attribute, "eq", _one("text", str(query["type"]), query["value"]))
    if query_type not in ("expression", "predicate"):
        raise CriteriaError("rjct.search_criteria.invalid", "query_type is idtype-value, expression or predicate.")
    if isinstance(query, list):
        return _parse_condition_list(query)
    if isinstance(query, dict) and isinstance(query.get("value"), dict):
        expression = query["value"].get("expression")
        if isinstance(expression, dict) and "query" in expression:
            return _parse_nosql(expression["query"], 0)
    raise CriteriaError(
        "rjct.search_criteria.invalid",
        "An expression query is a list of {seq_num, expression1, condition, expression2} or "
        '{"type": ..., "value": {"expression": {"collection": ..., "query": {"$and": [...]}}}}.',
    )


def _parse_condition_list(items: list) -> Any:
    if not items:
        raise CriteriaError("rjct.search_criteria.invalid", "The expression list is empty.")
    parsed = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise CriteriaError("rjct.search_criteria.invalid", f"Expression {index + 1} is not an object.")
        keys = sorted(
            (k for k in item if k.startswith("expression") and k[10:].isdigit() and item[k] not in ("", None)),
            key=lambda k: int(k[10:]),
        )
        if not keys or keys[0] != "expression1":
            raise CriteriaError("rjct.search_criteria.invalid", f"Expression {index + 1} has no expression1.")
        expressions = []
        for key in keys:
            expression = item[key]
            if not isinstance(expression, dict):
                raise CriteriaError(
                    "rjct.search_criteria.invalid", f"{key} of expression {index + 1} is not an object."
                )
            expressions.append(
                leaf(expression.get("attribute_name"), expression.get("operator"), expression.get("attribute_value"))
            )
        condition = str(item.get("condition") or "and").lower()
        if condition not in ("and", "or", "not"):
            raise CriteriaError("rjct.search_criteria.invalid", "condition is and, or or not.")
        node: Any = expressions[0]
        for other in expressions[1:]:
            node = ("and", [node, ("not", [other])]) if condition == "not" else (condition, [node, other])
        try:
            seq = float(item.get("seq_num") or index + 1)
        except (TypeError, ValueError):
            raise CriteriaError("rjct.search_criteria.invalid", "seq_num must be a number.") from None
        parsed.append((seq, index, node))
    parsed.sort(key=lambda entry: entry[:2])
    return ("and", [node for _, _, node in parsed])


def _parse_nosql(query: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CriteriaError("rjct.search_criteria.invalid", f"The query nests deeper than {MAX_DEPTH} levels.")
    if not isinstance(query, dict) or not query:
        raise CriteriaError("rjct.search_criteria.invalid", "Each part of the query is a non-empty object.")
    parts = []
    for key, value in query.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise CriteriaError("rjct.search_criteria.invalid", f"{key} needs a non-empty list.")
            parts.append((key[1:], [_parse_nosql(v, depth + 1) for v in value]))
        elif key.startswith("$"):
            raise CriteriaError("rjct.search_criteria.invalid", f"{key} is not supported; use $and, $or.")
        elif isinstance(value, dict):
            for operator, operand in value.items():
                if operator not in NOSQL_OPERATORS:
                    raise CriteriaError(
                        "rjct.search_criteria.invalid",
                        f"{key}: {operator} is not supported; use {', '.join(NOSQL_OPERATORS)}.",
                    )
                parts.append(leaf(key, NOSQL_OPERATORS[operator], operand))
        else:
            parts.append(leaf(key, "eq", value))
    return parts[0] if len(parts) == 1 else ("and", parts)


def leaves(node: Any) -> list[Leaf]:
    if isinstance(node, Leaf):
        return [node]
    return [item for child in node[1] for item in leaves(child)]


# -- to Q ---------------------------------------------------------------------------------------------------------


def households_annotated():
    """Households with what their attributes need: member count (the kept summary) and members under 5."""
    under_5_since = _years_before(timezone.localdate(), 5)
    under_5 = (
        Membership.objects.filter(
            household=OuterRef("pk"),
            end_date__isnull=True,
            individual__status="active",
            individual__birth_date__gt=under_5_since,
        )
        .order_by()
        .values("household")
        .annotate(n=Count("*"))
        .values("n")
    )
    size = HouseholdMembers.objects.filter(household=OuterRef("pk")).values("members")
    return Household.objects.annotate(
        dci_size=Coalesce(Subquery(size, output_field=IntegerField()), Value(0)),
        dci_under5=Coalesce(Subquery(under_5, output_field=IntegerField()), Value(0)),
    )


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _compare(field: str, operator: str, value: Any) -> Q:
    lookup = {"eq": "exact", "gt": "gt", "lt": "lt", "ge": "gte", "le": "lte", "in": "in"}[operator]
    return Q(**{f"{field}__{lookup}": list(value) if operator == "in" else value})


def _age_q(operator: str, value: Any) -> Q:
    """Age in whole years today, as birth-date bounds (so the birth_date index serves it)."""
    today = timezone.localdate()

    def born_after(years):  # younger than `years`
        return Q(birth_date__gt=_years_before(today, years))

    if operator == "in":
        q = Q(pk__in=[])
        for one in value:
            q |= _age_q("eq", one)
        return q
    return {
        "lt": born_after(value),
        "le": born_after(value + 1),
        "gt": ~born_after(value + 1) & Q(birth_date__isnull=False),
        "ge": ~born_after(value) & Q(birth_date__isnull=False),
        "eq": born_after(value + 1) & ~born_after(value) & Q(birth_date__isnull=False),
    }[operator]


def _household_q(item: Leaf) -> Q:
    if item.attribute == "household_size":
        return _compare("dci_size", item.operator, item.value)
    if item.attribute == "members_under_5":
        return _compare("dci_under5", item.operator, item.value)
    if item.attribute == "registration_date":
        return _compare("registered_on", item.operator, item.value)
    if item.attribute == "household_id":
        return _compare(
            "registrant_id",
            item.operator,
            tuple(v.upper() for v in item.value) if item.operator == "in" else item.value.upper(),
        )
    if item.attribute == "area_code":
        codes = list(item.value) if item.operator == "in" else [item.value]
        ids = list(Area.objects.filter(code__in=codes).values_list("id", flat=True))
        return Q(area__lineage__overlap=ids) if ids else Q(pk__in=[])
    raise AssertionError(item.attribute)


def _individual_q(item: Leaf) -> Q:
    if item.attribute == "age":
        return _age_q(item.operator, item.value)
    if item.attribute == "birth_date":
        return _compare("birth_date", item.operator, item.value)
    if item.attribute == "birth_year":
        return _compare("birth_date__year", item.operator, item.value)
    if item.attribute == "sex":
        return _compare("sex", item.operator, item.value)
    if item.attribute == "is_disabled":
        return Q(disability=item.value)
    if item.attribute == "member_id":
        return _compare(
            "registrant_id",
            item.operator,
            tuple(v.upper() for v in item.value) if item.operator == "in" else item.value.upper(),
        )
    if item.attribute.startswith("id:"):
        numbers = list(item.value) if item.operator == "in" else [item.value]
        documents = IdDocument.objects.filter(
            individual=OuterRef("pk"), id_type__code=item.attribute[3:], number__in=numbers
        )
        return Q(Exists(documents))
    raise AssertionError(item.attribute)


def _level(item: Leaf) -> str:
    return ATTRIBUTES[item.attribute].level if item.attribute in ATTRIBUTES else "individual"


def to_q(node: Any, entity: str) -> Q:
    """The tree as a Q on Household (entity "group") or Individual ("member")."""
    if isinstance(node, Leaf):
        level = _level(node)
        if entity == "group":
            if level == "household":
                return _household_q(node)
            people = Individual.objects.filter(_individual_q(node), status="active")
            return Q(
                Exists(
                    Membership.objects.filter(household=OuterRef("pk"), end_date__isnull=True, individual__in=people)
                )
            )
        if level == "individual":
            return _individual_q(node)
        households = households_annotated().filter(_household_q(node))
        return Q(
            Exists(
                Membership.objects.filter(individual=OuterRef("pk"), end_date__isnull=True, household__in=households)
            )
        )
    op, children = node
    qs = [to_q(child, entity) for child in children]
    if op == "not":
        return ~qs[0]
    combined = qs[0]
    for q in qs[1:]:
        combined = (combined & q) if op == "and" else (combined | q)
    return combined


ENTITIES = {"group": "group", "household": "group", "member": "member", "person": "member", "individual": "member"}


def criteria(search_criteria: Any) -> Criteria:
    """One search_request item's search_criteria, checked and compiled."""
    if not isinstance(search_criteria, dict):
        raise CriteriaError("rjct.search_criteria.invalid", "search_criteria must be an object.")
    query_type = search_criteria.get("query_type")
    tree = parse_query(query_type, search_criteria.get("query"))
    found = leaves(tree)
    if len(found) > MAX_CONDITIONS:
        raise CriteriaError("rjct.search_criteria.invalid", f"A search takes at most {MAX_CONDITIONS} conditions.")
    raw_entity = search_criteria.get("response_entity")
    if raw_entity in (None, ""):
        entity = "member" if query_type == "idtype-value" else "group"
    else:
        entity = ENTITIES.get(str(raw_entity).lower())
        if entity is None:
            raise CriteriaError("rjct.search_criteria.invalid", "response_entity is Group or Member.")
    page_size, page_number = _pagination(search_criteria.get("pagination"))
    return Criteria(
        entity=entity,
        condition=to_q(tree, entity),
        order=_order(search_criteria.get("sort"), entity),
        page_size=page_size,
        page_number=page_number,
        personal_attributes=tuple(
            sorted({f.attribute for f in found if f.attribute not in ATTRIBUTES or ATTRIBUTES[f.attribute].personal})
        ),
    )


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _pagination(pagination: Any) -> tuple[int, int]:
    if pagination in (None, ""):
        return DEFAULT_PAGE_SIZE, 1
    if not isinstance(pagination, dict):
        raise CriteriaError("rjct.pagination.invalid", "pagination is {page_size, page_number}.")
    size = _whole(pagination.get("page_size", DEFAULT_PAGE_SIZE))
    number = _whole(pagination.get("page_number", 1))
    if size is None or not 1 <= size <= MAX_PAGE_SIZE:
        raise CriteriaError("rjct.pagination.invalid", f"page_size is a whole number from 1 to {MAX_PAGE_SIZE}.")
    if number is None or not 1 <= number <= 1_000_000:
        raise CriteriaError("rjct.pagination.invalid", "page_number is a whole number from 1 (the first page).")
    return size, number


def _order(sort: Any, entity: str) -> tuple[str, ...]:
    if sort in (None, ""):
        return ("pk",)
    if not isinstance(sort, list):
        raise CriteriaError("rjct.sort.invalid", "sort is a list of {attribute_name, sort_order}.")
    fields = []
    for item in sort:
        if not isinstance(item, dict):
            raise CriteriaError("rjct.sort.invalid", "sort is a list of {attribute_name, sort_order}.")
        raw = str(item.get("attribute_name") or "")
        name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if name not in SORTABLE[entity] and identifier_type(raw.strip()) is not None:
            # Sorting by a document number would reveal it; sorting by an identifier sorts by the registry's own id.
            name = "household_id" if entity == "group" else "member_id"
        if name not in SORTABLE[entity]:
            raise CriteriaError(
                "rjct.sort.invalid",
                f"{raw or 'A sort'} cannot sort {entity} results; sort by {', '.join(SORTABLE[entity])}.",
            )
        order = str(item.get("sort_order") or "asc").lower()
        if order not in ("asc", "desc"):
            raise CriteriaError("rjct.sort.invalid", "sort_order is asc or desc.")
        field = SORTABLE[entity][name]
        if order == "desc":
            field = field[1:] if field.startswith("-") else f"-{field}"
        fields.append(field)
    return (*fields, "pk")
