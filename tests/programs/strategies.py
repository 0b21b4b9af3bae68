"""Hypothesis strategies for rules drawn from the whole subset: every variable, operator and function, typed so
that each drawn rule compiles. The pieces that name data (area codes, zone key, program codes) come from the
sample fixture."""

from __future__ import annotations

from hypothesis import strategies as st

INT_VARIABLES = [
    "household.size",
    "household.days_since_registration",
    "members.count",
    "members.under_5",
    "members.under_18",
    "members.aged_60_plus",
    "members.with_disability",
    "members.pregnant_or_lactating",
    "members.female",
    "members.male",
    "exposure.rank",
    "custom.plot",
]
DOUBLE_VARIABLES = ["exposure.raster_value", "exposure.distance_to_edge_m", "custom.income"]
STRING_VARIABLES = [
    "household.kind",
    "household.location_precision",
    "household.source",
    "exposure.class",
    "custom.village",
    "custom.note",
    "custom.visited",
]
BOOL_VARIABLES = ["household.has_location", "exposure.affected", "custom.farmer"]
STRINGS = ['"household"', '"camp"', '"gps"', '"census"', '""', '"high"', '"low"', '"north"', "'Åsa'", '"2026-01-01"']
PREFIXES = ['"h"', '"c"', '"no"', '""', '"Å"', '"2026"']
POLYGON = '"POLYGON((90.3 23.1, 91.4 23.1, 91.4 23.8, 90.3 23.8, 90.3 23.1))"'


def _divides_by_literal_zero(parts: tuple[str, str, str]) -> bool:
    """A literal zero divisor is a compile error (tested on its own), not a rule to compare."""
    return parts[1] in "/%" and parts[2].strip("-() ") in ("0", "0.0")


def rules(names: dict[str, str]):
    """Expression strategies by type; `names` holds the sample's area, zone and program codes."""
    int_atom = st.one_of(st.sampled_from(INT_VARIABLES), st.integers(-3, 20).map(str))
    double_atom = st.one_of(
        st.sampled_from(DOUBLE_VARIABLES), st.sampled_from(["0.5", "2.5", "1000.0", "1e3", ".25", "-1.5"])
    )
    string_atom = st.one_of(st.sampled_from(STRING_VARIABLES), st.sampled_from(STRINGS))
    bool_atom = st.one_of(
        st.sampled_from(BOOL_VARIABLES),
        st.sampled_from(["true", "false", "has(custom.income)", "has(custom.farmer)", "has(custom.village)"]),
        st.sampled_from(
            [
                f'in_area("{names["west"]}")',
                f'in_area("{names["country"]}")',
                f'in_zone("{names["zone"]}")',
                f"within({POLYGON})",
                f'enrolled_in("{names["program"]}")',
                f'enrolled_in("{names["other"]}")',
            ]
        ),
        # distance_m is infinite without a location: compared, never computed with (inf - inf is NaN, whose
        # ordering differs between PostgreSQL and IEEE).
        st.sampled_from(["<", ">=", ">"]).flatmap(
            lambda op: st.sampled_from(["20000.0", "80000", "150000.5"]).map(
                lambda limit: f"distance_m(90.5, 23.5) {op} {limit}"
            )
        ),
    )

    def typed(kind: str, depth: int):
        return st.deferred(lambda: _expression(kind, depth))

    def _expression(kind: str, depth: int):
        atom = {"int": int_atom, "double": double_atom, "string": string_atom, "bool": bool_atom}[kind]
        if depth == 0:
            return atom
        smaller = depth - 1
        ternary = st.tuples(typed("bool", smaller), typed(kind, smaller), typed(kind, smaller)).map(
            lambda t: f"({t[0]} ? {t[1]} : {t[2]})"
        )
        if kind == "int":
            binary = (
                st.tuples(typed("int", smaller), st.sampled_from("+-/%"), typed("int", smaller))
                .filter(lambda t: not _divides_by_literal_zero(t))
                .map(lambda t: f"({t[0]} {t[1]} {t[2]})")
            )
            # Products by a small literal only: a product of variables can leave 64 bits, an error in both
            # languages but one whose reach (one household, or the whole query) differs.
            product = st.tuples(typed("int", smaller), st.integers(-3, 20)).map(lambda t: f"({t[0]} * {t[1]})")
            return st.one_of(atom, binary, product, typed("int", smaller).map(lambda e: f"-{e}"), ternary)
        if kind == "double":
            number = st.one_of(typed("int", smaller), typed("double", smaller))
            binary = (
                st.tuples(typed("double", smaller), st.sampled_from("+-*/"), number)
                .filter(lambda t: not _divides_by_literal_zero(t))
                .map(lambda t: f"({t[0]} {t[1]} {t[2]})")
            )
            mixed = st.tuples(typed("int", smaller), st.sampled_from("+-*/"), typed("double", smaller)).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            )
            return st.one_of(atom, binary, mixed, typed("double", smaller).map(lambda e: f"-({e})"), ternary)
        if kind == "string":
            concat = st.tuples(typed("string", smaller), typed("string", smaller)).map(lambda t: f"({t[0]} + {t[1]})")
            return st.one_of(atom, concat, ternary)
        number = st.one_of(typed("int", smaller), typed("double", smaller))
        comparison = st.tuples(number, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), number).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        )
        text_comparison = st.tuples(
            typed("string", smaller), st.sampled_from(["==", "!=", "<", ">="]), typed("string", smaller)
        ).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
        method = st.tuples(
            typed("string", smaller), st.sampled_from(["startsWith", "endsWith", "contains"]), st.sampled_from(PREFIXES)
        ).map(lambda t: f"{t[0]}.{t[1]}({t[2]})")
        membership = st.one_of(
            st.tuples(number, st.lists(st.sampled_from(["0", "1", "2", "3", "2.5", "-1"]), max_size=4)).map(
                lambda t: f"{t[0]} in [{', '.join(t[1])}]"
            ),
            st.tuples(typed("string", smaller), st.lists(st.sampled_from(STRINGS), max_size=3)).map(
                lambda t: f"{t[0]} in [{', '.join(t[1])}]"
            ),
        )
        logic = st.tuples(typed("bool", smaller), st.sampled_from(["&&", "||"]), typed("bool", smaller)).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        equal_bools = st.tuples(typed("bool", smaller), st.sampled_from(["==", "!="]), typed("bool", smaller)).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        )
        negation = typed("bool", smaller).map(lambda e: f"!({e})")
        return st.one_of(atom, comparison, text_comparison, method, membership, logic, equal_bools, negation, ternary)

    return typed
