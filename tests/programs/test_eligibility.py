from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from programs.eligibility import FUNCTIONS, VARIABLES, RuleContext, RuleError, compile_number, compile_rule, merge_joins
from programs.eligibility.activation import activation_for_households, evaluate
from programs.models import Program
from registry.models import CustomField
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.programs.conftest import TODAY
from tests.programs.strategies import rules
from tests.response.factories import ExposureRunFactory

pytestmark = pytest.mark.django_db


def rendered(composable: sql.Composable) -> str:
    connection.ensure_connection()
    return composable.as_string(connection.connection)


def matching(compiled) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(compiled.households())
        return {row[0] for row in cursor.fetchall()}


def values(compiled) -> dict[int, object]:
    with connection.cursor() as cursor:
        cursor.execute(compiled.households(sql.SQL("h.id, {}").format(compiled.where)))
        return dict(cursor.fetchall())


# --- errors ------------------------------------------------------------------------------------------------------


@pytest.fixture
def defined(two_districts):
    CustomField.objects.create(name="income", type="decimal", applies_to="household")
    CustomField.objects.create(name="tags", type="multi_choice", applies_to="household", choices=["a"])
    CustomField.objects.create(name="age_note", type="text", applies_to="individual")


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("members.count >", 1, 15, "ends too early"),
        ("members.count ## 2", 1, 15, "character '#'"),
        ('household.kind == "camp', 1, 19, "not closed"),
        ("household.sizes > 1", 1, 11, "Unknown variable household.sizes"),
        ("size > 1", 1, 1, "Unknown variable 'size'"),
        ("people.count > 1", 1, 1, "Unknown variable people.count"),
        ("members.count > 1 &&\n  household.bogus", 2, 13, "Unknown variable household.bogus"),
        ("frobnicate(1)", 1, 1, "Unknown function frobnicate()"),
        ('household.kind.lower() == "x"', 1, 16, "Unknown function lower()"),
        ('in_area("NOPE")', 1, 9, "No area has the code 'NOPE'"),
        ('members.count > 0 && in_area("C-W") && in_area("C-X")', 1, 48, "No area has the code 'C-X'"),
        ("members.count == 'x'", 1, 18, "cannot compare int with string"),
        ("1 + household.kind > 2", 1, 5, "needs numbers, not string"),
        ("household.has_location < true", 1, 24, "only be compared with == and !="),
        ("!members.count", 1, 1, "! needs a true/false value"),
        ("members.count > 1 ? 1 : 'x'", 1, 21, "two branches"),
        ("[1, 2].all(x, x > 0)", 1, 8, "all() is not supported"),
        ("size(household.kind) > 2", 1, 1, "size() is not supported"),
        ("household.size[0] > 1", 1, 1, "Indexing with [ ] is not supported"),
        ('{"a": 1}.a == 1', 1, 1, "A map { } is not supported"),
        ("members.count > 1u", 1, 17, "Unsigned numbers (1u) is not supported"),
        ("household.kind == null", 1, 19, "null is not supported"),
        ("members.count in 3", 1, 18, "in needs a list"),
        ("[1, 2] == [1, 2]", 1, 1, "A list is only allowed after in"),
        ("members.count / 0 > 1", 1, 17, "Division by zero"),
        ("exposure.affected", 1, 1, "Choose an exposure run to use exposure.affected"),
        ("custom.missing > 1", 1, 8, "Unknown custom field 'missing'"),
        ("custom.age_note == 'x'", 1, 8, "Unknown custom field 'age_note'"),
        ('custom.tags == "a"', 1, 8, "multi-choice field"),
        ("members.count > 0 && !members.count", 1, 22, "! needs a true/false value"),
        ("2.5 % 2 == 1", 1, 5, "% works on whole numbers only"),
        ("has(household.kind)", 1, 1, "has() works on custom fields only"),
        ('in_zone("not-a-uuid")', 1, 9, "is not a zone key"),
        ('in_zone("5f0c1e2a-5a7f-4f57-9a2c-1f0e9d8c7b6a")', 1, 9, "No hazard zone has the key"),
        ('within("POLYGON((90 23, 91 23))")', 1, 8, "Not a WKT polygon"),
        ('within("POINT(90 23)")', 1, 8, "needs a POLYGON"),
        ('within("POLYGON((0 0, 2 2, 2 0, 0 2, 0 0))")', 1, 8, "not valid"),
        ('within("POLYGON((500 0, 501 0, 501 1, 500 1, 500 0))")', 1, 8, "longitude/latitude"),
        ("distance_m(200, 23) < 5", 1, 12, "longitude must be between"),
        ("distance_m(household.size, 23) < 5", 1, 12, "written as a number"),
        ("distance_m(90) < 5", 1, 1, "takes 2 arguments"),
        ('enrolled_in("PRG-NOPE")', 1, 13, "No program has the code"),
        ('in_area("C" + "-W")', 1, 9, "takes one quoted text"),
        ("household", 1, 1, "household is a group of variables"),
        ("in_area", 1, 1, "in_area is a function"),
        ("99999999999999999999 > 1", 1, 1, "too large"),
    ],
)
def test_errors_name_the_position_in_plain_words(defined, text, line, column, words):
    with pytest.raises(RuleError) as caught:
        compile_rule(text, RuleContext(today=TODAY))
    error = caught.value
    assert words in error.message
    assert (error.line, error.column) == (line, column), error.as_dict()
    assert error.as_dict() == {"message": error.message, "line": line, "column": column}


def test_a_rule_must_be_boolean_and_a_number_must_be_a_number(db):
    with pytest.raises(RuleError, match="must be true or false"):
        compile_rule("household.size + 1", RuleContext())
    with pytest.raises(RuleError, match="must give a number"):
        compile_number("household.size > 1", RuleContext())
    with pytest.raises(RuleError, match="Write a number"):
        compile_number("  ", RuleContext())


def test_an_exposure_run_that_does_not_exist_is_refused(db):
    with pytest.raises(RuleError, match="Exposure run 987654 does not exist"):
        compile_rule("exposure.rank > 1", RuleContext(exposure_run_id=987654))


def test_variables_and_functions_are_documented():
    names = {v["name"] for v in VARIABLES}
    assert {"household.size", "members.with_disability", "exposure.class", "custom.<name>"} <= names
    assert all(v["type"] and v["description"] for v in VARIABLES)
    assert {f["name"] for f in FUNCTIONS} == {"in_area", "in_zone", "within", "distance_m", "enrolled_in", "has"}


# --- joins -------------------------------------------------------------------------------------------------------


def test_only_the_joins_the_variables_need(db):
    run = ExposureRunFactory()
    context = RuleContext(exposure_run_id=run.pk, today=TODAY)
    household_only = compile_rule('household.kind == "camp" && household.days_since_registration > 30', context)
    assert rendered(household_only.joins) == ""
    assert household_only.variables == {"household.kind", "household.days_since_registration"}

    members = compile_rule("members.under_5 >= 2 && household.size >= 3", context)
    text = rendered(members.joins)
    assert text.count("LEFT JOIN LATERAL") == 1 and "response_exposureresult" not in text
    # Only the aggregates used: under_5 in the lateral; the count behind household.size from registry's summary.
    assert 'AS "under_5"' in text and 'AS "count"' not in text and '"female"' not in text
    assert text.count("registry_household_members") == 1

    # "Any member under 5" and "nobody 60 or over" are the summary's youngest and oldest birth dates: no lateral,
    # whichever side the number is written on; a count compared with 2 still needs one.
    presence = compile_rule("members.under_5 > 0 && 0 == members.aged_60_plus && members.under_18 >= 1", context)
    text = rendered(presence.joins)
    assert "LATERAL" not in text and text.count("registry_household_members") == 1
    where = rendered(presence.where)
    assert '"youngest" >' in where and '"oldest" <=' in where and "mem." not in where
    mixed = compile_rule("members.under_5 > 0 || members.under_5 >= 2", context)
    assert rendered(mixed.joins).count("LEFT JOIN LATERAL") == 1

    # The count alone is one summary row per household: no lateral at all.
    counted = compile_rule("members.count >= 3 || household.size == 1", context)
    text = rendered(counted.joins)
    assert "LATERAL" not in text and text.count("registry_household_members") == 1

    exposure = compile_rule("exposure.rank >= 2", context)
    text = rendered(exposure.joins)
    assert "response_exposureresult" in text and "response_hazardclass" not in text and "LATERAL" not in text
    assert "response_hazardclass" in rendered(compile_rule('exposure.class == "high"', context).joins)

    blank = compile_rule("   ", context)
    assert rendered(blank.where) == "TRUE" and rendered(blank.joins) == ""


def test_merge_joins_writes_each_join_once_with_the_union_of_member_aggregates(db):
    run = ExposureRunFactory()
    context = RuleContext(exposure_run_id=run.pk, today=TODAY)
    first = compile_rule("members.under_5 >= 2 && exposure.affected", context)
    second = compile_number('members.female + (exposure.class == "high" ? 1 : 0)', context)
    text = rendered(merge_joins(first, second))
    assert text.count("LEFT JOIN LATERAL") == 1
    assert text.count("response_exposureresult") == 1 and text.count("response_hazardclass") == 1
    assert 'AS "under_5"' in text and 'AS "female"' in text
    # The class join reads the exposure alias, so it comes after it.
    assert text.index("response_exposureresult") < text.index("response_hazardclass")


# --- semantics ---------------------------------------------------------------------------------------------------


def _household(**members) -> int:
    household = HouseholdFactory(custom=members.pop("custom", {}))
    for _ in range(members.pop("people", 0)):
        MembershipFactory(household=household, individual=IndividualFactory(birth_date=None, sex="F"))
    return household.pk


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-7 / 2", -3),  # CEL and SQL both truncate toward zero
        ("-7 % 2", -1),
        ("7 % -2", 1),
        ("7 / household.size", 2),  # three members
        ("7 / (household.size - 3)", 0),  # a division by zero gives 0
        ("7 % (household.size - 3)", 0),
        ("7.0 / (household.size - 3)", 0.0),
        ("household.size / 2.0", 1.5),  # int promoted to double
        ("members.under_5 + members.aged_60_plus", 0),  # no birth dates: in no age group
        ("custom.plot + 1", 1),  # missing: the zero value
        ("custom.income * 2", 5.0),
        ("distance_m(90.5, 23.5)", 0.0),
        ('(custom.village + "!") == "!" ? 1 : 0', 1),
    ],
)
def test_numbers_agree_with_cel(db, text, expected):
    CustomField.objects.create(name="plot", type="integer", applies_to="household")
    CustomField.objects.create(name="income", type="decimal", applies_to="household")
    CustomField.objects.create(name="village", type="text", applies_to="household", choices=[])
    household_id = _household(people=3, custom={"income": 2.5})
    context = RuleContext(today=TODAY)
    assert values(compile_number(text, context))[household_id] == expected
    assert evaluate(text, activation_for_households([household_id], context)[household_id]) == expected


def test_missing_custom_values_and_has(db):
    CustomField.objects.create(name="farmer", type="boolean", applies_to="household")
    with_value = _household(custom={"farmer": False})
    without = _household()
    wrong_type = _household(custom={"farmer": "yes"})
    context = RuleContext(today=TODAY)
    assert matching(compile_rule("!custom.farmer", context)) >= {with_value, without, wrong_type}
    assert matching(compile_rule("has(custom.farmer)", context)) == {with_value}


def test_households_without_location(two_districts):
    nowhere = HouseholdFactory(location=None, area=two_districts[1]).pk
    context = RuleContext(today=TODAY)
    assert nowhere in matching(compile_rule('in_area("C-W") && !household.has_location', context))
    assert nowhere not in matching(compile_rule("distance_m(90.5, 23.5) < 1000000000.0", context))
    assert nowhere in matching(compile_rule("distance_m(90.5, 23.5) > 1000000000.0", context))
    polygon = '"POLYGON((89 22, 93 22, 93 25, 89 25, 89 22))"'
    assert nowhere not in matching(compile_rule(f"within({polygon})", context))
    assert nowhere in matching(compile_rule(f"!within({polygon})", context))
    activation = activation_for_households([nowhere], context)[nowhere]
    assert evaluate(f"!within({polygon}) && distance_m(90.5, 23.5) > 1e9", activation) is True


def test_inactive_households_are_never_selected(db):
    active, inactive = _household(), HouseholdFactory(status="inactive").pk
    assert matching(compile_rule("", RuleContext())) >= {active}
    assert inactive not in matching(compile_rule("true", RuleContext()))


def test_enrolled_in_its_own_program(db):
    program = Program.objects.create(name="P", currency="BDT")
    program.refresh_from_db()
    household = HouseholdFactory()
    program.memberships.create(household=household, state="enrolled")
    compiled = compile_rule(f'enrolled_in("{program.code}")', RuleContext(program_id=program.pk))
    assert matching(compiled) == {household.pk}


# --- the property: SQL and celpy agree on random rules over random households ------------------------------------


PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _names(sample) -> dict[str, str]:
    return {
        "west": "C-W",
        "country": "C",
        "zone": sample.zone_key,
        "program": sample.program_code,
        "other": sample.other_program_code,
    }


def test_sql_and_the_interpreter_select_the_same_households(sample):
    context = RuleContext(exposure_run_id=sample.run_id, today=TODAY)
    ids = [h.pk for h in sample.households]
    activations = activation_for_households(ids, context)
    active = {h.pk for h in sample.households if h.status == "active"}
    cache: dict = {}
    typed = rules(_names(sample))

    @PROPERTY
    @given(typed("bool", 3))
    def check(text: str) -> None:
        compiled = compile_rule(text, context)
        expected = {pk for pk in active if evaluate(text, activations[pk], cache=cache) is True}
        assert matching(compiled) == expected, (text, compiled.cel)

    check()


def test_any_or_none_by_age_from_the_summary_selects_what_the_interpreter_selects(sample):
    """The summary's youngest and oldest birth dates answer "any" and "none" by age exactly as counting does, on
    the rule's date (the generated sample has babies, elders, members without birth dates, closed memberships)."""
    ids = [h.pk for h in sample.households]
    active = {h.pk for h in sample.households if h.status == "active"}
    cache: dict = {}
    for today in (TODAY, TODAY.replace(year=TODAY.year - 3)):
        context = RuleContext(exposure_run_id=sample.run_id, today=today)
        activations = activation_for_households(ids, context)
        for name in ("under_5", "under_18", "aged_60_plus"):
            for test in ("> 0", ">= 1", "!= 0", "== 0", "< 1", "<= 0"):
                for text in (f"members.{name} {test}", f"{test.split()[1]} {_flip(test.split()[0])} members.{name}"):
                    compiled = compile_rule(text, context)
                    assert "mem." not in rendered(compiled.where), text
                    expected = {pk for pk in active if evaluate(text, activations[pk], cache=cache) is True}
                    assert matching(compiled) == expected, (text, today)
                    assert 0 < len(expected) < len(active) or test in ("== 0", "< 1", "<= 0"), (text, today)


def _flip(operator: str) -> str:
    return {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}[operator]


def test_sql_and_the_interpreter_compute_the_same_numbers(sample):
    context = RuleContext(exposure_run_id=sample.run_id, today=TODAY)
    ids = [h.pk for h in sample.households]
    activations = activation_for_households(ids, context)
    cache: dict = {}
    typed = rules(_names(sample))

    @PROPERTY
    @given(st.sampled_from(["int", "double"]).flatmap(lambda kind: typed(kind, 3)))
    def check(text: str) -> None:
        compiled = compile_number(text, context)
        computed = values(compiled)
        expected = {pk: evaluate(text, activations[pk], cache=cache) for pk in computed}
        assert computed == expected, (text, compiled.cel)

    check()
