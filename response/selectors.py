"""Reads for the response app: incidents, zones, runs, results, aggregates, needs and diffs. Area scoping is applied
here only, through geo.selectors.scope_queryset; raw SQL embeds the scoped queryset's own SQL."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Prefetch, QuerySet
from psycopg import sql

from geo.selectors import scope_queryset, user_area_ids
from response.models import (
    ExposureResult,
    ExposureRun,
    HazardClass,
    HazardZone,
    Incident,
    NeedsProfile,
)
from spmis.api.sqljson import json_object, json_rows, model_columns

DEFAULT_K = 5


def incident_list(*, user, status: str | None = None, hazard_type: str | None = None) -> QuerySet[Incident]:
    queryset = Incident.objects.prefetch_related("areas")
    if user_area_ids(user) is not None:
        # An incident is visible to a user bound to areas when one of its linked areas lies in them.
        queryset = queryset.filter(pk__in=scope_queryset(Incident.objects.all(), user, area_field="areas").values("pk"))
    if status:
        queryset = queryset.filter(status=status)
    if hazard_type:
        queryset = queryset.filter(hazard_type=hazard_type)
    return queryset


def hazard_zone_list(
    *, user, incident_id: int | None = None, current_only: bool = True, zone_key: str | None = None
) -> QuerySet[HazardZone]:
    queryset = HazardZone.objects.select_related("hazard_class").filter(
        incident__in=incident_list(user=user).values("pk")
    )
    if incident_id is not None:
        queryset = queryset.filter(incident_id=incident_id)
    if zone_key:
        queryset = queryset.filter(zone_key=zone_key)
    elif current_only:
        queryset = queryset.filter(is_current=True)
    return queryset


def hazard_class_list(*, incident: Incident | None = None, hazard_type: str | None = None) -> QuerySet[HazardClass]:
    if incident is not None:
        own = HazardClass.objects.filter(incident=incident)
        if own.exists():
            return own.order_by("rank")
        hazard_type = incident.hazard_type
    queryset = HazardClass.objects.filter(incident=None)
    if hazard_type:
        queryset = queryset.filter(hazard_type=hazard_type)
    return queryset.order_by("hazard_type", "rank")


def exposure_run_list(*, user, incident_id: int | None = None) -> QuerySet[ExposureRun]:
    # Zone ids only: a run lists the versions it used, and their geometries can be large.
    queryset = (
        ExposureRun.objects.select_related("incident", "created_by")
        .prefetch_related(Prefetch("zones", queryset=HazardZone.objects.only("id")))
        .filter(incident__in=incident_list(user=user).values("pk"))
    )
    if incident_id is not None:
        queryset = queryset.filter(incident_id=incident_id)
    return queryset


def exposure_result_list(
    *,
    run: ExposureRun,
    user,
    hazard_class: str | None = None,
    approximate: bool | None = None,
    area_code: str | None = None,
) -> QuerySet[ExposureResult]:
    """The run's affected households visible to the user (by the household's area)."""
    queryset = scope_queryset(ExposureResult.objects.filter(run=run), user)
    if hazard_class:
        queryset = queryset.filter(hazard_class__key=hazard_class)
    if approximate is not None:
        queryset = queryset.filter(approximate=approximate)
    if area_code:
        queryset = queryset.filter(area__lineage__contains=[_area_id(area_code)])
    return queryset.order_by("household_id")


# The JSON page of a run's results, built in SQL (spmis.api.sqljson): expressions keyed by output field, the field
# list the caller's (the serializer the view picked).
RESULT_COLUMNS_JSON = {
    **model_columns(ExposureResult, "r"),
    "hazard_class": sql.SQL("c.key"),
    "area_code": sql.SQL("a.code"),
}


def exposure_result_page_json(*, run: ExposureRun, household_ids: list[int], fields: Sequence[str]) -> str:
    """The run's result rows (a JSON array, as text) for `household_ids`, in that order, with `fields`. The caller
    has checked that the user may see them."""
    query = sql.SQL(
        """
        SELECT json_agg({row} ORDER BY p.ord)
        FROM unnest(%s::bigint[]) WITH ORDINALITY AS p(id, ord)
        JOIN response_exposureresult r ON r.run_id = %s AND r.household_id = p.id
        LEFT JOIN response_hazardclass c ON c.id = r.hazard_class_id
        LEFT JOIN geo_area a ON a.id = r.area_id
        """
    ).format(row=json_object(RESULT_COLUMNS_JSON, fields, what="exposure result"))
    return json_rows(query, [list(household_ids), run.pk])


def _area_id(code: str) -> int:
    from geo.models import Area

    try:
        return Area.objects.values_list("id", flat=True).get(code=code)
    except Area.DoesNotExist:
        raise ValidationError({"area": f"No area with code {code!r}."}) from None


def _scoped_sql(run: ExposureRun, user) -> tuple[str, list]:
    """SQL (and params) for the household ids of the run's results the user may see."""
    queryset = scope_queryset(ExposureResult.objects.filter(run=run), user).values("household_id")
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


# Aggregates ------------------------------------------------------------------------------------------------------

COUNT_COLUMNS = (
    "households",
    "approximate_households",
    "individuals",
    "children_under_5",
    "people_60_plus",
    "people_with_disability",
    "pregnant_or_lactating",
)


@dataclass
class AggregateRow:
    area_id: int | None
    area_code: str
    area_name: str
    area_level: int | None
    class_key: str
    class_name: str
    class_rank: int
    displacement_rate: float
    counts: dict
    suppressed: bool = False

    def as_dict(self) -> dict:
        return {
            "area_code": self.area_code,
            "area_name": self.area_name,
            "area_level": self.area_level,
            "hazard_class": self.class_key,
            "class_name": self.class_name,
            "class_rank": self.class_rank,
            "suppressed": self.suppressed,
            **self.counts,
        }


def exposure_aggregates(
    *, run: ExposureRun, user, level: int = 0, k: int | None = None, reference_date: datetime.date | None = None
) -> list[AggregateRow]:
    """Households and people by hazard class × area at `level` (the household's area's ancestor at that level),
    with children under 5, people aged 60+, people with a disability, and pregnant or lactating women (open
    memberships of active individuals; ages on `reference_date`, default the incident's start).

    With `k`, the aggregate is k-anonymous for sharing: a cell with fewer than k households is suppressed whole, and
    any other count between 1 and k − 1 is withheld (None)."""
    if level < 0:
        raise ValidationError({"level": "Level must be 0 or more."})
    if k is not None and k < 1:
        raise ValidationError({"k": "k must be 1 or more."})
    reference = reference_date or run.incident.started_on
    scoped_sql, scoped_params = _scoped_sql(run, user)
    sql = f"""
        WITH hh AS (
            SELECT r.household_id, r.hazard_class_id, r.approximate, a.lineage[%s] AS area_id
            FROM response_exposureresult r LEFT JOIN geo_area a ON a.id = r.area_id
            WHERE r.run_id = %s AND r.household_id IN ({scoped_sql})
        ),
        people AS (
            SELECT m.household_id,
                   count(*) AS individuals,
                   count(*) FILTER (WHERE i.birth_date > %s::date - interval '5 years') AS under5,
                   count(*) FILTER (WHERE i.birth_date <= %s::date - interval '60 years') AS aged60,
                   count(*) FILTER (WHERE i.disability) AS disabled,
                   count(*) FILTER (WHERE i.is_pregnant OR i.is_lactating) AS pregnant_lactating
            FROM registry_membership m
            JOIN registry_individual i ON i.id = m.individual_id
            WHERE m.end_date IS NULL AND i.status = 'active' AND m.household_id IN (SELECT household_id FROM hh)
            GROUP BY m.household_id
        )
        SELECT hh.area_id, coalesce(ar.code, ''), coalesce(ar.name, 'Outside any area'), ar.level,
               c.key, c.name, c.rank, c.displacement_rate,
               count(*) FILTER (WHERE NOT hh.approximate), count(*) FILTER (WHERE hh.approximate),
               coalesce(sum(p.individuals), 0), coalesce(sum(p.under5), 0), coalesce(sum(p.aged60), 0),
               coalesce(sum(p.disabled), 0), coalesce(sum(p.pregnant_lactating), 0)
        FROM hh
        JOIN response_hazardclass c ON c.id = hh.hazard_class_id
        LEFT JOIN people p ON p.household_id = hh.household_id
        LEFT JOIN geo_area ar ON ar.id = hh.area_id
        GROUP BY hh.area_id, ar.code, ar.name, ar.level, c.key, c.name, c.rank, c.displacement_rate
        ORDER BY ar.code NULLS LAST, c.rank DESC
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [level + 1, run.pk, *scoped_params, reference, reference])
        rows = cursor.fetchall()
    result = []
    for area_id, code, name, area_level, key, class_name, rank, rate, *numbers in rows:
        counts = dict(zip(COUNT_COLUMNS, (int(n) for n in numbers), strict=True))
        counts["households"] += counts["approximate_households"]
        row = AggregateRow(area_id, code, name, area_level, key, class_name, rank, rate, counts)
        if k is not None:
            row = _k_anonymise(row, k)
        result.append(row)
    return result


def aggregate_summary(rows: list[AggregateRow]) -> dict:
    """Totals, per class and per area over the cells of one aggregate: the figures the dashboard, the map panel and
    the report all show, so they agree. A withheld count (None, k-anonymity) adds nothing to a sum and puts its key
    in the sum's `withheld` list: the figure is then a lower bound, and 0 with the key withheld means "not shown".

    Sums are taken over the cells given, never over a coarser query: a country total next to district cells would
    let anyone subtract the visible cells and recover the withheld ones."""

    def new(**labels) -> dict:
        return {**labels, **dict.fromkeys(COUNT_COLUMNS, 0), "withheld": []}

    def add(target: dict, counts: dict) -> None:
        for key in COUNT_COLUMNS:
            value = counts.get(key)
            if value is None:
                if key not in target["withheld"]:
                    target["withheld"].append(key)
            else:
                target[key] += value

    totals = new()
    by_class: dict[str, dict] = {}
    by_area: dict[str, dict] = {}
    for row in rows:
        add(totals, row.counts)
        labels = {"hazard_class": row.class_key, "class_name": row.class_name, "class_rank": row.class_rank}
        add(by_class.setdefault(row.class_key, new(**labels)), row.counts)
        add(by_area.setdefault(row.area_code, new(area_code=row.area_code, area_name=row.area_name)), row.counts)
    return {
        "totals": totals,
        "by_class": sorted(by_class.values(), key=lambda c: -c["class_rank"]),
        "by_area": sorted(by_area.values(), key=lambda a: (-a["households"], a["area_code"])),
    }


def _k_anonymise(row: AggregateRow, k: int) -> AggregateRow:
    if row.counts["households"] < k:
        row.counts = dict.fromkeys(row.counts)
        row.suppressed = True
        return row
    row.counts = {key: (None if 0 < value < k else value) for key, value in row.counts.items()}
    return row


# Needs ------------------------------------------------------------------------------------------------------------


def needs_profile_get(profile_id: int | None = None) -> NeedsProfile:
    queryset = NeedsProfile.objects.all()
    profile = queryset.filter(pk=profile_id).first() if profile_id else queryset.filter(is_default=True).first()
    if profile is None:
        raise ValidationError({"profile": "No such needs profile (and no default one)."})
    return profile


def needs_profile_editable(*, user) -> bool:
    """Needs profiles are national data: only national users (no area scope) may change them."""
    return user_area_ids(user) is None


def exposure_needs(*, run: ExposureRun, user, profile: NeedsProfile, level: int = 0, days: int | None = None) -> dict:
    """Needs on the displaced basis: people per cell × the class's displacement rate × each item's daily quantity
    × days. Returns rows per area × class and totals per item."""
    days = days or profile.days
    rows = []
    totals: dict[str, float] = {}
    displaced_total = 0.0
    for cell in exposure_aggregates(run=run, user=user, level=level):
        displaced = cell.counts["individuals"] * cell.displacement_rate
        displaced_total += displaced
        items = {}
        for item in profile.items:
            quantity = displaced * float(item["per_person_per_day"]) * days
            items[f"{item['item']} ({item['unit']})"] = round(quantity, 1)
            totals[f"{item['item']} ({item['unit']})"] = totals.get(f"{item['item']} ({item['unit']})", 0) + quantity
        rows.append(
            {
                "area_code": cell.area_code,
                "area_name": cell.area_name,
                "hazard_class": cell.class_key,
                "individuals": cell.counts["individuals"],
                "displacement_rate": cell.displacement_rate,
                "displaced": round(displaced, 1),
                "needs": items,
            }
        )
    return {
        "profile": profile.name,
        "days": days,
        "rows": rows,
        "displaced": round(displaced_total, 1),
        "totals": {key: round(value, 1) for key, value in totals.items()},
    }


# Diffs -----------------------------------------------------------------------------------------------------------


def exposure_diff(*, run: ExposureRun, against: ExposureRun, user, limit: int = 1000, offset: int = 0) -> dict:
    """Households newly affected in `run` compared with `against` (an earlier analysis of the same incident), no
    longer affected, or whose class changed; with counts, and a page of rows."""
    if run.incident_id != against.incident_id:
        raise ValidationError({"against": "Both analyses must be of the same incident."})
    new_sql, new_params = _scoped_sql(run, user)
    old_sql, old_params = _scoped_sql(against, user)
    sql = f"""
        WITH a AS (SELECT household_id, hazard_class_id, class_rank FROM response_exposureresult
                   WHERE run_id = %s AND household_id IN ({old_sql})),
             b AS (SELECT household_id, hazard_class_id, class_rank FROM response_exposureresult
                   WHERE run_id = %s AND household_id IN ({new_sql})),
             d AS (
                SELECT coalesce(a.household_id, b.household_id) AS household_id,
                       ca.key AS before_class, cb.key AS after_class,
                       CASE WHEN a.household_id IS NULL THEN 'newly_affected'
                            WHEN b.household_id IS NULL THEN 'no_longer_affected'
                            ELSE 'class_changed' END AS change
                FROM a FULL JOIN b ON a.household_id = b.household_id
                LEFT JOIN response_hazardclass ca ON ca.id = a.hazard_class_id
                LEFT JOIN response_hazardclass cb ON cb.id = b.hazard_class_id
                WHERE a.household_id IS NULL OR b.household_id IS NULL OR a.class_rank <> b.class_rank
                   OR a.hazard_class_id <> b.hazard_class_id)
    """
    params = [against.pk, *old_params, run.pk, *new_params]
    counts = {"newly_affected": 0, "no_longer_affected": 0, "class_changed": 0}
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} SELECT change, count(*) FROM d GROUP BY change", params)
        counts.update(dict(cursor.fetchall()))
        cursor.execute(
            f"{sql} SELECT household_id, change, before_class, after_class FROM d "
            "ORDER BY change, household_id LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        rows = [
            {"household": household, "change": change, "before": before, "after": after}
            for household, change, before, after in cursor.fetchall()
        ]
    return {"run": run.pk, "against": against.pk, "counts": counts, "rows": rows}
