"""Eligibility rules: a whitelisted subset of CEL, type-checked and compiled to one SQL boolean (or number) over
`registry_household h`, plus the joins the variables used need and nothing more.

One walk of celpy's parse tree produces, for every node, its CEL type, its SQL (psycopg.sql only) and a
normalised CEL text. The normalised text is what the Python reference (activation.evaluate) hands to celpy's
interpreter: the same expression with the rule language's few decisions written out in CEL itself — `double()`
where an int meets a double (celpy refuses mixed arithmetic), a zero result for a division by zero, the zero value
of a missing custom field. The SQL and the interpreter then agree by construction on those decisions and
independently on everything else (operators, variables, functions), which is what the property tests compare.
"""

from __future__ import annotations

import datetime
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import celpy
import lark
import shapely
import shapely.errors
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import celstr
from django.utils import timezone
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from psycopg import sql

from programs.eligibility.variables import (
    BOOL,
    CUSTOM_TYPES,
    DOUBLE,
    FUNCTION_BY_NAME,
    INT,
    JSON_TYPES,
    ROOTS,
    STRING,
    VARIABLE_BY_NAME,
)

MAX_RULE_LENGTH = 10_000
NUMERIC = (INT, DOUBLE)

# Standard CEL functions and macros that exist but are outside the subset: named as such, not as unknown.
CEL_BUILTINS = frozenset(
    "all exists exists_one map filter size int uint double string bytes bool type dyn duration timestamp matches "
    "getDate getDayOfMonth getDayOfWeek getDayOfYear getFullYear getHours getMilliseconds getMinutes getMonth "
    "getSeconds min max".split()
)
STRING_METHODS = {"startsWith", "endsWith", "contains"}


# An exposure_run_id for checking a rule whose analysis is chosen later, when the rule is applied.
ANY_RUN = -1


@dataclass(frozen=True)
class RuleContext:
    exposure_run_id: int | None = None
    today: datetime.date = field(default_factory=timezone.localdate)
    program_id: int | None = None


class RuleError(ValueError):
    """A rule that cannot be compiled: a plain-language message at a 1-based line and column."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column

    def as_dict(self) -> dict:
        return {"message": self.message, "line": self.line, "column": self.column}


# ---------------------------------------------------------------------------------------------------------------
# Joins: keyed, so that a rule and a formula that both read members or exposure join them once (merge_joins).


@dataclass(frozen=True)
class Join:
    key: str
    # Joins are written in this order (exposure_class reads exposure's alias): member_summary 0, members 1,
    # exposure 2, exposure_class 3.
    order: int
    clause: sql.Composable | None = None  # a fixed clause
    # For the members lateral: {column alias: aggregate}; merged joins take the union.
    columns: Mapping[str, sql.Composable] = field(default_factory=dict)

    def merge(self, other: Join) -> Join:
        if self.clause != other.clause:
            raise ValueError(f"two different {self.key} joins cannot be merged (compiled with different contexts?)")
        columns = dict(self.columns)
        for name, expression in other.columns.items():
            if name in columns and columns[name] != expression:
                raise ValueError(f"members.{name} was compiled for two different dates; compile with one context")
            columns[name] = expression
        return Join(self.key, self.order, self.clause, columns)

    def render(self) -> sql.Composable:
        if self.key != "members":
            assert self.clause is not None
            return self.clause
        aggregates = sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(expression, sql.Identifier(name)) for name, expression in self.columns.items()
        )
        return sql.SQL(
            "LEFT JOIN LATERAL (SELECT {aggregates} FROM registry_membership m "
            "JOIN registry_individual i ON i.id = m.individual_id "
            "WHERE m.household_id = h.id AND m.end_date IS NULL AND i.status = 'active') mem ON TRUE"
        ).format(aggregates=aggregates)


def merge_join_maps(maps: Iterable[Mapping[str, Join]]) -> dict[str, Join]:
    merged: dict[str, Join] = {}
    for join_map in maps:
        for key, join in join_map.items():
            merged[key] = merged[key].merge(join) if key in merged else join
    return dict(sorted(merged.items(), key=lambda item: item[1].order))


def render_joins(join_map: Mapping[str, Join]) -> sql.Composable:
    if not join_map:
        return sql.SQL("")
    return sql.SQL(" ").join(join.render() for join in merge_join_maps([join_map]).values())


def merge_joins(*compiled: CompiledRule | Any) -> sql.Composable:
    """The joins of several compiled rules, numbers and formulas (anything with a join_map), each join once, the
    members aggregates united."""
    return render_joins(merge_join_maps(c.join_map for c in compiled))


HOUSEHOLD_ID = sql.SQL("h.id")

# The member count read from registry's per-household summary (see _Compiler.member_column).
MEMBER_SUMMARY_JOIN = Join(
    "member_summary", 0, sql.SQL("LEFT JOIN registry_household_members hm ON hm.household_id = h.id")
)


# Counts by age whose "any" and "none" registry's summary answers: (its column, the comparison with the cutoff, years).
# A member is under 5 when born after the day 5 years earlier, 60 or over when born on it or before.
AGE_PRESENCE = {
    "under_5": ("youngest", ">", 5),
    "under_18": ("youngest", ">", 18),
    "aged_60_plus": ("oldest", "<=", 60),
}


def _member_ref(name: str) -> sql.Composed:
    """The members lateral's column for one aggregate (mem.<name>)."""
    return sql.SQL("mem.{}").format(sql.Identifier(name))


def _mentions(composable: sql.Composable, part: sql.Composable) -> bool:
    """Whether `part` occurs in a composed statement (structurally, no connection needed)."""
    if composable == part:
        return True
    if isinstance(composable, sql.Composed):
        return any(_mentions(child, part) for child in composable)
    return False


@dataclass(frozen=True)
class CompiledRule:
    source: str
    where: sql.Composable
    join_map: Mapping[str, Join]
    variables: frozenset[str]
    type: str = BOOL
    # The normalised CEL text the Python reference evaluates (see the module docstring).
    cel: str = "true"

    @property
    def joins(self) -> sql.Composable:
        return render_joins(self.join_map)

    def households(self, select: sql.Composable = HOUSEHOLD_ID) -> sql.Composed:
        """The active households the rule selects (every active household for a number expression, whose value
        `select` can then read)."""
        where = self.where if self.type == BOOL else sql.SQL("TRUE")
        return sql.SQL(
            "SELECT {select} FROM registry_household h {joins} WHERE h.status = 'active' AND ({where})"
        ).format(select=select, joins=self.joins, where=where)


# ---------------------------------------------------------------------------------------------------------------
# The typed walk.


@dataclass(frozen=True)
class Typed:
    type: str
    sql: sql.Composable
    cel: str
    const: object = None  # the Python value when the node is a literal (function arguments must be)
    is_const: bool = False


def _position(node: lark.Tree | lark.Token) -> tuple[int, int]:
    if isinstance(node, lark.Token):
        return node.line or 1, node.column or 1
    meta = node.meta
    if not meta.empty:
        return meta.line, meta.column
    for child in node.children:
        if isinstance(child, lark.Tree | lark.Token):
            return _position(child)
    return 1, 1


def _operator_position(op_node: lark.Tree, symbol: str) -> tuple[int, int]:
    """Where a binary operator is written: its tree (`relation_lt` …) holds only the left operand, but its span
    ends just after the operator."""
    meta = op_node.meta
    if meta.empty:
        return _position(op_node)
    return meta.end_line, max(1, meta.end_column - len(symbol))


def _single_chain(node: lark.Tree, wanted: str) -> lark.Tree | None:
    """The `wanted` node under a chain of single-child wrappers (expr → … → primary), if that is all there is."""
    while isinstance(node, lark.Tree):
        if node.data == wanted:
            return node
        if len(node.children) != 1:
            return None
        node = node.children[0]
    return None


def _double(node: Typed) -> Typed:
    """An int promoted to double, in both languages."""
    if node.type == DOUBLE:
        return node
    value = float(node.const) if node.is_const else None  # type: ignore[arg-type]
    return Typed(DOUBLE, sql.SQL("({})::float8").format(node.sql), f"double({node.cel})", value, node.is_const)


def _int_sql(value: int) -> sql.Composable:
    # int8 always: CEL ints are 64-bit, and an int4 literal would overflow where CEL does not.
    return sql.SQL("({}::int8)").format(sql.Literal(value))


def _float_sql(value: float) -> sql.Composable:
    # float8, never numeric: 0.1 + 0.2 must give the binary-double answer CEL gives.
    return sql.SQL("({}::float8)").format(sql.Literal(repr(value)))


def _text_sql(value: str) -> sql.Composable:
    return sql.SQL("({}::text)").format(sql.Literal(value))


ZERO_SQL = {
    INT: sql.SQL("(0::int8)"),
    DOUBLE: sql.SQL("(0::float8)"),
    STRING: sql.SQL("''::text"),
    BOOL: sql.SQL("FALSE"),
}
ZERO_CEL = {INT: "0", DOUBLE: "0.0", STRING: '""', BOOL: "false"}


def _age_cutoff(today: datetime.date, years: int) -> datetime.date:
    """The latest birth date of someone `years` old on `today` (29 February falls back to the 28th)."""
    year = today.year - years
    try:
        return today.replace(year=year)
    except ValueError:
        return today.replace(year=year, day=28)


class _Compiler:
    def __init__(self, text: str, context: RuleContext, *, for_sql: bool) -> None:
        self.text = text
        self.context = context
        self.for_sql = for_sql  # False: checking for the Python reference, which reads exposure from its activation
        self.join_map: dict[str, Join] = {}
        self.member_columns: dict[str, sql.Composable] = {}
        self.variables: set[str] = set()
        self._custom: dict[str, str] | None = None
        self._exposure_checked = False

    # -- helpers ------------------------------------------------------------------------------------------------

    def error(self, node: lark.Tree | lark.Token, message: str) -> RuleError:
        line, column = _position(node)
        return RuleError(message, line, column)

    def custom_fields(self) -> dict[str, str]:
        if self._custom is None:
            from registry.models import CustomField

            self._custom = dict(
                CustomField.objects.filter(applies_to=CustomField.AppliesTo.HOUSEHOLD).values_list("name", "type")
            )
        return self._custom

    def add_join(self, key: str) -> None:
        if key == "members":
            return  # rendered from member_columns at the end
        if key == "exposure_class":
            self.add_join("exposure")
            self.join_map.setdefault(
                key,
                Join(key, 3, sql.SQL("LEFT JOIN response_hazardclass xc ON xc.id = x.hazard_class_id")),
            )
        if key == "exposure":
            self.join_map.setdefault(
                key,
                Join(
                    key,
                    2,
                    sql.SQL("LEFT JOIN response_exposureresult x ON x.household_id = h.id AND x.run_id = {}").format(
                        sql.Literal(int(self.context.exposure_run_id or 0))
                    ),
                ),
            )

    def member_column(self, name: str) -> sql.Composable:
        if name == "count":
            # Kept per household by registry's triggers (registry_household_members): one row read instead of a
            # probe of every membership and its individual. Same condition as the lateral's (open membership,
            # active individual); a household without a row has no one counting. int8, as count(*) is.
            self.join_map.setdefault("member_summary", MEMBER_SUMMARY_JOIN)
            return sql.SQL("COALESCE(hm.members, 0)::int8")
        today = self.context.today
        disabled = sql.SQL(" OR ").join(
            [sql.SQL("i.disability")]
            + [
                sql.SQL("i.{} >= 3").format(sql.Identifier(f"wg_{domain}"))
                for domain in ("seeing", "hearing", "walking", "cognition", "self_care", "communication")
            ]
        )
        filters = {
            "count": None,
            "under_5": sql.SQL("i.birth_date > {}::date").format(sql.Literal(_age_cutoff(today, 5))),
            "under_18": sql.SQL("i.birth_date > {}::date").format(sql.Literal(_age_cutoff(today, 18))),
            "aged_60_plus": sql.SQL("i.birth_date <= {}::date").format(sql.Literal(_age_cutoff(today, 60))),
            "with_disability": disabled,
            "pregnant_or_lactating": sql.SQL("i.is_pregnant OR i.is_lactating"),
            "female": sql.SQL("i.sex = 'F'"),
            "male": sql.SQL("i.sex = 'M'"),
        }
        condition = filters[name]
        self.member_columns[name] = (
            sql.SQL("count(*)") if condition is None else sql.SQL("count(*) FILTER (WHERE {})").format(condition)
        )
        return _member_ref(name)

    def _age_presence(self, op: str, left: Typed, right: Typed) -> sql.Composable | None:
        """`members.under_5 > 0`, `== 0` and the like (a count by age tested for any or none) as a test of the
        household's youngest or oldest birth date in registry's summary, which holds for any date: one row read
        instead of every member. None for any other comparison."""
        flipped = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}
        if right.is_const is False and left.is_const:
            left, right, op = right, left, flipped[op]
        if right.type != INT or not right.is_const or isinstance(right.const, bool):
            return None
        name = next((n for n in AGE_PRESENCE if left.sql == _member_ref(n)), None)
        if name is None:
            return None
        bound = right.const
        if (op, bound) in (("gt", 0), ("ge", 1), ("ne", 0)):
            negate = False
        elif (op, bound) in (("eq", 0), ("lt", 1), ("le", 0)):
            negate = True
        else:
            return None
        column, comparison, years = AGE_PRESENCE[name]
        self.join_map.setdefault("member_summary", MEMBER_SUMMARY_JOIN)
        # Never NULL (no summary row, or nobody dated: false), and written on the bare column, whose statistics
        # then give the planner the share of households it keeps (behind COALESCE it guesses, and joins the whole
        # summary before the exposure run: 0.75 s against 0.32 s at 1,000,000 households).
        test = sql.SQL("(hm.{column} IS NOT NULL AND hm.{column} " + comparison + " {cutoff}::date)").format(
            column=sql.Identifier(column), cutoff=sql.Literal(_age_cutoff(self.context.today, years))
        )
        return sql.SQL("(NOT {})").format(test) if negate else test

    def finish(self, root: Typed) -> CompiledRule:
        join_map = dict(self.join_map)
        # A count only tested for "any" or "none" was answered from the summary (_age_presence): no lateral for it.
        columns = {
            name: aggregate for name, aggregate in self.member_columns.items() if _mentions(root.sql, _member_ref(name))
        }
        if columns:
            join_map["members"] = Join("members", 1, None, columns)
        return CompiledRule(
            source=self.text,
            where=root.sql,
            join_map=merge_join_maps([join_map]),
            variables=frozenset(self.variables),
            type=root.type,
            cel=root.cel,
        )

    # -- entry --------------------------------------------------------------------------------------------------

    def compile(self) -> Typed:
        if len(self.text) > MAX_RULE_LENGTH:
            raise RuleError(f"The rule is longer than {MAX_RULE_LENGTH} characters.")
        if "\x00" in self.text:
            raise RuleError("The rule contains a NUL character.", *self._offset_position(self.text.index("\x00")))
        try:
            tree = celpy.Environment().compile(self.text)
        except CELParseError as error:
            raise self._syntax_error(error) from None
        try:
            return self.walk(tree)
        except RecursionError:
            raise RuleError("The rule is nested too deeply.") from None

    def _offset_position(self, offset: int) -> tuple[int, int]:
        before = self.text[:offset]
        return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1

    def _syntax_error(self, error: CELParseError) -> RuleError:
        cause = error.__context__
        line, column = error.line or 1, error.column or 1
        if isinstance(cause, UnexpectedToken):
            if cause.token.type == "$END":
                return RuleError("Syntax error: the rule ends too early; something is missing here.", line, column)
            return RuleError(f"Syntax error: {cause.token.value!r} was not expected here.", line, column)
        if isinstance(cause, UnexpectedCharacters):
            char = self.text[cause.pos_in_stream] if cause.pos_in_stream < len(self.text) else ""
            if char in "\"'":
                return RuleError("Syntax error: this text is not closed by a matching quote.", line, column)
            return RuleError(f"Syntax error: the character {char!r} is not allowed here.", line, column)
        return RuleError("Syntax error.", line, column)

    # -- the walk -----------------------------------------------------------------------------------------------

    def walk(self, node: lark.Tree) -> Typed:
        method: Callable[[lark.Tree], Typed] | None = getattr(self, f"n_{node.data}", None)
        if method is None:
            raise self.error(node, f"{self._describe(node)} is not supported in eligibility rules.")
        return method(node)

    @staticmethod
    def _describe(node: lark.Tree) -> str:
        return {
            "member_index": "Indexing with [ ]",
            "member_object": "Message construction",
            "map_lit": "A map { }",
            "dot_ident": "A leading-dot name",
            "dot_ident_arg": "A leading-dot function call",
        }.get(str(node.data), str(node.data))

    def n_expr(self, node: lark.Tree) -> Typed:
        if len(node.children) == 1:
            return self.walk(node.children[0])
        condition, left, right = (self.walk(child) for child in node.children)
        if condition.type != BOOL:
            raise self.error(node.children[0], f"The condition before ? must be true or false, not {condition.type}.")
        left, right = self._unify(node.children[1], left, right, "the two branches of ? :")
        return Typed(
            left.type,
            sql.SQL("(CASE WHEN {} THEN {} ELSE {} END)").format(condition.sql, left.sql, right.sql),
            f"({condition.cel} ? {left.cel} : {right.cel})",
        )

    def _boolean(self, node: lark.Tree, op_sql: str, op_cel: str) -> Typed:
        if len(node.children) == 1:
            return self.walk(node.children[0])
        left, right = (self.walk(child) for child in node.children)
        for child, typed in zip(node.children, (left, right), strict=True):
            if typed.type != BOOL:
                raise self.error(child, f"Both sides of {op_cel} must be true or false; this is {typed.type}.")
        return Typed(
            BOOL, sql.SQL("({} " + op_sql + " {})").format(left.sql, right.sql), f"({left.cel} {op_cel} {right.cel})"
        )

    def n_conditionalor(self, node: lark.Tree) -> Typed:
        return self._boolean(node, "OR", "||")

    def n_conditionaland(self, node: lark.Tree) -> Typed:
        return self._boolean(node, "AND", "&&")

    def _unify(self, where: lark.Tree, left: Typed, right: Typed, what: str) -> tuple[Typed, Typed]:
        if left.type == right.type:
            return left, right
        if left.type in NUMERIC and right.type in NUMERIC:
            return _double(left), _double(right)
        raise self.error(where, f"Type mismatch: {what} are {left.type} and {right.type}.")

    def n_relation(self, node: lark.Tree) -> Typed:
        if len(node.children) == 1:
            return self.walk(node.children[0])
        op_node, right_node = node.children
        op = str(op_node.data).removeprefix("relation_")
        left = self.walk(op_node.children[0])
        if op == "in":
            return self._in(op_node, left, right_node)
        right = self.walk(right_node)
        symbol = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}[op]
        if left.type != right.type and not (left.type in NUMERIC and right.type in NUMERIC):
            raise self.error(right_node, f"Type mismatch: cannot compare {left.type} with {right.type} using {symbol}.")
        left, right = self._unify(right_node, left, right, "the two sides")
        if left.type == BOOL and op not in ("eq", "ne"):
            raise RuleError(
                f"true/false values can only be compared with == and !=, not {symbol}.",
                *_operator_position(op_node, symbol),
            )
        presence = self._age_presence(op, left, right)
        if presence is not None:
            return Typed(BOOL, presence, f"({left.cel} {symbol} {right.cel})")
        sql_op = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "=", "ne": "<>"}[op]
        if left.type == STRING and op not in ("eq", "ne"):
            # Code-point order, as CEL compares strings, whatever the database's collation.
            template = '({} COLLATE "C" ' + sql_op + " {})"
        else:
            template = "({} " + sql_op + " {})"
        return Typed(BOOL, sql.SQL(template).format(left.sql, right.sql), f"({left.cel} {symbol} {right.cel})")

    def _in(self, op_node: lark.Tree, left: Typed, right_node: lark.Tree) -> Typed:
        literal = _single_chain(right_node, "list_lit")
        if literal is None:
            raise self.error(right_node, "in needs a list written out in the rule, e.g. x in [1, 2, 3].")
        items = [self.walk(child) for child in (literal.children[0].children if literal.children else [])]
        for child, item in zip(literal.children[0].children if literal.children else [], items, strict=True):
            if item.type != left.type and not (item.type in NUMERIC and left.type in NUMERIC):
                raise self.error(child, f"Type mismatch: the list holds {item.type} but the left side is {left.type}.")
        if left.type == BOOL:
            raise self.error(op_node, "in does not work on true/false values; use == instead.")
        if not items:
            return Typed(BOOL, sql.SQL("FALSE"), f"({left.cel} in [])")
        if any(item.type == DOUBLE for item in items) or left.type == DOUBLE:
            left, items = _double(left), [_double(item) for item in items]
        return Typed(
            BOOL,
            sql.SQL("({} IN ({}))").format(left.sql, sql.SQL(", ").join(item.sql for item in items)),
            f"({left.cel} in [{', '.join(item.cel for item in items)}])",
        )

    def n_addition(self, node: lark.Tree) -> Typed:
        if len(node.children) == 1:
            return self.walk(node.children[0])
        op_node, right_node = node.children
        left, right = self.walk(op_node.children[0]), self.walk(right_node)
        if op_node.data == "addition_add" and left.type == STRING and right.type == STRING:
            # string(…): celpy's StringType + gives a plain str, on which .startsWith() and friends fail.
            return Typed(STRING, sql.SQL("({} || {})").format(left.sql, right.sql), f"string({left.cel} + {right.cel})")
        symbol = "+" if op_node.data == "addition_add" else "-"
        return self._arithmetic(op_node, right_node, left, right, symbol)

    def _arithmetic(self, op_node: lark.Tree, right_node: lark.Tree, left: Typed, right: Typed, symbol: str) -> Typed:
        for typed in (left, right):
            if typed.type not in NUMERIC:
                raise self.error(
                    op_node if typed is left else right_node,
                    f"Type mismatch: {symbol} needs numbers, not {typed.type}"
                    + (" (use + to join two strings)" if symbol == "+" and typed.type == STRING else "")
                    + ".",
                )
        left, right = self._unify(right_node, left, right, "the two sides")
        # double(…): celpy's DoubleType arithmetic gives a plain float; keep CEL's own type.
        operation = f"{left.cel} {symbol} {right.cel}"
        cel = f"double({operation})" if left.type == DOUBLE else f"({operation})"
        if symbol in ("/", "%"):
            if symbol == "%" and left.type == DOUBLE:
                raise RuleError("% works on whole numbers only.", *_operator_position(op_node, symbol))
            if right.is_const:
                if right.const == 0:
                    raise self.error(right_node, "Division by zero.")
            else:
                # Division (or remainder) by zero gives 0 in both languages rather than failing the whole run.
                zero_sql, zero_cel = ZERO_SQL[left.type], ZERO_CEL[left.type]
                return Typed(
                    left.type,
                    sql.SQL("COALESCE({} " + symbol + " NULLIF({}, {}), {})").format(
                        left.sql, right.sql, zero_sql, zero_sql
                    ),
                    f"({right.cel} == {zero_cel} ? {zero_cel} : {cel})",
                )
        return Typed(left.type, sql.SQL("({} " + symbol + " {})").format(left.sql, right.sql), cel)

    def n_multiplication(self, node: lark.Tree) -> Typed:
        if len(node.children) == 1:
            return self.walk(node.children[0])
        op_node, right_node = node.children
        left, right = self.walk(op_node.children[0]), self.walk(right_node)
        symbol = {"multiplication_mul": "*", "multiplication_div": "/", "multiplication_mod": "%"}[str(op_node.data)]
        return self._arithmetic(op_node, right_node, left, right, symbol)

    def n_unary(self, node: lark.Tree) -> Typed:
        if len(node.children) == 1:
            return self.walk(node.children[0])
        op_node, operand_node = node.children
        operand = self.walk(operand_node)
        # Errors at the unary node, which starts at the operator (the operator's own tree holds no token).
        if op_node.data == "unary_not":
            if operand.type != BOOL:
                raise self.error(node, f"! needs a true/false value, not {operand.type}.")
            return Typed(BOOL, sql.SQL("(NOT {})").format(operand.sql), f"(!{operand.cel})")
        if operand.type not in NUMERIC:
            raise self.error(node, f"- needs a number, not {operand.type}.")
        value = -operand.const if operand.is_const else None  # type: ignore[operator]
        return Typed(operand.type, sql.SQL("(- {})").format(operand.sql), f"(-{operand.cel})", value, operand.is_const)

    def n_member(self, node: lark.Tree) -> Typed:
        return self.walk(node.children[0])

    def n_primary(self, node: lark.Tree) -> Typed:
        return self.walk(node.children[0])

    def n_paren_expr(self, node: lark.Tree) -> Typed:
        inner = self.walk(node.children[0])
        return Typed(inner.type, inner.sql, f"({inner.cel})", inner.const, inner.is_const)

    def n_list_lit(self, node: lark.Tree) -> Typed:
        raise self.error(node, 'A list is only allowed after in, e.g. household.kind in ["household", "camp"].')

    def n_literal(self, node: lark.Tree) -> Typed:
        token = node.children[0]
        kind = token.type
        if kind == "INT_LIT":
            try:
                value = int(celtypes.IntType(token.value))
            except ValueError:
                raise self.error(token, "This whole number is too large.") from None
            return Typed(INT, _int_sql(value), token.value, value, True)
        if kind == "FLOAT_LIT":
            number = float(celtypes.DoubleType(token.value))
            if not math.isfinite(number):
                raise self.error(token, "This number is too large.")
            return Typed(DOUBLE, _float_sql(number), token.value, number, True)
        if kind in ("STRING_LIT", "MLSTRING_LIT"):
            text = str(celstr(token))
            if "\x00" in text:
                raise self.error(token, "Text cannot contain a NUL character.")
            return Typed(STRING, _text_sql(text), token.value, text, True)
        if kind == "BOOL_LIT":
            value = token.value == "true"
            return Typed(BOOL, sql.SQL("TRUE" if value else "FALSE"), token.value, value, True)
        described = {"UINT_LIT": "Unsigned numbers (1u)", "BYTES_LIT": "Bytes literals", "NULL_LIT": "null"}
        raise self.error(token, f"{described.get(kind, kind)} is not supported in eligibility rules.")

    # -- names --------------------------------------------------------------------------------------------------

    def n_ident(self, node: lark.Tree) -> Typed:
        token = node.children[0]
        name = token.value
        if name in ROOTS:
            raise self.error(token, f"{name} is a group of variables: write {name}.<name>, e.g. {self._example(name)}.")
        if name in FUNCTION_BY_NAME:
            raise self.error(token, f"{name} is a function: write {FUNCTION_BY_NAME[name].signature}.")
        raise self.error(
            token, f"Unknown variable {name!r}; variables start with household., members., exposure. or custom."
        )

    @staticmethod
    def _example(root: str) -> str:
        return {"custom": "custom.<field name>"}.get(
            root, next(name for name in VARIABLE_BY_NAME if name.startswith(root + "."))
        )

    def n_member_dot(self, node: lark.Tree) -> Typed:
        target, field_token = node.children
        root = _single_chain(target, "ident")
        if root is None:
            self.walk(target)  # its own error first (a map, an index …), if it has one
            raise self.error(field_token, f"{field_token.value!r} is not a variable (too many dots?).")
        root_name = root.children[0].value
        if root_name not in ROOTS:
            raise self.error(root, f"Unknown variable {root_name}.{field_token.value}.")
        name = f"{root_name}.{field_token.value}"
        if root_name == "custom":
            return self.custom(field_token, field_token.value, node)
        variable = VARIABLE_BY_NAME.get(name)
        if variable is None:
            known = ", ".join(n for n in VARIABLE_BY_NAME if n.startswith(root_name + "."))
            raise self.error(field_token, f"Unknown variable {name}; the {root_name} variables are: {known}.")
        self.variables.add(name)
        if root_name == "exposure":
            self.require_exposure(node, name)
        if variable.join:
            self.add_join(variable.join)
        return Typed(variable.type, self.variable_sql(name), name)

    def require_exposure(self, node: lark.Tree, name: str) -> None:
        if not self.for_sql or self._exposure_checked:
            return
        run_id = self.context.exposure_run_id
        if run_id is None:
            raise self.error(node, f"Choose an exposure run to use {name}.")
        from response.models import ExposureRun

        # ANY_RUN: checking a rule that will read the analysis chosen when it is applied (a program's rule).
        if run_id != ANY_RUN and not ExposureRun.objects.filter(pk=run_id).exists():
            raise self.error(node, f"Exposure run {run_id} does not exist.")
        self._exposure_checked = True

    def variable_sql(self, name: str) -> sql.Composable:
        fixed = {
            "household.kind": "h.kind",
            "household.has_location": "(h.location IS NOT NULL)",
            "household.location_precision": "h.location_precision",
            "household.source": "h.source",
            "exposure.affected": "(x.household_id IS NOT NULL)",
            "exposure.rank": "COALESCE(x.class_rank, 0)::int8",
            "exposure.class": "COALESCE(xc.key, '')::text",
            "exposure.raster_value": "COALESCE(x.raster_value, 0)::float8",
            "exposure.distance_to_edge_m": "COALESCE(x.distance_m, 0)::float8",
        }
        if name in fixed:
            return sql.SQL(fixed[name])
        if name == "household.days_since_registration":
            return sql.SQL("(({}::date - h.registered_on)::int8)").format(sql.Literal(self.context.today))
        if name == "household.size":
            return self.member_column("count")
        return self.member_column(name.removeprefix("members."))

    def custom(self, token: lark.Token, name: str, node: lark.Tree) -> Typed:
        stored = self.custom_fields().get(name)
        if stored is None:
            raise self.error(token, f"Unknown custom field {name!r} (household custom fields only).")
        cel_type = CUSTOM_TYPES.get(stored)
        if cel_type is None:
            raise self.error(token, f"custom.{name} is a {stored.replace('_', '-')} field, which rules cannot use yet.")
        self.variables.add(f"custom.{name}")
        value = sql.SQL("(h.custom -> {})").format(sql.Literal(name))
        text = sql.SQL("(h.custom ->> {})").format(sql.Literal(name))
        present = self._custom_present(name, cel_type)
        converted = {
            # trunc: a stray 2.5 in an integer field reads 2, as Python's int() reads it.
            INT: sql.SQL("trunc({}::numeric)::int8").format(text),
            DOUBLE: sql.SQL("{}::float8").format(text),
            STRING: text,
            BOOL: sql.SQL("{}::boolean").format(value),
        }[cel_type]
        return Typed(
            cel_type,
            sql.SQL("(CASE WHEN {} THEN {} ELSE {} END)").format(present, converted, ZERO_SQL[cel_type]),
            f"(has(custom.{name}) ? custom.{name} : {ZERO_CEL[cel_type]})",
        )

    @staticmethod
    def _custom_present(name: str, cel_type: str) -> sql.Composable:
        return sql.SQL("COALESCE(jsonb_typeof(h.custom -> {}) = {}, FALSE)").format(
            sql.Literal(name), sql.Literal(JSON_TYPES[cel_type])
        )

    # -- calls --------------------------------------------------------------------------------------------------

    def n_member_dot_arg(self, node: lark.Tree) -> Typed:
        target, method = node.children[0], node.children[1]
        args = node.children[2].children if len(node.children) > 2 else []
        name = method.value
        if name not in STRING_METHODS:
            if name in CEL_BUILTINS:
                raise self.error(method, f"{name}() is not supported in eligibility rules.")
            raise self.error(method, f"Unknown function {name}(); text can use .startsWith, .endsWith and .contains.")
        receiver = self.walk(target)
        if receiver.type != STRING:
            raise self.error(method, f".{name}() works on text, not {receiver.type}.")
        if len(args) != 1:
            raise self.error(method, f".{name}() takes one quoted text.")
        argument = self.walk(args[0])
        if argument.type != STRING or not argument.is_const:
            raise self.error(args[0], f'.{name}() takes one quoted text, e.g. .{name}("BD").')
        if name == "startsWith":
            template = "starts_with({}, {})"
        elif name == "endsWith":
            template = "(right({0}, length({1})) = {1})"
        else:
            template = "(strpos({}, {}) > 0)"
        return Typed(
            BOOL, sql.SQL(template).format(receiver.sql, argument.sql), f"{receiver.cel}.{name}({argument.cel})"
        )

    def n_ident_arg(self, node: lark.Tree) -> Typed:
        token = node.children[0]
        args = list(node.children[1].children) if len(node.children) > 1 else []
        name = token.value
        function = FUNCTION_BY_NAME.get(name)
        if function is None:
            if name in CEL_BUILTINS:
                raise self.error(token, f"{name}() is not supported in eligibility rules.")
            known = ", ".join(FUNCTION_BY_NAME)
            raise self.error(token, f"Unknown function {name}(); the functions are: {known}.")
        if name == "has":
            return self.has(token, args)
        expected = 2 if name == "distance_m" else 1
        if len(args) != expected:
            raise self.error(
                token, f"{name}() takes {expected} argument{'s' if expected > 1 else ''}: {function.signature}."
            )
        typed = [self.walk(arg) for arg in args]
        if name == "distance_m":
            return self.distance(token, args, typed)
        (argument,), (arg_node,) = typed, args
        if argument.type != STRING or not argument.is_const:
            raise self.error(arg_node, f"{name}() takes one quoted text: {function.signature}.")
        self.variables.add(f"{name}()")
        value = str(argument.const)
        return getattr(self, f"f_{name}")(arg_node, value, argument)

    def has(self, token: lark.Token, args: list) -> Typed:
        dot = _single_chain(args[0], "member_dot") if len(args) == 1 else None
        root = _single_chain(dot.children[0], "ident") if dot is not None else None
        if dot is None or root is None or root.children[0].value != "custom":
            raise self.error(token, "has() works on custom fields only, e.g. has(custom.income).")
        name = dot.children[1].value
        self.custom(dot.children[1], name, dot)
        cel_type = CUSTOM_TYPES[self.custom_fields()[name]]
        return Typed(BOOL, self._custom_present(name, cel_type), f"has(custom.{name})")

    def f_in_area(self, node: lark.Tree, code: str, argument: Typed) -> Typed:
        from geo.models import Area

        area_id = Area.objects.filter(code=code).values_list("id", flat=True).first()
        if area_id is None:
            raise self.error(node, f"No area has the code {code!r}.")
        # Through geo_area's lineage (GIN) and the households' (area, id) index: a semi-join PostgreSQL can start
        # from either side.
        return Typed(
            BOOL,
            sql.SQL("EXISTS (SELECT 1 FROM geo_area a WHERE a.id = h.area_id AND a.lineage @> ARRAY[{}::int8])").format(
                sql.Literal(area_id)
            ),
            f"in_area({argument.cel})",
        )

    def f_in_zone(self, node: lark.Tree, key: str, argument: Typed) -> Typed:
        from response.models import HazardZone

        try:
            zone_key = uuid.UUID(key)
        except ValueError:
            raise self.error(node, f"{key!r} is not a zone key (a UUID such as 3f2c…).") from None
        zone_id = HazardZone.objects.filter(zone_key=zone_key, is_current=True).values_list("id", flat=True).first()
        if zone_id is None:
            raise self.error(node, f"No hazard zone has the key {key}.")
        # The zone's households found from its pieces, through the households' spatial index: an EXISTS per
        # household is planned as a probe of the pieces' index for each of a million households (3 s against 0.35 s
        # for a flood holding 15 % of them, bench/programs.py).
        return Typed(
            BOOL,
            sql.SQL(
                "h.id IN (SELECT zh.id FROM response_hazardzonepiece p JOIN registry_household zh"
                " ON ST_Intersects(p.geom, zh.location) WHERE p.zone_id = {})"
            ).format(sql.Literal(zone_id)),
            f"in_zone({argument.cel})",
        )

    def f_within(self, node: lark.Tree, wkt: str, argument: Typed) -> Typed:
        polygon = parse_polygon(wkt, lambda message: self.error(node, message))
        return Typed(
            BOOL,
            sql.SQL("(h.location IS NOT NULL AND ST_Intersects(h.location, ST_GeomFromWKB({}, 4326)))").format(
                sql.Literal(shapely.to_wkb(polygon))
            ),
            f"within({argument.cel})",
        )

    def f_enrolled_in(self, node: lark.Tree, code: str, argument: Typed) -> Typed:
        from programs.models import Program, ProgramMembership

        program_id = Program.objects.filter(code=code).values_list("id", flat=True).first()
        if program_id is None:
            raise self.error(node, f"No program has the code {code!r}.")
        return Typed(
            BOOL,
            sql.SQL(
                "EXISTS (SELECT 1 FROM programs_programmembership pm WHERE pm.household_id = h.id "
                "AND pm.program_id = {} AND pm.state = {})"
            ).format(sql.Literal(program_id), sql.Literal(ProgramMembership.State.ENROLLED.value)),
            f"enrolled_in({argument.cel})",
        )

    def distance(self, token: lark.Token, args: list, typed: list[Typed]) -> Typed:
        for arg, value, (low, high, what) in zip(
            args, typed, [(-180, 180, "longitude"), (-90, 90, "latitude")], strict=True
        ):
            if value.type not in NUMERIC or not value.is_const:
                raise self.error(arg, f"distance_m() takes a {what} written as a number.")
            if not low <= value.const <= high:  # type: ignore[operator]
                raise self.error(arg, f"The {what} must be between {low} and {high}.")
        lon, lat = (float(value.const) for value in typed)  # type: ignore[arg-type]
        self.variables.add("distance_m()")
        return Typed(
            DOUBLE,
            sql.SQL(
                "COALESCE(ST_Distance(h.location::geography, "
                "ST_SetSRID(ST_MakePoint({}, {}), 4326)::geography), 'Infinity'::float8)"
            ).format(_float_sql(lon), _float_sql(lat)),
            f"distance_m({_double(typed[0]).cel}, {_double(typed[1]).cel})",
        )


def parse_polygon(wkt: str, fail: Callable[[str], Exception]) -> shapely.Geometry:
    """A WKT polygon or multipolygon in longitude/latitude, valid, or `fail(message)` raised."""
    try:
        geometry = shapely.from_wkt(wkt)
    except (shapely.errors.GEOSException, shapely.errors.ShapelyError, ValueError) as error:
        raise fail(f"Not a WKT polygon: {str(error).splitlines()[0]}.") from None
    if geometry is None or geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        raise fail("within() needs a POLYGON or MULTIPOLYGON written as WKT.")
    if not geometry.is_valid:
        raise fail(f"The polygon is not valid: {shapely.is_valid_reason(geometry)}.")
    min_x, min_y, max_x, max_y = geometry.bounds
    if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
        raise fail("The polygon must be in longitude/latitude (EPSG:4326).")
    return geometry


def check(text: str, context: RuleContext, *, for_sql: bool) -> CompiledRule:
    compiler = _Compiler(text, context, for_sql=for_sql)
    return compiler.finish(compiler.compile())


def compile_rule(text: str, context: RuleContext) -> CompiledRule:
    """A rule that must be true or false. Blank text is every active household."""
    if not text.strip():
        return CompiledRule(source=text, where=sql.SQL("TRUE"), join_map={}, variables=frozenset())
    compiled = check(text, context, for_sql=True)
    if compiled.type != BOOL:
        raise RuleError(f"A rule must be true or false; this one gives a {compiled.type}.")
    return compiled


def compile_number(text: str, context: RuleContext) -> CompiledRule:
    """An int or double expression (`where` holds it)."""
    if not text.strip():
        raise RuleError("Write a number expression, e.g. members.under_5.")
    compiled = check(text, context, for_sql=True)
    if compiled.type not in NUMERIC:
        raise RuleError(f"This must give a number; it gives a {compiled.type}.")
    return compiled
