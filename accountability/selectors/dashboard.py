"""The program dashboard: per program (and cycle), by area and by day, how many affected people the program
reaches, what it planned, approved and paid, what was handed over, and the stock in the warehouses.

Every figure is one grouped statement over the lower apps' tables (programs, response, registry, distribution),
restricted to the households inside the user's areas; the payment figures come from the payments' own selector
(programs.payments.selectors.balance_by_area), which applies the same scope."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from distribution.stock.selectors import balance_list
from geo.models import Area
from geo.selectors import user_area_ids
from programs.models import Cycle, Program
from programs.payments.models import PaymentBatch
from programs.payments.selectors import balance_by_area
from programs.selectors import programs_in_scope
from spmis.country import country

PAYMENT_GROUPS = ("planned", "paid", "failed", "returned", "pending")
# Households outside the user's areas never count; a household with no area counts only for national users.
SCOPE = "(%(areas)s::bigint[] IS NULL OR ha.lineage && %(areas)s::bigint[])"
AREA = "coalesce(ha.lineage[%(index)s], ha.id)"
MAX_SERIES_DAYS = 366


@dataclass(frozen=True)
class Selection:
    """What a dashboard shows: one program, optionally one of its cycles, broken down at one area level."""

    program: Program
    cycle: Cycle | None
    level: int
    cycle_ids: list[int]
    run_ids: list[int]

    def params(self, user) -> dict:
        return {
            "program": self.program.pk,
            "cycles": self.cycle_ids,
            "runs": self.run_ids,
            "areas": user_area_ids(user),
            # lineage holds the ids from the root (level 0) down: the area at level L is its (L+1)th element.
            "index": self.level + 1,
        }


def selection_for(*, user, program_id: int | None, cycle_id: int | None = None, level: int | None = None) -> Selection:
    """The program (among those the user may see), the cycle (of that program) and the level, or a ValidationError
    naming the parameter."""
    if program_id is None:
        raise ValidationError({"program": "Choose a program."})
    program = programs_in_scope(user).filter(pk=program_id).first()
    if program is None:
        raise ValidationError({"program": "No such program among those you can see."})
    cycle = None
    if cycle_id is not None:
        cycle = Cycle.objects.filter(program=program, pk=cycle_id).first()
        if cycle is None:
            raise ValidationError({"cycle": "No such cycle in this program."})
    levels = len(country().level_names)
    level = country().chart_level if level is None else level
    if not 0 <= level < levels:
        raise ValidationError({"level": f"Choose an area level between 0 and {levels - 1}."})
    cycles = [cycle] if cycle else list(Cycle.objects.filter(program=program).exclude(state="cancelled"))
    return Selection(
        program=program,
        cycle=cycle,
        level=level,
        cycle_ids=[c.pk for c in cycles],
        run_ids=sorted({c.exposure_run_id for c in cycles if c.exposure_run_id}),
    )


def _rows(statement: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


# Enrolled and entitled households are gathered once and hash-joined, not probed household by household.
AFFECTED = f"""
    WITH x AS (SELECT DISTINCT r.household_id FROM response_exposureresult r WHERE r.run_id = ANY(%(runs)s)),
    enrolled AS (
        SELECT DISTINCT m.household_id FROM programs_programmembership m
         WHERE m.program_id = %(program)s AND m.state = 'enrolled'
    ), entitled AS (
        SELECT DISTINCT e.household_id FROM programs_entitlement e
         WHERE e.cycle_id = ANY(%(cycles)s) AND e.status <> 'cancelled'
    )
    SELECT {AREA}, count(*), coalesce(sum(hm.members), 0), count(enrolled.household_id),
           count(entitled.household_id), coalesce(sum(hm.members) FILTER (WHERE entitled.household_id IS NOT NULL), 0)
      FROM x JOIN registry_household h ON h.id = x.household_id
      LEFT JOIN geo_area ha ON ha.id = h.area_id
      LEFT JOIN registry_household_members hm ON hm.household_id = h.id
      LEFT JOIN enrolled ON enrolled.household_id = h.id
      LEFT JOIN entitled ON entitled.household_id = h.id
     WHERE {SCOPE}
     GROUP BY 1"""

ENROLLED = f"""
    SELECT {AREA}, count(*)
      FROM programs_programmembership m JOIN registry_household h ON h.id = m.household_id
      LEFT JOIN geo_area ha ON ha.id = h.area_id
     WHERE m.program_id = %(program)s AND m.state = 'enrolled' AND {SCOPE}
     GROUP BY 1"""

ENTITLEMENTS = f"""
    SELECT {AREA},
           count(*) FILTER (WHERE e.status <> 'cancelled'),
           coalesce(sum(e.amount) FILTER (WHERE e.status <> 'cancelled'), 0),
           count(*) FILTER (WHERE e.status = 'approved'),
           coalesce(sum(e.amount) FILTER (WHERE e.status = 'approved'), 0),
           coalesce(sum(e.people) FILTER (WHERE e.status = 'approved'), 0)
      FROM programs_entitlement e JOIN registry_household h ON h.id = e.household_id
      LEFT JOIN geo_area ha ON ha.id = h.area_id
     WHERE e.cycle_id = ANY(%(cycles)s) AND {SCOPE}
     GROUP BY 1"""

# An entitlement counts as handed over when it has a redemption that no correction reversed.
REDEEMED = f"""
    SELECT {AREA}, count(DISTINCT r.entitlement_id)
      FROM distribution_redemption r
      JOIN programs_entitlement e ON e.id = r.entitlement_id
      JOIN registry_household h ON h.id = r.household_id
      LEFT JOIN geo_area ha ON ha.id = h.area_id
     WHERE r.program_id = %(program)s AND e.cycle_id = ANY(%(cycles)s) AND e.status = 'approved'
       AND r.kind = 'redemption'
       AND NOT EXISTS (SELECT 1 FROM distribution_redemption c WHERE c.reverses_id = r.id)
       AND {SCOPE}
     GROUP BY 1"""


def _empty_area() -> dict:
    return {
        "affected": {"households": None, "people": None, "enrolled": None, "entitled": None, "entitled_people": None},
        "enrolled": 0,
        "entitlements": {
            "planned": {"count": 0, "amount": Decimal(0)},
            "approved": {"count": 0, "amount": Decimal(0), "people": 0},
        },
        "payments": {group: {"count": 0, "amount": Decimal(0)} for group in PAYMENT_GROUPS},
        "distribution": {"planned": 0, "redeemed": 0},
    }


def _add(total: dict, part: dict) -> None:
    for key, value in part.items():
        if isinstance(value, dict):
            _add(total.setdefault(key, {}), value)
        elif value is not None:
            total[key] = (total.get(key) or 0) + value


def dashboard(*, user, selection: Selection) -> dict:
    """Figures per area at the selection's level and their totals, plus stock on hand per warehouse."""
    params = selection.params(user)
    by_id: dict[int | None, dict] = {}

    def area(area_id: int | None) -> dict:
        return by_id.setdefault(area_id, _empty_area())

    if selection.run_ids:
        for area_id, households, people, enrolled, entitled, entitled_people in _rows(AFFECTED, params):
            area(area_id)["affected"] = {
                "households": households,
                "people": int(people),
                "enrolled": enrolled,
                "entitled": entitled,
                "entitled_people": int(entitled_people),
            }
    for area_id, enrolled in _rows(ENROLLED, params):
        area(area_id)["enrolled"] = enrolled
    for area_id, planned, planned_amount, approved, approved_amount, people in _rows(ENTITLEMENTS, params):
        row = area(area_id)
        row["entitlements"] = {
            "planned": {"count": planned, "amount": planned_amount},
            "approved": {"count": approved, "amount": approved_amount, "people": int(people)},
        }
        row["distribution"]["planned"] = approved
    for area_id, redeemed in _rows(REDEEMED, params):
        area(area_id)["distribution"]["redeemed"] = redeemed
    areas = {a.pk: a for a in Area.objects.filter(pk__in=[pk for pk in by_id if pk is not None]).only("code", "name")}
    codes = {a.code: pk for pk, a in areas.items()}
    batch_ids = list(PaymentBatch.objects.filter(cycle_id__in=selection.cycle_ids).values_list("pk", flat=True))
    if batch_ids:
        for row in balance_by_area(user=user, batch_ids=batch_ids, level=selection.level + 1):
            pk = codes.get(row["area"])
            if pk is None:
                pk = Area.objects.filter(code=row["area"]).values_list("pk", flat=True).first()
                areas[pk] = Area.objects.only("code", "name").get(pk=pk)
            area(pk)["payments"] = {group: row[group] for group in PAYMENT_GROUPS}
    rows = []
    totals = _empty_area()
    totals["affected"] = dict.fromkeys(totals["affected"])
    for pk, figures in by_id.items():
        known = areas.get(pk)
        rows.append(
            {
                "area_id": pk,
                "code": known.code if known else "",
                "name": known.name if known else "Outside any area",
                **figures,
            }
        )
        _add(totals, figures)
    rows.sort(key=lambda row: (row["code"] == "", row["code"]))
    return {
        "program": {"id": selection.program.pk, "code": selection.program.code, "name": selection.program.name},
        "cycle": (
            {"id": selection.cycle.pk, "name": selection.cycle.name, "state": selection.cycle.state}
            if selection.cycle
            else None
        ),
        "currency": selection.program.currency,
        "level": selection.level,
        "level_name": country().level_name(selection.level),
        "totals": totals,
        "by_area": rows,
        "stock": stock_by_warehouse(user=user),
    }


def stock_by_warehouse(*, user) -> list[dict]:
    """On hand per warehouse and item (base units, lots added up), in the user's areas (distribution's own scoped
    balance list)."""
    rows = (
        balance_list(user=user)
        .filter(warehouse__isnull=False)
        .values("warehouse__code", "warehouse__name", "item__code", "item__name", "item__base_unit")
        .annotate(on_hand=Sum("on_hand"))
        .order_by("warehouse__code", "item__code")
    )
    return [
        {
            "warehouse": row["warehouse__code"],
            "warehouse_name": row["warehouse__name"],
            "item": row["item__code"],
            "item_name": row["item__name"],
            "unit": row["item__base_unit"],
            "on_hand": row["on_hand"],
        }
        for row in rows
    ]


SERIES = f"""
    WITH days AS (
        SELECT d::date AS day FROM generate_series(%(start)s::date, %(end)s::date, interval '1 day') d
    ), paid AS (
        SELECT (ev.at AT TIME ZONE %(tz)s)::date AS day, ev.status, count(*) AS n, coalesce(sum(p.amount), 0) AS amount
          FROM programs_paymentevent ev
          JOIN programs_payment p ON p.id = ev.payment_id
          JOIN programs_paymentbatch b ON b.id = p.batch_id
          JOIN registry_household h ON h.id = p.household_id
          LEFT JOIN geo_area ha ON ha.id = h.area_id
         WHERE b.cycle_id = ANY(%(cycles)s) AND ev.status IN ('paid', 'failed', 'returned')
           AND (ev.at AT TIME ZONE %(tz)s)::date BETWEEN %(start)s AND %(end)s AND {SCOPE}
         GROUP BY 1, 2
    ), handed AS (
        SELECT (r.occurred_at AT TIME ZONE %(tz)s)::date AS day,
               count(*) FILTER (WHERE r.kind = 'redemption') - count(*) FILTER (WHERE r.kind = 'correction') AS n
          FROM distribution_redemption r
          JOIN programs_entitlement e ON e.id = r.entitlement_id
          JOIN registry_household h ON h.id = r.household_id
          LEFT JOIN geo_area ha ON ha.id = h.area_id
         WHERE r.program_id = %(program)s AND e.cycle_id = ANY(%(cycles)s)
           AND (r.occurred_at AT TIME ZONE %(tz)s)::date BETWEEN %(start)s AND %(end)s AND {SCOPE}
         GROUP BY 1
    )
    SELECT days.day,
           coalesce(sum(paid.n) FILTER (WHERE paid.status = 'paid'), 0),
           coalesce(sum(paid.amount) FILTER (WHERE paid.status = 'paid'), 0),
           coalesce(sum(paid.n) FILTER (WHERE paid.status IN ('failed', 'returned')), 0),
           coalesce(sum(paid.amount) FILTER (WHERE paid.status IN ('failed', 'returned')), 0),
           coalesce(max(handed.n), 0)
      FROM days LEFT JOIN paid ON paid.day = days.day LEFT JOIN handed ON handed.day = days.day
     GROUP BY days.day ORDER BY days.day"""


def series(
    *, user, selection: Selection, start: datetime.date | None = None, end: datetime.date | None = None
) -> list[dict]:
    """Per day from `start` to `end` (the last 30 days by default): payments paid and failed (count and amount, by
    the day of the ledger event) and entitlements handed over (redemptions less corrections)."""
    end = end or timezone.localdate()
    start = start or end - datetime.timedelta(days=29)
    if start > end:
        raise ValidationError({"start": "The first day comes after the last."})
    if (end - start).days >= MAX_SERIES_DAYS:
        raise ValidationError({"start": f"At most {MAX_SERIES_DAYS} days at a time."})
    params = {**selection.params(user), "start": start, "end": end, "tz": settings.TIME_ZONE}
    return [
        {
            "day": day.isoformat(),
            "paid": {"count": int(paid), "amount": paid_amount},
            "failed": {"count": int(failed), "amount": failed_amount},
            "redeemed": int(redeemed),
        }
        for day, paid, paid_amount, failed, failed_amount, redeemed in _rows(SERIES, params)
    ]
