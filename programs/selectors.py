"""Reads for programs: the one place scoping is applied. Officers bound to areas see the programs inside them and
the memberships and entitlements of households inside them; previews and simulations count only those households."""

from __future__ import annotations

import time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q, QuerySet
from psycopg import sql

from geo.selectors import scope_queryset, user_area_ids
from programs.eligibility import RuleContext, RuleError, compile_number, merge_joins
from programs.models import (
    Cycle,
    EnrolmentRun,
    Entitlement,
    EntitlementRun,
    Notice,
    Program,
    ProgramMembership,
    Simulation,
    Trigger,
)
from programs.population import arithmetic_checked, formula_or_error, household_scope_sql, rule_or_error
from programs.services.programs import program_in_scope
from response.models import ExposureRun
from spmis.country import country

SAMPLE_SIZE = 10


def programs_in_scope(user) -> QuerySet[Program]:
    """Programs with at least one area inside the user's (national programs are not theirs to run); every program
    for national users. No counts: this is what the other lists filter by."""
    ids = user_area_ids(user)
    if ids is None:
        return Program.objects.all()
    return Program.objects.filter(id__in=Program.objects.filter(areas__lineage__overlap=ids or [0]).values("id"))


def program_list(*, user, status: str | None = None, kind: str | None = None) -> QuerySet[Program]:
    queryset = (
        programs_in_scope(user)
        .prefetch_related("areas", "incidents")
        .annotate(
            enrolled=Count("memberships", filter=Q(memberships__state="enrolled")),
            paused=Count("memberships", filter=Q(memberships__state="paused")),
            exited=Count("memberships", filter=Q(memberships__state="exited")),
        )
    )
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.order_by("-created_at", "-id")


def program_visible(user, program: Program) -> bool:
    return program_in_scope(user, program)


def membership_list(*, user, program: Program, state: str | None = None) -> QuerySet[ProgramMembership]:
    queryset = ProgramMembership.objects.filter(program=program).select_related("household")
    if state:
        queryset = queryset.filter(state=state)
    return scope_queryset(queryset, user, area_field="household__area").order_by("household_id")


def enrolment_run_list(*, user) -> QuerySet[EnrolmentRun]:
    return EnrolmentRun.objects.filter(program__in=programs_in_scope(user).values("id"))


def cycle_list(*, user, program_id: int | None = None, state: str | None = None) -> QuerySet[Cycle]:
    queryset = Cycle.objects.select_related("program", "submitted_by", "approved_by").filter(
        program__in=programs_in_scope(user).values("id")
    )
    if program_id is not None:
        queryset = queryset.filter(program_id=program_id)
    if state:
        queryset = queryset.filter(state=state)
    return queryset


def entitlement_run_list(*, user) -> QuerySet[EntitlementRun]:
    return EntitlementRun.objects.filter(cycle__in=cycle_list(user=user).values("id"))


def entitlement_list(*, user, cycle: Cycle, status: str | None = None) -> QuerySet[Entitlement]:
    queryset = (
        Entitlement.objects.filter(cycle=cycle).select_related("household").prefetch_related("items").order_by("id")
    )
    if status:
        queryset = queryset.filter(status=status)
    return scope_queryset(queryset, user, area_field="household__area")


def notice_list(*, user) -> QuerySet[Notice]:
    return Notice.objects.filter(user=user)


def simulation_list(*, user) -> QuerySet[Simulation]:
    return Simulation.objects.prefetch_related("scenarios").all()


def trigger_list(*, user) -> QuerySet[Trigger]:
    return Trigger.objects.filter(program__in=programs_in_scope(user).values("id"))


# Previews ----------------------------------------------------------------------------------------------------------


def rule_preview(*, user, rule: str, exposure_run: ExposureRun | None = None, program: Program | None = None) -> dict:
    """Households and people the rule selects, by area (at the country's chart level) and by hazard class, a
    sample, and per-area points for a map; among the households the user may see."""
    started = time.perf_counter()
    context = RuleContext(
        exposure_run_id=exposure_run.pk if exposure_run else None, program_id=program.pk if program else None
    )
    compiled = rule_or_error(rule, context)
    people = compile_number("members.count", context)
    level = country().chart_level
    extra = [people]
    class_column = sql.SQL("NULL::bigint")
    if exposure_run is not None:
        # The run's exposure join (alias x), shared with the rule's when it reads exposure: the class comes from it.
        extra.append(compile_number("exposure.rank", context))
        class_column = sql.SQL("x.hazard_class_id")
    # One pass selects the households, reads what the groups need (people from registry's per-household member
    # summary, a plain join, not an aggregate per household) and counts them per area and class; that grouping runs
    # in parallel workers (grouping sets cannot), and the totals, areas and classes are summed from its few rows.
    statement = sql.SQL(
        "WITH g AS (SELECT coalesce(preview_area.lineage[{level}], preview_area.id) AS area_id,"
        " {class_column} AS class_id, count(*) AS households, sum({people}) AS people"
        " FROM registry_household h {joins} LEFT JOIN geo_area preview_area ON preview_area.id = h.area_id"
        " WHERE h.status = 'active' AND ({where}) AND {scope} GROUP BY 1, 2)"
        " SELECT GROUPING(area_id), GROUPING(class_id), area_id, class_id, coalesce(sum(households), 0)::int8,"
        " coalesce(sum(people), 0)::int8 FROM g GROUP BY GROUPING SETS ((), (area_id), (class_id))"
    ).format(
        joins=merge_joins(compiled, *extra),
        where=compiled.where,
        scope=household_scope_sql(user, program),
        level=sql.Literal(level + 1),
        class_column=class_column,
        people=people.where,
    )
    by_area: dict[int | None, tuple[int, int]] = {}
    by_class: dict[int | None, tuple[int, int]] = {}
    households = total_people = 0
    with connection.cursor() as cursor, arithmetic_checked():
        cursor.execute(statement.as_string(cursor.connection))
        for no_area, no_class, area_id, class_id, count, people_count in cursor.fetchall():
            if no_area and no_class:
                households, total_people = count, int(people_count)
            elif not no_area:
                by_area[area_id] = (count, int(people_count))
            else:
                by_class[class_id] = (count, int(people_count))
        sample_sql = sql.SQL(
            "SELECT h.id, h.registrant_id, a.code FROM registry_household h {joins}"
            " LEFT JOIN geo_area a ON a.id = h.area_id"
            " WHERE h.status = 'active' AND ({where}) AND {scope} ORDER BY h.id LIMIT {limit}"
        ).format(
            joins=compiled.joins,
            where=compiled.where,
            scope=household_scope_sql(user, program),
            limit=sql.Literal(SAMPLE_SIZE),
        )
        cursor.execute(sample_sql.as_string(cursor.connection))
        sample_rows = cursor.fetchall()
    from geo.models import Area
    from response.models import ExposureResult, HazardClass

    areas = {
        area.pk: area
        for area in Area.objects.filter(pk__in=[pk for pk in by_area if pk is not None]).only("code", "name", "geom")
    }
    classes = {c.pk: c for c in HazardClass.objects.filter(pk__in=[pk for pk in by_class if pk is not None])}
    sample_classes: dict[int, str] = {}
    if exposure_run is not None and sample_rows:
        sample_classes = dict(
            ExposureResult.objects.filter(run=exposure_run, household_id__in=[r[0] for r in sample_rows]).values_list(
                "household_id", "hazard_class__key"
            )
        )
    area_rows = sorted(
        (
            {
                "code": areas[pk].code if pk in areas else "",
                "name": areas[pk].name if pk in areas else "Outside any area",
                "households": count,
                "people": people_count,
            }
            for pk, (count, people_count) in by_area.items()
        ),
        key=lambda row: (-row["households"], row["code"]),
    )
    class_rows = sorted(
        (
            {
                "key": classes[pk].key if pk in classes else "not_affected",
                "name": classes[pk].name if pk in classes else "Not affected",
                "rank": classes[pk].rank if pk in classes else 0,
                "households": count,
                "people": people_count,
            }
            for pk, (count, people_count) in by_class.items()
        ),
        key=lambda row: -row["rank"],
    )
    features = []
    for pk, (count, _people) in by_area.items():
        area = areas.get(pk)
        if area is None:
            continue
        point = area.geom.point_on_surface
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(point.x, 5), round(point.y, 5)]},
                "properties": {"code": area.code, "name": area.name, "households": count},
            }
        )
    return {
        "households": households,
        "people": total_people,
        "by_area": area_rows,
        "by_class": class_rows if exposure_run is not None else [],
        "sample": [
            {"household": pk, "registrant_id": rid, "area": code, "class": sample_classes.get(pk, "")}
            for pk, rid, code in sample_rows
        ],
        "map": {"type": "FeatureCollection", "features": features},
        "variables": sorted(compiled.variables),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def rule_explain(*, user, rule: str, household_id: int, exposure_run: ExposureRun | None = None) -> dict:
    """Why one household is or is not selected by a rule: the rule's value for it and the value of each variable
    the rule reads, evaluated by the Python reference (programs.eligibility.activation), which the tests hold equal to
    the SQL. Only for households the user may see."""
    from programs.eligibility.activation import activation_for_households, evaluate
    from registry.selectors import scoped_households

    if not scoped_households(user).filter(pk=household_id).exists():
        raise ValidationError({"household": "No such household among those you can see."})
    context = RuleContext(exposure_run_id=exposure_run.pk if exposure_run else None)
    compiled = rule_or_error(rule, context)
    activation = activation_for_households([household_id], context)[household_id]
    values = {}
    for name in sorted(compiled.variables):
        if name.endswith("()"):
            continue
        root, _, leaf = name.partition(".")
        values[name] = (activation.get(root) or {}).get(leaf)
    try:
        selected = evaluate(rule, activation)
    except RuleError as error:
        raise ValidationError({"rule": error.message}) from error
    return {"household": household_id, "selected": bool(selected), "values": values}


# Simulations -------------------------------------------------------------------------------------------------------


def _scenario_results(*, user, simulation: Simulation, scenario, cursor) -> dict:
    run = simulation.exposure_run
    context = RuleContext(exposure_run_id=run.pk if run else None)
    compiled = rule_or_error(scenario.rule, context)
    formula = formula_or_error(scenario.formula, context, currency=simulation.currency)
    people = compile_number("members.count", context)
    amount = formula.amount if formula.amount is not None else sql.SQL("0::numeric")
    fee = formula.fee if formula.fee is not None else sql.SQL("0::numeric")
    affected = sql.SQL("false")
    affected_join = sql.SQL("")
    if run is not None:
        affected_join = sql.SQL(
            "LEFT JOIN response_exposureresult sx ON sx.household_id = h.id AND sx.run_id = {}"
        ).format(sql.Literal(run.pk))
        affected = sql.SQL("(sx.household_id IS NOT NULL)")
    level = country().chart_level
    statement = sql.SQL(
        "WITH e AS MATERIALIZED (SELECT h.id, h.area_id, {affected} AS affected FROM registry_household h {joins}"
        " {affected_join} WHERE h.status = 'active' AND ({where}) AND {scope}),"
        " t AS (SELECT e.id, e.affected, coalesce(a.lineage[{level}], a.id) AS area_id, ({people}) AS people,"
        " ({amount}) AS amount, ({fee}) AS fee FROM e JOIN registry_household h ON h.id = e.id {formula_joins}"
        " LEFT JOIN geo_area a ON a.id = e.area_id)"
        " SELECT GROUPING(area_id), area_id, count(*), coalesce(sum(people), 0), coalesce(sum(amount), 0),"
        " coalesce(sum(fee), 0), count(*) FILTER (WHERE affected) FROM t GROUP BY GROUPING SETS ((), (area_id))"
    ).format(
        affected=affected,
        joins=compiled.joins,
        affected_join=affected_join,
        where=compiled.where,
        scope=household_scope_sql(user),
        level=sql.Literal(level + 1),
        people=people.where,
        amount=amount,
        fee=fee,
        formula_joins=merge_joins(people, formula),
    )
    cursor.execute(statement.as_string(cursor.connection))
    totals = (0, 0, Decimal(0), Decimal(0), 0)
    by_area = []
    for grouped, area_id, count, people_count, cost, fees, affected_count in cursor.fetchall():
        if grouped:
            totals = (count, int(people_count), cost, fees, affected_count)
        else:
            by_area.append((area_id, count))
    households, people_total, cost, fees, covered = totals
    affected_total = 0
    if run is not None:
        scope = household_scope_sql(user)
        cursor.execute(
            sql.SQL(
                "SELECT count(*) FROM response_exposureresult r JOIN registry_household h ON h.id = r.household_id"
                " WHERE r.run_id = {} AND h.status = 'active' AND {}"
            )
            .format(sql.Literal(run.pk), scope)
            .as_string(cursor.connection)
        )
        affected_total = cursor.fetchone()[0]
    cursor.execute(
        sql.SQL(
            "WITH e AS ({eligible}) SELECT p.code, p.name, count(*) FROM e"
            " JOIN programs_programmembership m ON m.household_id = e.id AND m.state = 'enrolled'"
            " JOIN programs_program p ON p.id = m.program_id GROUP BY p.code, p.name ORDER BY count(*) DESC"
        )
        .format(
            eligible=sql.SQL(
                "SELECT h.id FROM registry_household h {} WHERE h.status = 'active' AND ({}) AND {}"
            ).format(compiled.joins, compiled.where, household_scope_sql(user))
        )
        .as_string(cursor.connection)
    )
    overlap = [{"program_code": code, "program_name": name, "households": n} for code, name, n in cursor.fetchall()]
    from geo.models import Area

    names = {
        pk: (code, name)
        for pk, code, name in Area.objects.filter(pk__in=[a for a, _ in by_area if a]).values_list("pk", "code", "name")
    }
    exclusion = affected_total - covered
    inclusion = households - covered

    def rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    total_cost = cost + fees
    return {
        "households": households,
        "people": people_total,
        "cost": str(cost),
        "fees": str(fees),
        "total_cost": str(total_cost),
        "over_budget": scenario.budget is not None and total_cost > scenario.budget,
        "affected_households": affected_total,
        "covered_affected": covered,
        "coverage_rate": rate(covered, affected_total),
        "exclusion_count": exclusion,
        "exclusion_rate": rate(exclusion, affected_total),
        "inclusion_count": inclusion,
        "inclusion_rate": rate(inclusion, households),
        "by_area": sorted(
            (
                {"code": names.get(a, ("", ""))[0], "name": names.get(a, ("", "Outside any area"))[1], "households": n}
                for a, n in by_area
            ),
            key=lambda r: -r["households"],
        ),
        "overlap": overlap,
    }


def simulation_results(*, user, simulation: Simulation) -> list[dict]:
    with connection.cursor() as cursor, arithmetic_checked("scenarios"):
        return [
            {
                "position": scenario.position,
                "name": scenario.name,
                "rule": scenario.rule,
                "formula": scenario.formula,
                "budget": None if scenario.budget is None else str(scenario.budget),
                "program": scenario.program_id,
                "results": _scenario_results(user=user, simulation=simulation, scenario=scenario, cursor=cursor),
            }
            for scenario in simulation.scenarios.order_by("position")
        ]
