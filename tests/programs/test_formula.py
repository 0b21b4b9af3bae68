from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from programs.eligibility import (
    FormulaError,
    RuleContext,
    compile_formula,
    compile_rule,
    evaluate_formula,
    merge_joins,
)
from programs.eligibility.activation import activation_for_households
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.programs.conftest import TODAY
from tests.programs.strategies import rules
from tests.response.factories import ExposureRunFactory, default_class, exposure_results

pytestmark = pytest.mark.django_db


def computed(formula, rule=None) -> dict[int, tuple]:
    """{household id: (amount, fee, quantities…)} from SQL, over the rule's and the formula's joins merged."""
    columns = [formula.amount or sql.SQL("NULL"), formula.fee or sql.SQL("NULL")] + [i.quantity for i in formula.items]
    rule = rule or compile_rule("", RuleContext())
    query = sql.SQL("SELECT h.id, {} FROM registry_household h {} WHERE h.status = 'active' AND ({})").format(
        sql.SQL(", ").join(columns), merge_joins(rule, formula), rule.where
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def reference(spec, activation, currency) -> tuple:
    result = evaluate_formula(spec, activation, currency=currency)
    return (result.amount, result.fee, *(item.quantity for item in result.items))


# --- validation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "path", "words"),
    [
        ([], "formula", "must be an object"),
        ({}, "formula", "give cash, in_kind or both"),
        ({"cash": {}, "bonus": 1}, "bonus", "unknown field"),
        ({"cash": {"base": 3000.0}}, "cash.base", "decimal string"),
        ({"cash": {"base": "abc"}}, "cash.base", "not an amount"),
        ({"cash": {"base": "-1"}}, "cash.base", "zero or more"),
        ({"cash": {"base": "1.005"}}, "cash.base", "more decimals than BDT"),
        ({"cash": {"by_class": {"high": 8000.5}}}, "cash.by_class.high", "decimal string"),
        ({"cash": {"by_class": ["high"]}}, "cash.by_class", "must be an object"),
        ({"cash": {"by_class": {"very high": "1"}}}, "cash.by_class.very high", "not a hazard class key"),
        ({"cash": {"per_member": {"count": "x"}}}, "cash.per_member", "must be a list"),
        ({"cash": {"per_member": [{"count": "members.under_5"}]}}, "cash.per_member[0]", "needs count and amount"),
        (
            {"cash": {"per_member": [{"count": "members.under_5", "amount": "5", "max_count": -1}]}},
            "cash.per_member[0].max_count",
            "whole number",
        ),
        (
            {"cash": {"per_member": [{"count": "members.bogus", "amount": "5"}]}},
            "cash.per_member[0].count",
            "Unknown variable members.bogus",
        ),
        (
            {"cash": {"per_member": [{"count": "custom.ratio * 2.5", "amount": "5"}]}},
            "cash.per_member[0].count",
            "Unknown custom field",
        ),
        (
            {"cash": {"per_member": [{"count": "members.count * 0.5", "amount": "5"}]}},
            "cash.per_member[0].count",
            "whole number (int)",
        ),
        (
            {"cash": {"multipliers": [{"when": "members.count", "factor": "2"}]}},
            "cash.multipliers[0].when",
            "true or false",
        ),
        ({"cash": {"multipliers": [{"when": "true", "factor": "-2"}]}}, "cash.multipliers[0].factor", "zero or more"),
        ({"cash": {"multipliers": [{"when": "true", "factor": 1.5}]}}, "cash.multipliers[0].factor", "decimal string"),
        ({"cash": {"cap": "0"}}, "cash.cap", "more than zero"),
        ({"cash": {"fee": {"percent": "150"}}}, "cash.fee.percent", "at most 100"),
        ({"cash": {"fee": {"rate": "1"}}}, "cash.fee.rate", "unknown field"),
        ({"in_kind": [{"item": "rice"}]}, "in_kind[0].unit", "non-empty text"),
        ({"in_kind": [{"item": "rice grain", "unit": "kg"}]}, "in_kind[0].item", "letters, digits"),
        ({"in_kind": [{"item": "rice", "unit": "kg", "per_member": "0.0005"}]}, "in_kind[0].per_member", "3 decimals"),
        (
            {"in_kind": [{"item": "rice", "unit": "kg"}, {"item": "rice", "unit": "kg"}]},
            "in_kind[1].item",
            "listed twice",
        ),
        (
            {"in_kind": [{"item": "rice", "unit": "kg", "when": 'household.kind == "a'}]},
            "in_kind[0].when",
            "not closed",
        ),
        (
            {"in_kind": [{"item": "rice", "unit": "kg", "by_class": {"high": "35"}}]},
            "in_kind[0].by_class",
            "exposure run",
        ),
        ({"cash": {"by_class": {"high": "8000"}}}, "cash.by_class", "exposure run"),
    ],
)
def test_every_field_is_validated_by_its_path(spec, path, words):
    with pytest.raises(FormulaError) as caught:
        compile_formula(spec, RuleContext(today=TODAY), currency="BDT")
    error = caught.value
    assert (error.path, words in error.message) == (path, True), error.as_dict()
    assert str(error).startswith(f"{path}: ")


def test_a_rule_error_inside_a_formula_keeps_its_position():
    spec = {"cash": {"multipliers": [{"when": "members.count > 1 &&\n  nope", "factor": "2"}]}}
    with pytest.raises(FormulaError) as caught:
        compile_formula(spec, RuleContext(), currency="BDT")
    assert caught.value.as_dict() == {
        "path": "cash.multipliers[0].when",
        "message": "Unknown variable 'nope'; variables start with household., members., exposure. or custom.",
        "line": 2,
        "column": 3,
    }


# --- worked examples ---------------------------------------------------------------------------------------------


@pytest.fixture
def household_in_run(db):
    household = HouseholdFactory()
    for birth_date, disability in [("2024-01-01", False), ("2023-06-01", True), ("1990-01-01", False)]:
        MembershipFactory(
            household=household, individual=IndividualFactory(birth_date=birth_date, disability=disability)
        )
    plain = HouseholdFactory()
    run = ExposureRunFactory()
    high = default_class("flood", "high")
    exposure_results(run, [{"household_id": household.pk, "hazard_class": high, "class_rank": high.rank}])
    return household.pk, plain.pk, RuleContext(exposure_run_id=run.pk, today=TODAY)


SPEC = {
    "cash": {
        "base": "3000.00",
        "by_class": {"high": "8000", "moderate": "5000"},
        "per_member": [{"count": "members.under_5", "amount": "500", "max_count": 1}],
        "multipliers": [{"when": "members.with_disability > 0", "factor": "1.2"}],
        "cap": "10000",
        "fee": {"percent": "1.5", "fixed": "10"},
    },
    "in_kind": [
        {"item": "rice", "unit": "kg", "per_household": "25", "per_member": "5", "by_class": {"high": "35"}},
        {"item": "tarpaulin", "unit": "piece", "per_household": "1", "when": "exposure.affected"},
    ],
}


def test_the_worked_example(household_in_run):
    exposed, plain, context = household_in_run
    formula = compile_formula(SPEC, context, currency="BDT")
    rows = computed(formula)
    # (8000 + 500 × min(2, 1)) × 1.2 = 10200, capped at 10000; fee 10000 × 1.5 % + 10 = 160.
    # Rice 35 + 5 × 3 members; one tarpaulin, as exposed.
    assert rows[exposed] == (Decimal("10000.00"), Decimal("160.00"), Decimal("50.000"), Decimal("1.000"))
    # Not exposed: base 3000, nobody under 5 or disabled; rice 25 + 0.
    assert rows[plain] == (Decimal("3000.00"), Decimal("55.00"), Decimal("25.000"), Decimal("0.000"))
    activations = activation_for_households([exposed, plain], context)
    assert reference(SPEC, activations[exposed], "BDT") == rows[exposed]
    assert reference(SPEC, activations[plain], "BDT") == rows[plain]


@pytest.mark.parametrize(
    ("currency", "base", "factor", "amount"),
    [
        ("BDT", "2500.01", "0.5", "1250.01"),  # 1250.005 rounds half away from zero
        ("JPY", "25", "0.5", "13"),  # 12.5 → 13
        ("KWD", "1.001", "0.5", "0.501"),  # 0.5005 → 0.501
        ("BDT", "0.01", "0.4", "0.00"),
    ],
)
def test_rounding_is_once_at_the_end_half_away_from_zero(db, currency, base, factor, amount):
    household = HouseholdFactory().pk
    spec = {"cash": {"base": base, "multipliers": [{"when": "true", "factor": factor}]}}
    context = RuleContext(today=TODAY)
    rows = computed(compile_formula(spec, context, currency=currency))
    assert rows[household][0] == Decimal(amount)
    assert reference(spec, activation_for_households([household], context)[household], currency)[0] == Decimal(amount)


def test_a_formula_without_cash_has_no_amount_and_without_a_fee_a_zero_fee(db):
    context = RuleContext()
    items_only = compile_formula(
        {"in_kind": [{"item": "rice", "unit": "kg", "per_household": "10"}]}, context, currency="BDT"
    )
    assert items_only.amount is None and items_only.fee is None and len(items_only.items) == 1
    household = HouseholdFactory().pk
    assert computed(compile_formula({"cash": {"base": "10"}}, context, currency="BDT"))[household][1] == Decimal(0)


def test_members_only_joined_when_a_formula_reads_them(db):
    context = RuleContext()
    connection.ensure_connection()
    flat = compile_formula({"cash": {"base": "10"}}, context, currency="BDT")
    assert flat.joins.as_string(connection.connection) == ""
    per_member = compile_formula(
        {"cash": {"per_member": [{"count": "members.female", "amount": "5"}]}}, context, currency="BDT"
    )
    text = merge_joins(compile_rule("members.under_5 > 1", context), per_member).as_string(connection.connection)
    assert text.count("LATERAL") == 1 and '"female"' in text and '"under_5"' in text


# --- the property ------------------------------------------------------------------------------------------------


def amounts(currency_digits: int):
    step = Decimal(1).scaleb(-currency_digits)
    return st.integers(0, 2_000_000).map(lambda n: str(n * step))


def specs(typed, currency: str):
    digits = {"BDT": 2, "JPY": 0, "KWD": 3}[currency]
    amount = amounts(digits)
    classes = st.dictionaries(st.sampled_from(["low", "moderate", "high"]), amount, max_size=3)
    quantity = st.integers(0, 50_000).map(lambda n: str(Decimal(n).scaleb(-3)))
    cash = st.fixed_dictionaries(
        {
            "base": amount,
            "by_class": classes,
            "per_member": st.lists(
                st.fixed_dictionaries(
                    {"count": typed("int", 2), "amount": amount},
                    optional={"max_count": st.integers(0, 5)},
                ),
                max_size=2,
            ),
            "multipliers": st.lists(
                st.fixed_dictionaries(
                    {"when": typed("bool", 2), "factor": st.integers(0, 3000).map(lambda n: str(Decimal(n).scaleb(-3)))}
                ),
                max_size=3,
            ),
        },
        optional={
            "cap": st.integers(1, 3_000_000).map(lambda n: str(n * Decimal(1).scaleb(-digits))),
            "fee": st.fixed_dictionaries(
                {},
                optional={
                    "percent": st.integers(0, 5000).map(lambda n: str(Decimal(n).scaleb(-3))),
                    "fixed": amount,
                },
            ),
        },
    )
    item = st.fixed_dictionaries(
        {"unit": st.sampled_from(["kg", "piece", "L"])},
        optional={
            "per_household": quantity,
            "per_member": quantity,
            "by_class": st.dictionaries(st.sampled_from(["low", "moderate", "high"]), quantity, max_size=2),
            "when": typed("bool", 2),
        },
    )
    in_kind = st.lists(item, max_size=3).map(lambda items: [{"item": f"item{i}", **it} for i, it in enumerate(items)])
    return st.one_of(
        st.fixed_dictionaries({"cash": cash}),
        st.fixed_dictionaries({"in_kind": in_kind}),
        st.fixed_dictionaries({"cash": cash, "in_kind": in_kind}),
    )


def test_sql_and_decimal_give_the_same_entitlements(sample):
    context = RuleContext(exposure_run_id=sample.run_id, today=TODAY)
    activations = activation_for_households([h.pk for h in sample.households], context)
    typed = rules(
        {
            "west": "C-W",
            "country": "C",
            "zone": sample.zone_key,
            "program": sample.program_code,
            "other": sample.other_program_code,
        }
    )

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.sampled_from(["BDT", "JPY", "KWD"]).flatmap(lambda c: st.tuples(st.just(c), specs(typed, c))))
    def check(drawn) -> None:
        currency, spec = drawn
        rows = computed(compile_formula(spec, context, currency=currency))
        expected = {pk: reference(spec, activations[pk], currency) for pk in rows}
        assert rows == expected, spec

    check()
