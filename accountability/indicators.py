"""The published indicators: a registry of counting functions, each giving how many households (or cases) there
are per area. The publisher (accountability.selectors.indicators) runs them, suppresses small cells and serves the
result to partners, as JSON, CSV and OGC API – Features collections.

An app above programs adds an indicator in one line, e.g. in grievances (when it exists):

    register("grievances_open", "Open grievances", lambda q: open_grievances_by_area(q), unit="grievances")

where the function takes an IndicatorQuery and returns (area id at q.level, count) pairs for the areas in
q.areas (None: every area). Counts are of distinct households or cases, never of people's records."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Max

from programs.models import Cycle
from response.models import ExposureRun


@dataclass(frozen=True)
class IndicatorQuery:
    """What to count: areas at `level` (0 = country), inside `areas` (None: all), optionally for one program and
    one incident."""

    level: int
    areas: list[int] | None = None
    program_id: int | None = None
    incident_id: int | None = None

    def params(self) -> dict:
        return {
            "index": self.level + 1,
            "areas": self.areas,
            "program": self.program_id,
            "incident": self.incident_id,
        }


Counter = Callable[[IndicatorQuery], Iterable[tuple[int | None, int]]]


@dataclass(frozen=True)
class Indicator:
    key: str
    title: str
    compute: Counter
    description: str = ""
    unit: str = "households"


INDICATORS: dict[str, Indicator] = {}


def register(key: str, title: str, compute: Counter, *, description: str = "", unit: str = "households") -> Indicator:
    """Add (or replace) an indicator; the order of registration is the order of publication."""
    INDICATORS[key] = Indicator(key=key, title=title, compute=compute, description=description, unit=unit)
    return INDICATORS[key]


# ---- Built-in indicators: households by the area they live in (at the query's level).

AREA = "ha.lineage[%(index)s]"
SCOPE = "(%(areas)s::bigint[] IS NULL OR ha.lineage && %(areas)s::bigint[])"
HOUSEHOLD_AREA = "JOIN registry_household h ON h.id = {column} LEFT JOIN geo_area ha ON ha.id = h.area_id"


def _grouped(statement: str, params: dict) -> list[tuple[int | None, int]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def exposure_runs(query: IndicatorQuery) -> list[int]:
    """The analyses an indicator of affected households reads: the program's cycles' own analyses, or else the
    latest finished analysis of each incident (of the one asked for)."""
    if query.program_id is not None:
        cycles = Cycle.objects.filter(program_id=query.program_id, exposure_run__isnull=False).exclude(
            state="cancelled"
        )
        if query.incident_id is not None:
            cycles = cycles.filter(incident_id=query.incident_id)
        return sorted(set(cycles.values_list("exposure_run_id", flat=True)))
    runs = ExposureRun.objects.filter(status=ExposureRun.Status.SUCCEEDED)
    if query.incident_id is not None:
        runs = runs.filter(incident_id=query.incident_id)
    latest = runs.values("incident_id").annotate(last=Max("id")).values_list("last", flat=True)
    return sorted(latest)


def households_affected(query: IndicatorQuery) -> list[tuple[int | None, int]]:
    runs = exposure_runs(query)
    if not runs:
        return []
    statement = f"""
        WITH x AS (SELECT DISTINCT household_id FROM response_exposureresult WHERE run_id = ANY(%(runs)s))
        SELECT {AREA}, count(*) FROM x {HOUSEHOLD_AREA.format(column="x.household_id")}
         WHERE {SCOPE} GROUP BY 1"""
    return _grouped(statement, {**query.params(), "runs": runs})


def households_covered(query: IndicatorQuery) -> list[tuple[int | None, int]]:
    statement = f"""
        SELECT {AREA}, count(DISTINCT e.household_id)
          FROM programs_entitlement e {HOUSEHOLD_AREA.format(column="e.household_id")}
         WHERE e.status = 'approved'
           AND (%(program)s::bigint IS NULL OR e.program_id = %(program)s)
           AND (%(incident)s::bigint IS NULL OR e.incident_id = %(incident)s)
           AND {SCOPE}
         GROUP BY 1"""
    return _grouped(statement, query.params())


def households_paid(query: IndicatorQuery) -> list[tuple[int | None, int]]:
    statement = f"""
        SELECT {AREA}, count(DISTINCT p.household_id)
          FROM programs_payment p
          JOIN programs_paymentbatch b ON b.id = p.batch_id
          JOIN programs_entitlement e ON e.id = p.entitlement_id
          {HOUSEHOLD_AREA.format(column="p.household_id")}
         WHERE p.status = 'paid'
           AND (%(program)s::bigint IS NULL OR b.program_id = %(program)s)
           AND (%(incident)s::bigint IS NULL OR e.incident_id = %(incident)s)
           AND {SCOPE}
         GROUP BY 1"""
    return _grouped(statement, query.params())


def households_reached(query: IndicatorQuery) -> list[tuple[int | None, int]]:
    statement = f"""
        SELECT {AREA}, count(DISTINCT r.household_id)
          FROM distribution_redemption r
          JOIN programs_entitlement e ON e.id = r.entitlement_id
          {HOUSEHOLD_AREA.format(column="r.household_id")}
         WHERE r.kind = 'redemption'
           AND NOT EXISTS (SELECT 1 FROM distribution_redemption c WHERE c.reverses_id = r.id)
           AND (%(program)s::bigint IS NULL OR r.program_id = %(program)s)
           AND (%(incident)s::bigint IS NULL OR e.incident_id = %(incident)s)
           AND {SCOPE}
         GROUP BY 1"""
    return _grouped(statement, query.params())


register(
    "households_affected",
    "Households affected",
    households_affected,
    description="Households inside the hazard zones of the latest analysis of each incident (or of the program's).",
)
register(
    "households_covered",
    "Households covered",
    households_covered,
    description="Households with an approved entitlement.",
)
register("households_paid", "Households paid", households_paid, description="Households with a payment booked.")
register(
    "households_reached",
    "Households reached at a distribution point",
    households_reached,
    description="Households that collected an entitlement at a point (corrections taken off).",
)


def grievances_received(query: IndicatorQuery) -> list[tuple[int | None, int]]:
    # Sensitive tickets (fraud, sexual exploitation and abuse) are left out: even a suppressed map of where they
    # come from can point at a complainant; the grievance statistics publish them by category only.
    statement = (
        """
        SELECT ha.lineage[%(index)s], count(*)
          FROM grievances_ticket t
          LEFT JOIN geo_area ha ON ha.id = t.area_id
          LEFT JOIN programs_entitlement e ON e.id = t.entitlement_id
          LEFT JOIN programs_cycle c ON c.id = e.cycle_id
         WHERE NOT t.sensitive
           AND (%(program)s::bigint IS NULL OR c.program_id = %(program)s)
           AND """
        + SCOPE
        + """
         GROUP BY 1"""
    )
    return _grouped(statement, query.params())


register(
    "grievances_received",
    "Grievances received",
    grievances_received,
    description="Complaints from every channel, by the area they concern (sensitive cases left out); for a program, "
    "those about its entitlements.",
    unit="grievances",
)
