"""Who a cycle reaches and what each receives, as one SQL statement: the rule and formula compilers' expressions over
`registry_household h`, the membership condition of the cycle's population, the program's areas, the once-per-
incident exclusion and the cross-program duplicate flag.

Previews, entitlement generation and the approval's re-check all read this same statement, so the numbers an
approver signs are the numbers generation wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import DataError, transaction
from psycopg import sql

from geo.models import Area
from geo.selectors import scope_area_ids, user_area_ids
from programs.eligibility import (
    CompiledRule,
    FormulaError,
    RuleContext,
    RuleError,
    compile_formula,
    compile_number,
    compile_rule,
    merge_joins,
)
from programs.models import Cycle, Program
from response.models import ExposureRun
from spmis.api.exceptions import positioned_error

OVERFLOW = (
    "A number in the rule or formula grows out of range for some household (a product of large numbers, say);"
    " rewrite it with smaller numbers."
)


@contextmanager
def arithmetic_checked(field: str = "rule") -> Iterator[None]:
    """Run a compiled rule's SQL, answering a numeric overflow (PostgreSQL's 22003) as a 400 on `field`."""
    try:
        with transaction.atomic():
            yield
    except DataError as error:
        if getattr(getattr(error, "__cause__", None), "sqlstate", "") in ("22003", "22012"):
            raise ValidationError({field: OVERFLOW}) from error
        raise


def latest_run_id(incident_id: int | None) -> int | None:
    """The incident's latest finished analysis, which rules without a chosen run read."""
    if incident_id is None:
        return None
    return (
        ExposureRun.objects.filter(incident_id=incident_id, status=ExposureRun.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .values_list("id", flat=True)
        .first()
    )


def area_ids_within(codes_or_ids) -> list[int]:
    """Ids of the given areas and every area below them."""
    ids = list(codes_or_ids)
    if not ids:
        return []
    return list(Area.objects.filter(lineage__overlap=ids).values_list("id", flat=True))


def household_scope_sql(user, program: Program | None = None) -> sql.Composable:
    """Households (alias `h`) inside the program's areas, when it has any, and the user's, when bound to some. No
    user is the system itself (the demo loader, an anticipatory trigger), which acts nationally."""
    parts: list[sql.Composable] = []
    if program is not None:
        program_areas = area_ids_within(program.areas.values_list("id", flat=True))
        if program_areas:
            parts.append(sql.SQL("h.area_id = ANY({})").format(sql.Literal(program_areas)))
    ids = None if user is None else user_area_ids(user)
    if ids is not None:
        parts.append(sql.SQL("h.area_id = ANY({})").format(sql.Literal(scope_area_ids(user, ids) or [0])))
    return sql.SQL(" AND ").join(parts) if parts else sql.SQL("true")


def rule_or_error(text: str, context: RuleContext, *, field: str = "rule") -> CompiledRule:
    """Compile a rule, turning a RuleError into the ValidationError the API answers with (position included)."""
    try:
        return compile_rule(text, context)
    except RuleError as error:
        raise ValidationError(
            {field: [positioned_error(error.message, line=error.line, column=error.column)]}
        ) from error


def formula_or_error(spec: dict, context: RuleContext, *, currency: str, field: str = "formula"):
    """Compile a formula; errors name the JSON path inside it (and the position inside a rule it holds)."""
    try:
        return compile_formula(spec, context, currency=currency)
    except RuleError as error:
        raise ValidationError(
            {field: [positioned_error(error.message, line=error.line, column=error.column)]}
        ) from error
    except FormulaError as error:
        if error.line is not None:
            detail = positioned_error(str(error), line=error.line, column=error.column)
            raise ValidationError({field: [detail]}) from error
        raise ValidationError({field: [str(error)]}) from error


def cycle_context(cycle: Cycle) -> RuleContext:
    run_id = cycle.exposure_run_id or latest_run_id(cycle.incident_id)
    return RuleContext(exposure_run_id=run_id, today=cycle.starts_on, program_id=cycle.program_id)


@dataclass(frozen=True)
class CyclePopulation:
    """SELECT household_id, hazard_rank, people, amount, fee, q_0 … q_n, flagged FROM … for one cycle."""

    query: sql.Composed
    items: list  # CompiledItem per in-kind line, in q_<i> order
    has_cash: bool


def _duplicates(program: Program, incident_id: int) -> sql.Composable:
    """Households another program entitles or enrols for the same incident, each once.

    Read once per statement (a MATERIALIZED CTE, hash-joined) rather than probed per household: a correlated EXISTS
    on programs_entitlement scans every entitlement the statement is itself inserting for each household (quadratic,
    bench/programs.py). The other programs are named as constants, each read through its own index range: with a
    parameter the planner expects a program to hold an average share of all memberships and scans them all, for
    every chunk of a cycle, to find that no other program answers the incident."""
    entitling = sorted(
        set(
            Cycle.objects.filter(incident_id=incident_id)
            .exclude(program_id=program.pk)
            .values_list("program_id", flat=True)
        )
    )
    enrolling = sorted(
        set(
            Program.incidents.through.objects.filter(incident_id=incident_id)
            .exclude(program_id=program.pk)
            .values_list("program_id", flat=True)
        )
    )
    parts = [sql.SQL("SELECT NULL::bigint AS household_id WHERE false")]
    if entitling:
        parts.append(
            sql.SQL(
                "SELECT o.household_id FROM programs_entitlement o WHERE o.program_id = ANY({programs})"
                " AND o.incident_id = {incident} AND o.status <> 'cancelled'"
            ).format(programs=sql.Literal(entitling), incident=sql.Literal(incident_id))
        )
    if enrolling:
        parts.append(
            sql.SQL(
                "SELECT om.household_id FROM programs_programmembership om WHERE om.program_id = ANY({programs})"
                " AND om.state = 'enrolled'"
            ).format(programs=sql.Literal(enrolling))
        )
    return sql.SQL(" UNION ").join(parts)


def cycle_population(cycle: Cycle, *, program: Program | None = None) -> CyclePopulation:
    """The statement for a cycle as its rule, formula and program stand now."""
    program = program or cycle.program
    context = cycle_context(cycle)
    cycle_rule = rule_or_error(cycle.rule, context)
    newcomers_rule = None
    if cycle.population != Cycle.Population.ENROLLED and program.eligibility_rule.strip():
        newcomers_rule = rule_or_error(program.eligibility_rule, context, field="eligibility_rule")
    formula = formula_or_error(cycle.formula, context, currency=program.currency)
    people = compile_number("members.count", context)
    compiled = [cycle_rule, formula, people] + ([newcomers_rule] if newcomers_rule else [])
    rank_sql: sql.Composable = sql.SQL("NULL::smallint")
    if context.exposure_run_id is not None:
        rank = compile_number("exposure.rank", context)
        compiled.append(rank)
        rank_sql = sql.SQL("nullif({}, 0)").format(rank.where)

    program_id = sql.Literal(program.pk)
    enrolled = sql.SQL(
        "EXISTS (SELECT 1 FROM programs_programmembership pm WHERE pm.program_id = {} AND pm.household_id = h.id"
        " AND pm.state = 'enrolled')"
    ).format(program_id)
    # Newcomers: not a member in any live state (paused and duplicate members are not re-enrolled by a cycle).
    newcomer = sql.SQL(
        "NOT EXISTS (SELECT 1 FROM programs_programmembership pm WHERE pm.program_id = {} AND pm.household_id = h.id"
        " AND pm.state IN ('enrolled', 'paused', 'duplicate'))"
    ).format(program_id)
    if newcomers_rule is not None:
        newcomer = sql.SQL("({} AND ({}))").format(newcomer, newcomers_rule.where)
    membership = {
        Cycle.Population.ENROLLED: enrolled,
        Cycle.Population.NEW: newcomer,
        Cycle.Population.BOTH: sql.SQL("({} OR {})").format(enrolled, newcomer),
    }[cycle.population]
    conditions: list[sql.Composable] = [sql.SQL("h.status = 'active'"), cycle_rule.where, membership]

    conditions.append(household_scope_sql(None, program))
    incident_id = cycle.incident_id
    if incident_id is not None:
        # Nobody is entitled twice by one program for the same incident: a supplementary cycle reaches the newly
        # affected only. (The unique index programs_entitlement_once_per_incident makes it impossible anyway.)
        conditions.append(
            sql.SQL(
                "NOT EXISTS (SELECT 1 FROM programs_entitlement pe WHERE pe.program_id = {program}"
                " AND pe.incident_id = {incident} AND pe.household_id = h.id AND pe.cycle_id <> {cycle}"
                " AND pe.status <> 'cancelled')"
            ).format(program=program_id, incident=sql.Literal(incident_id), cycle=sql.Literal(cycle.pk or 0))
        )
    with_duplicates, duplicate_join = sql.SQL(""), sql.SQL("")
    duplicate: sql.Composable = sql.SQL("false")
    if incident_id is not None:
        with_duplicates = sql.SQL("WITH dup AS MATERIALIZED ({}) ").format(_duplicates(program, incident_id))
        duplicate_join = sql.SQL(" LEFT JOIN dup ON dup.household_id = h.id")
        duplicate = sql.SQL("(dup.household_id IS NOT NULL)")
    if program.duplicate_policy == Program.DuplicatePolicy.REFUSE:
        conditions.append(sql.SQL("NOT {}").format(duplicate))
        flagged: sql.Composable = sql.SQL("false")
    else:
        flagged = duplicate

    amount = formula.amount if formula.amount is not None else sql.SQL("NULL::numeric")
    fee = formula.fee if formula.fee is not None else sql.SQL("0::numeric")
    columns = [
        sql.SQL("h.id AS household_id"),
        sql.SQL("{} AS hazard_rank").format(rank_sql),
        sql.SQL("least({}, 32767)::smallint AS people").format(people.where),
        sql.SQL("({})::numeric(14, 3) AS amount").format(amount),
        sql.SQL("({})::numeric(14, 3) AS fee").format(fee),
        *[
            sql.SQL("greatest({}, 0)::numeric(12, 3) AS {}").format(item.quantity, sql.Identifier(f"q_{i}"))
            for i, item in enumerate(formula.items)
        ],
        sql.SQL("{} AS flagged").format(flagged),
    ]
    query = sql.SQL(
        "{with_duplicates}SELECT {columns} FROM registry_household h {joins}{duplicate_join} WHERE {where}"
    ).format(
        with_duplicates=with_duplicates,
        columns=sql.SQL(", ").join(columns),
        joins=merge_joins(*compiled),
        duplicate_join=duplicate_join,
        where=sql.SQL(" AND ").join(sql.SQL("({})").format(c) for c in conditions),
    )
    return CyclePopulation(query=query, items=list(formula.items), has_cash=formula.amount is not None)


def any_item_sql(population: CyclePopulation, alias: str = "p") -> sql.Composable:
    """True when the row gets at least one in-kind line."""
    return sql.SQL(" OR ").join(
        sql.SQL("{}.{} > 0").format(sql.Identifier(alias), sql.Identifier(f"q_{i}"))
        for i in range(len(population.items))
    )


def items_values_sql(population: CyclePopulation, alias: str = "p") -> sql.Composable:
    """VALUES (item, quantity, unit), one per in-kind line of the row, for a LATERAL join."""
    return sql.SQL("(VALUES {}) AS v(item, quantity, unit)").format(
        sql.SQL(", ").join(
            sql.SQL("({}, {}.{}, {})").format(
                sql.Literal(item.item), sql.Identifier(alias), sql.Identifier(f"q_{i}"), sql.Literal(item.unit)
            )
            for i, item in enumerate(population.items)
        )
    )


def digest_rows_sql(population: CyclePopulation) -> sql.Composed:
    """One row per entitlement the population would make (household, kind, amount text, items text, people), in
    the shape of stored_digest_rows_sql, so that the two digests compare."""
    parts: list[sql.Composable] = []
    if population.has_cash:
        parts.append(
            sql.SQL(
                "SELECT household_id, 'cash' AS kind, amount::text AS amount, '' AS items, people"
                " FROM p WHERE amount > 0"
            )
        )
    if population.items:
        parts.append(
            sql.SQL(
                "SELECT household_id, 'in_kind' AS kind, '' AS amount, (SELECT string_agg(v.item || '=' ||"
                " v.quantity::text, ',' ORDER BY v.item) FROM {values} WHERE v.quantity > 0) AS items, people"
                " FROM p WHERE {any}"
            ).format(values=items_values_sql(population), any=any_item_sql(population))
        )
    if not parts:
        parts.append(
            sql.SQL(
                "SELECT NULL::bigint AS household_id, '' AS kind, '' AS amount, '' AS items, 0 AS people WHERE false"
            )
        )
    return sql.SQL("WITH p AS ({population}) {rows}").format(
        population=population.query, rows=sql.SQL(" UNION ALL ").join(parts)
    )


def stored_digest_rows_sql(cycle_id: int, *, where: sql.Composable | None = None) -> sql.Composed:
    """The digest rows of a cycle's stored entitlements (all but the cancelled, or those `where` also selects)."""
    return sql.SQL(
        "SELECT e.household_id, e.kind, coalesce(e.amount::text, '') AS amount,"
        " coalesce((SELECT string_agg(i.item || '=' || i.quantity::text, ',' ORDER BY i.item)"
        " FROM programs_entitlementitem i WHERE i.entitlement_id = e.id), '') AS items, e.people, e.flagged"
        " FROM programs_entitlement e WHERE e.cycle_id = {} AND e.status <> 'cancelled' AND {}"
    ).format(sql.Literal(cycle_id), where if where is not None else sql.SQL("true"))


# Over digest rows (household_id, kind, amount text, items text, people): count, people, amount sum, and the sum of
# 64-bit row hashes, order-independent, so that it costs one pass and no sort even over a million rows, and so that
# the sums of parts (chunks of a generation) add up to the digest of the whole.
DIGEST_AGGREGATES = sql.SQL(
    "count(*), coalesce(sum(people), 0), coalesce(sum(nullif(amount, '')::numeric), 0),"
    " coalesce(sum(hashtextextended(household_id::text || ':' || kind || ':' || amount || ':' ||"
    " coalesce(items, ''), 0)::numeric), 0)"
)


@dataclass
class DigestSum:
    """Digest figures added up over parts (DIGEST_AGGREGATES rows)."""

    count: int = 0
    people: int = 0
    amount: Decimal = Decimal(0)
    hashes: Decimal = Decimal(0)

    def add(self, count: int, people: int, amount: Decimal, hashes: Decimal) -> None:
        self.count += count
        self.people += int(people)
        self.amount += amount
        self.hashes += hashes

    def figures(self) -> tuple[int, int, str, str]:
        """(count, people, amount sum, digest)."""
        return self.count, self.people, str(self.amount), f"{self.count}:{self.amount}:{self.hashes}"


def stored_digest_part(cursor, cycle_id: int, *, where: sql.Composable) -> tuple[list, int]:
    """DIGEST_AGGREGATES over the cycle's stored (non-cancelled) rows that `where` selects, and how many are
    flagged."""
    cursor.execute(
        sql.SQL("SELECT {}, count(*) FILTER (WHERE flagged) FROM ({}) d")
        .format(DIGEST_AGGREGATES, stored_digest_rows_sql(cycle_id, where=where))
        .as_string(cursor.connection)
    )
    *figures, flagged = cursor.fetchone()
    return figures, flagged


def digest_of(cursor, rows_sql: sql.Composable) -> tuple[int, int, str, str]:
    """(count, people, amount sum, digest) of digest rows, in one pass."""
    cursor.execute(sql.SQL("SELECT {} FROM ({}) d").format(DIGEST_AGGREGATES, rows_sql))
    total = DigestSum()
    total.add(*cursor.fetchone())
    return total.figures()
