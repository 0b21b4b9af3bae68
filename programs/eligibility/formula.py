"""Entitlement formulas: a JSON spec of cash (base, by hazard class, per member, multipliers, cap, fee) and in-kind
lines, validated field by field, compiled to numeric SQL over the rules' `h` + joins, and evaluated in plain
Python (Decimal) as the reference.

The money rule (programs.money): everything exact (numeric in SQL, Decimal here), rounded once at the end, half
away from zero, to the currency's minor unit; the fee is computed on that final amount and rounded the same way.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from psycopg import sql

from programs.eligibility.activation import evaluate
from programs.eligibility.compiler import (
    CompiledRule,
    Join,
    RuleContext,
    RuleError,
    check,
    compile_number,
    compile_rule,
    merge_join_maps,
    render_joins,
)
from programs.eligibility.variables import INT
from programs.money import minor_units, parse_amount

QUANTITY_DECIMALS = 3  # EntitlementItem.quantity is numeric(12, 3)
MAX_QUANTITY = Decimal("1000000")
MAX_FACTOR = Decimal("100")
MAX_LIST = 50
KEY = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
# Far more digits than any amount times any chain of factors needs: Decimal arithmetic stays exact, as numeric is.
EXACT = decimal.Context(prec=200, rounding=decimal.ROUND_HALF_UP)


class FormulaError(ValueError):
    """A formula field that is wrong, named by its JSON path (cash.by_class.high)."""

    def __init__(self, path: str, message: str, *, line: int | None = None, column: int | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.line = line
        self.column = column

    def as_dict(self) -> dict:
        result: dict[str, Any] = {"path": self.path, "message": self.message}
        if self.line is not None:
            result.update(line=self.line, column=self.column)
        return result


# ---------------------------------------------------------------------------------------------------------------
# The validated spec.


@dataclass(frozen=True)
class PerMember:
    path: str
    count: str
    amount: Decimal
    max_count: int | None


@dataclass(frozen=True)
class Multiplier:
    path: str
    when: str
    factor: Decimal


@dataclass(frozen=True)
class Cash:
    base: Decimal
    by_class: dict[str, Decimal]
    per_member: list[PerMember]
    multipliers: list[Multiplier]
    cap: Decimal | None
    fee_percent: Decimal
    fee_fixed: Decimal


@dataclass(frozen=True)
class Item:
    path: str
    item: str
    unit: str
    per_household: Decimal
    per_member: Decimal
    by_class: dict[str, Decimal]
    when: str


@dataclass(frozen=True)
class Spec:
    cash: Cash | None
    in_kind: list[Item]

    @property
    def needs_exposure(self) -> str | None:
        """The path of the first field that reads the hazard class, if any."""
        if self.cash and self.cash.by_class:
            return "cash.by_class"
        return next((f"{item.path}.by_class" for item in self.in_kind if item.by_class), None)


def _object(value: Any, path: str, allowed: set[str]) -> dict:
    if not isinstance(value, dict):
        raise FormulaError(path or "formula", "must be an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise FormulaError(
            f"{path}.{unknown[0]}" if path else unknown[0],
            f"unknown field; the fields are: {', '.join(sorted(allowed))}",
        )
    return value


def _list(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise FormulaError(path, "must be a list")
    if len(value) > MAX_LIST:
        raise FormulaError(path, f"at most {MAX_LIST} entries")
    return value


def _amount(value: Any, path: str, currency: str, *, allow_zero: bool = True) -> Decimal:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise FormulaError(path, 'must be a decimal string such as "5000.00"')
    try:
        return parse_amount(value, field=path, currency=currency, allow_zero=allow_zero)
    except ValueError as error:
        raise FormulaError(path, str(error).removeprefix(f"{path}: ")) from None


def _decimal(value: Any, path: str, *, maximum: Decimal, decimals: int | None) -> Decimal:
    """A non-negative decimal written as a string (or a whole number), at most `maximum`."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise FormulaError(path, 'must be a decimal string such as "1.5"')
    try:
        number = Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise FormulaError(path, f"{value!r} is not a decimal number") from None
    if not number.is_finite() or number < 0:
        raise FormulaError(path, "must be zero or more")
    if number > maximum:
        raise FormulaError(path, f"must be at most {maximum}")
    if decimals is not None and number != number.quantize(Decimal(1).scaleb(-decimals), context=EXACT):
        raise FormulaError(path, f"at most {decimals} decimals")
    return number


def _text(value: Any, path: str, *, pattern: re.Pattern | None = None, max_length: int = 64) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FormulaError(path, "must be a non-empty text")
    if len(value) > max_length:
        raise FormulaError(path, f"at most {max_length} characters")
    if pattern is not None and not pattern.match(value):
        raise FormulaError(path, "letters, digits, - and _ only")
    return value


def _rule_text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise FormulaError(path, "must be a rule (text)")
    return value


def _by_class(value: Any, path: str, parse) -> dict[str, Decimal]:
    if not isinstance(value, dict):
        raise FormulaError(path, 'must be an object such as {"high": "8000"}')
    if len(value) > MAX_LIST:
        raise FormulaError(path, f"at most {MAX_LIST} classes")
    result = {}
    for key, amount in value.items():
        if not KEY.match(key):
            raise FormulaError(f"{path}.{key}", "is not a hazard class key")
        result[key] = parse(amount, f"{path}.{key}")
    return result


def parse_spec(spec: Any, *, currency: str) -> Spec:
    """The spec validated, or FormulaError naming the first wrong field."""
    spec = _object(spec, "", {"cash", "in_kind"})
    if "cash" not in spec and "in_kind" not in spec:
        raise FormulaError("formula", "give cash, in_kind or both")
    cash = None
    if "cash" in spec:
        raw = _object(spec["cash"], "cash", {"base", "by_class", "per_member", "multipliers", "cap", "fee"})
        per_member = []
        for index, entry in enumerate(_list(raw.get("per_member", []), "cash.per_member")):
            path = f"cash.per_member[{index}]"
            entry = _object(entry, path, {"count", "amount", "max_count"})
            if "count" not in entry or "amount" not in entry:
                raise FormulaError(path, "needs count and amount")
            max_count = entry.get("max_count")
            if max_count is not None and (
                not isinstance(max_count, int) or isinstance(max_count, bool) or max_count < 0
            ):
                raise FormulaError(f"{path}.max_count", "must be a whole number, zero or more")
            per_member.append(
                PerMember(
                    path,
                    _text(entry["count"], f"{path}.count", max_length=2000),
                    _amount(entry["amount"], f"{path}.amount", currency),
                    max_count,
                )
            )
        multipliers = []
        for index, entry in enumerate(_list(raw.get("multipliers", []), "cash.multipliers")):
            path = f"cash.multipliers[{index}]"
            entry = _object(entry, path, {"when", "factor"})
            if "when" not in entry or "factor" not in entry:
                raise FormulaError(path, "needs when and factor")
            multipliers.append(
                Multiplier(
                    path,
                    _rule_text(entry["when"], f"{path}.when"),
                    _decimal(entry["factor"], f"{path}.factor", maximum=MAX_FACTOR, decimals=6),
                )
            )
        fee = _object(raw.get("fee", {}), "cash.fee", {"percent", "fixed"})
        cash = Cash(
            base=_amount(raw.get("base", "0"), "cash.base", currency),
            by_class=_by_class(raw.get("by_class", {}), "cash.by_class", lambda v, p: _amount(v, p, currency)),
            per_member=per_member,
            multipliers=multipliers,
            cap=_amount(raw["cap"], "cash.cap", currency, allow_zero=False) if raw.get("cap") is not None else None,
            fee_percent=_decimal(fee.get("percent", "0"), "cash.fee.percent", maximum=Decimal(100), decimals=4),
            fee_fixed=_amount(fee.get("fixed", "0"), "cash.fee.fixed", currency),
        )
    items: list[Item] = []
    seen: set[str] = set()
    for index, entry in enumerate(_list(spec.get("in_kind", []), "in_kind")):
        path = f"in_kind[{index}]"
        entry = _object(entry, path, {"item", "unit", "per_household", "per_member", "by_class", "when"})
        item = _text(entry.get("item"), f"{path}.item", pattern=KEY)
        if item in seen:
            raise FormulaError(f"{path}.item", f"{item!r} is listed twice")
        seen.add(item)

        def quantity(value: Any, where: str) -> Decimal:
            return _decimal(value, where, maximum=MAX_QUANTITY, decimals=QUANTITY_DECIMALS)

        items.append(
            Item(
                path,
                item,
                _text(entry.get("unit"), f"{path}.unit", max_length=16),
                quantity(entry.get("per_household", "0"), f"{path}.per_household"),
                quantity(entry.get("per_member", "0"), f"{path}.per_member"),
                _by_class(entry.get("by_class", {}), f"{path}.by_class", quantity),
                _rule_text(entry.get("when", ""), f"{path}.when"),
            )
        )
    return Spec(cash, items)


# ---------------------------------------------------------------------------------------------------------------
# SQL.


@dataclass(frozen=True)
class CompiledItem:
    item: str
    unit: str
    quantity: sql.Composable  # numeric; 0 means no line for the household


@dataclass(frozen=True)
class CompiledFormula:
    amount: sql.Composable | None
    fee: sql.Composable | None
    items: list[CompiledItem]
    join_map: Mapping[str, Join]
    variables: frozenset[str]
    spec: Spec = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def joins(self) -> sql.Composable:
        return render_joins(self.join_map)


def _numeric(value: Decimal) -> sql.Composable:
    # Fixed-point text ("0.000", never "0E-3"): exactly the Decimal, whatever its exponent.
    return sql.SQL("({}::numeric)").format(sql.Literal(format(value, "f")))


def _from_rule(path: str, error: RuleError) -> FormulaError:
    return FormulaError(path, error.message, line=error.line, column=error.column)


class _Parts:
    """The compiled rules and numbers of one formula, with their joins collected."""

    def __init__(self, context: RuleContext) -> None:
        self.context = context
        self.compiled: list[CompiledRule] = []

    def keep(self, compiled: CompiledRule) -> sql.Composable:
        self.compiled.append(compiled)
        return compiled.where

    def rule(self, text: str, path: str) -> sql.Composable:
        try:
            return self.keep(compile_rule(text, self.context))
        except RuleError as error:
            raise _from_rule(path, error) from None

    def count(self, text: str, path: str) -> sql.Composable:
        try:
            compiled = compile_number(text, self.context)
        except RuleError as error:
            raise _from_rule(path, error) from None
        if compiled.type != INT:
            # A double count would go through float8 → numeric, which PostgreSQL rounds to 15 digits.
            raise FormulaError(path, "must give a whole number (int), e.g. members.under_5")
        return self.keep(compiled)

    def hazard_class(self) -> sql.Composable:
        return self.keep(check("exposure.class", self.context, for_sql=True))


def _by_class_sql(parts: _Parts, by_class: dict[str, Decimal], default: sql.Composable) -> sql.Composable:
    if not by_class:
        return default
    whens = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(key), _numeric(value)) for key, value in by_class.items()
    )
    return sql.SQL("(CASE {} {} ELSE {} END)").format(parts.hazard_class(), whens, default)


def compile_formula(spec: Any, context: RuleContext, *, currency: str) -> CompiledFormula:
    parsed = parse_spec(spec, currency=currency)
    needs = parsed.needs_exposure
    if needs and context.exposure_run_id is None:
        raise FormulaError(needs, "amounts by hazard class need an exposure run: choose one")
    parts = _Parts(context)
    amount = fee = None
    if parsed.cash is not None:
        cash = parsed.cash
        digits = sql.Literal(minor_units(currency))
        total = _by_class_sql(parts, cash.by_class, _numeric(cash.base))
        for entry in cash.per_member:
            count = sql.SQL("GREATEST({}, 0)").format(parts.count(entry.count, f"{entry.path}.count"))
            if entry.max_count is not None:
                count = sql.SQL("LEAST({}, {})").format(count, sql.Literal(entry.max_count))
            total = sql.SQL("({} + {} * ({})::numeric)").format(total, _numeric(entry.amount), count)
        for multiplier in cash.multipliers:
            when = parts.rule(multiplier.when, f"{multiplier.path}.when")
            total = sql.SQL("({} * (CASE WHEN {} THEN {} ELSE 1 END))").format(total, when, _numeric(multiplier.factor))
        if cash.cap is not None:
            total = sql.SQL("LEAST({}, {})").format(total, _numeric(cash.cap))
        amount = sql.SQL("round({}, {})").format(total, digits)
        if cash.fee_percent or cash.fee_fixed:
            # percent / 100 written out exactly, so no numeric division (whose scale PostgreSQL chooses) is involved.
            fee = sql.SQL(
                "(CASE WHEN {amount} = 0 THEN 0::numeric ELSE round({amount} * {rate} + {fixed}, {digits}) END)"
            ).format(
                amount=amount, rate=_numeric(cash.fee_percent.scaleb(-2)), fixed=_numeric(cash.fee_fixed), digits=digits
            )
        else:
            fee = sql.SQL("(0::numeric)")
    items = []
    for item in parsed.in_kind:
        quantity = _by_class_sql(parts, item.by_class, _numeric(item.per_household))
        if item.per_member:
            members = parts.count("members.count", f"{item.path}.per_member")
            quantity = sql.SQL("({} + {} * ({})::numeric)").format(quantity, _numeric(item.per_member), members)
        if item.when.strip():
            when = parts.rule(item.when, f"{item.path}.when")
            quantity = sql.SQL("(CASE WHEN {} THEN {} ELSE 0::numeric END)").format(when, quantity)
        items.append(
            CompiledItem(
                item.item, item.unit, sql.SQL("round({}, {})").format(quantity, sql.Literal(QUANTITY_DECIMALS))
            )
        )
    return CompiledFormula(
        amount=amount,
        fee=fee,
        items=items,
        join_map=merge_join_maps(c.join_map for c in parts.compiled),
        variables=frozenset().union(*(c.variables for c in parts.compiled)),
        spec=parsed,
    )


# ---------------------------------------------------------------------------------------------------------------
# The Python reference.


@dataclass(frozen=True)
class ItemResult:
    item: str
    unit: str
    quantity: Decimal  # 0: no line for this household


@dataclass(frozen=True)
class FormulaResult:
    amount: Decimal | None
    fee: Decimal | None
    items: list[ItemResult]


def _round(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=decimal.ROUND_HALF_UP, context=EXACT)


def evaluate_formula(spec: Any, activation: dict, *, currency: str, cache: dict | None = None) -> FormulaResult:
    """The formula for one household's activation (activation_for_households), in Decimal."""
    parsed = parse_spec(spec, currency=currency)
    cache = {} if cache is None else cache
    needs = parsed.needs_exposure
    if needs and "exposure" not in activation:
        raise FormulaError(needs, "amounts by hazard class need an exposure run: choose one")
    hazard_class = activation.get("exposure", {}).get("class", "")

    def value(text: str, path: str) -> Any:
        try:
            result = evaluate(text, activation, cache=cache)
        except RuleError as error:
            raise _from_rule(path, error) from None
        if path.endswith(".when") and not isinstance(result, bool):
            raise FormulaError(path, f"A rule must be true or false; this one gives {result!r}.")
        return result

    amount = fee = None
    with decimal.localcontext(EXACT):
        if parsed.cash is not None:
            cash = parsed.cash
            digits = minor_units(currency)
            total = cash.by_class.get(hazard_class, cash.base)
            for entry in cash.per_member:
                count = value(entry.count, f"{entry.path}.count")
                if not isinstance(count, int) or isinstance(count, bool):
                    raise FormulaError(f"{entry.path}.count", "must give a whole number (int), e.g. members.under_5")
                count = max(count, 0)
                if entry.max_count is not None:
                    count = min(count, entry.max_count)
                total += entry.amount * count
            for multiplier in cash.multipliers:
                if value(multiplier.when, f"{multiplier.path}.when") is True:
                    total *= multiplier.factor
            if cash.cap is not None:
                total = min(total, cash.cap)
            amount = _round(total, digits)
            fee = Decimal(0)
            if (cash.fee_percent or cash.fee_fixed) and amount != 0:
                fee = _round(amount * cash.fee_percent.scaleb(-2) + cash.fee_fixed, digits)
        items = []
        for item in parsed.in_kind:
            quantity = Decimal(0)
            if not item.when.strip() or value(item.when, f"{item.path}.when") is True:
                quantity = item.by_class.get(hazard_class, item.per_household)
                if item.per_member:
                    quantity += item.per_member * activation["members"]["count"]
            items.append(ItemResult(item.item, item.unit, _round(quantity, QUANTITY_DECIMALS)))
    return FormulaResult(amount, fee, items)
