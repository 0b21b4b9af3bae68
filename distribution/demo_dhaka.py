"""The demo's monsoon waterlogging scenario in Dhaka, for the logistics officer.

After a heavy monsoon downpour, streets in low parts of Dhaka stand under water for days (Shantinagar–Malibagh,
Motijheel–Arambagh, Mirpur 10–Kazipara, Green Road–Panthapath, Jatrabari are the spots the city's reports name
every year). The scenario draws those spots as hazard zones of one incident, places warehouses and distribution points
at real places in the city (coordinates read off OpenStreetMap, approximate to ~100 m), and runs the exposure
analysis, so that a plan and routes can be made on Dhaka's road network (distribution.roads.demo) at once.
Idempotent: a second load finds the incident by name and the facilities by code.
"""

from __future__ import annotations

import datetime

from django.contrib.gis.geos import Point, Polygon
from django.db import transaction

from distribution.models import DistributionPoint, Warehouse
from response.models import ExposureRun, HazardZone, Incident

INCIDENT_NAME = "Dhaka monsoon waterlogging (demo)"

# code, name, lon, lat, capacity in tonnes
WAREHOUSES = [
    ("WH-DHK-TEJ", "Tejgaon central storage depot", 90.4005, 23.7645, 2000),
    ("WH-DHK-PST", "Postogola food warehouse", 90.4330, 23.6905, 1200),
    ("WH-DHK-MIR", "Mirpur relief store", 90.3530, 23.8100, 400),
]

# code, name, kind, lon, lat, households served per day
POINTS = [
    ("DP-DHK-DHN", "Dhanmondi Government Boys' High School", "school", 90.3760, 23.7465, 400),
    ("DP-DHK-MOT", "Motijheel Government Boys' High School", "school", 90.4200, 23.7305, 400),
    ("DP-DHK-MRP", "Mirpur Bangla School", "school", 90.3560, 23.8040, 350),
    ("DP-DHK-MOH", "Mohammadpur Government High School", "school", 90.3620, 23.7590, 350),
    ("DP-DHK-BAD", "Badda Alatunnesa School", "school", 90.4260, 23.7800, 300),
    ("DP-DHK-GUL", "Gulshan community centre", "other", 90.4150, 23.7925, 300),
    ("DP-DHK-KHL", "Khilgaon community centre", "other", 90.4260, 23.7510, 300),
    ("DP-DHK-LAL", "Lalbagh union office", "union_office", 90.3880, 23.7190, 250),
    ("DP-DHK-JAT", "Jatrabari Ideal School", "school", 90.4350, 23.7100, 300),
    ("DP-DHK-UTT", "Uttara community centre", "other", 90.4000, 23.8690, 400),
]

# name, class, centre lon/lat, half-width and half-height in degrees (about 100 m per 0.001°)
WATERLOGGING = [
    ("Shantinagar–Malibagh", "high", 90.4140, 23.7420, 0.0045, 0.0040),
    ("Motijheel–Arambagh", "moderate", 90.4185, 23.7320, 0.0040, 0.0035),
    ("Mirpur 10–Kazipara", "moderate", 90.3700, 23.8000, 0.0040, 0.0050),
    ("Green Road–Panthapath", "low", 90.3835, 23.7520, 0.0030, 0.0030),
    ("Jatrabari", "high", 90.4330, 23.7090, 0.0040, 0.0035),
]


# The scenario's households have a source of their own: replacing the country-wide demo registry (a larger
# `make demo`) leaves them, and the approved relief entitlements they hold, alone.
DHAKA_SOURCE = "demo-dhaka"
# Households of the scenario are numbered from here (DEMO-90000001, …), apart from the country-wide demo registry.
DHAKA_FIRST_NUMBER = 90_000_000
# Central Dhaka, where the road network is dense: most scenario households live here, a share of them in the low
# streets that flood (their boxes drawn a little larger than the zones, so some are just outside).
CITY = (90.350, 23.700, 90.440, 23.830)
IN_LOW_STREETS = 0.4


def dhaka_household_count(households: int) -> int:
    """How many scenario households go with a country-wide demo of `households`."""
    return min(5_000, max(40, households // 10))


def load_dhaka_households(count: int, *, seed: int = 2026) -> int:
    """Synthetic households placed in central Dhaka (once); returns how many the scenario has."""
    import shapely

    from registry.demo import AreaWeight, load_demo_households
    from registry.models import Household

    existing = Household.objects.filter(source=DHAKA_SOURCE).count()
    if existing:
        return existing
    low = [
        shapely.box(lon - dx * 1.3, lat - dy * 1.3, lon + dx * 1.3, lat + dy * 1.3)
        for *_, lon, lat, dx, dy in WATERLOGGING
    ]
    areas = [AreaWeight(0, shapely.box(*CITY), 1 - IN_LOW_STREETS)] + [
        AreaWeight(0, box, IN_LOW_STREETS / len(low)) for box in low
    ]
    counts = load_demo_households(
        count, seed=seed, areas=areas, first_number=DHAKA_FIRST_NUMBER, workers=1, source=DHAKA_SOURCE
    )
    return counts["households"]


def load_dhaka_facilities() -> dict[str, int]:
    """The Dhaka warehouses and distribution points (created or updated by code)."""
    with transaction.atomic():
        for code, name, lon, lat, tonnes in WAREHOUSES:
            Warehouse.objects.update_or_create(
                code=code,
                defaults={"name": name, "location": Point(lon, lat, srid=4326), "capacity_tonnes": tonnes},
            )
        for code, name, kind, lon, lat, per_day in POINTS:
            DistributionPoint.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "kind": kind,
                    "location": Point(lon, lat, srid=4326),
                    "daily_capacity_households": per_day,
                },
            )
    return {"warehouses": len(WAREHOUSES), "distribution_points": len(POINTS)}


def _box(lon: float, lat: float, dx: float, dy: float) -> Polygon:
    ring = [
        (lon - dx, lat - dy),
        (lon + dx, lat - dy),
        (lon + dx, lat + dy),
        (lon - dx, lat + dy),
        (lon - dx, lat - dy),
    ]
    return Polygon(ring, srid=4326)


def load_dhaka_waterlogging(*, user) -> ExposureRun:
    """The incident, its zones and a finished exposure run of them (computed here: the demo has no worker)."""
    from response.services import exposure_run_execute, exposure_run_start, hazard_zone_draw, incident_create

    incident = Incident.objects.filter(name=INCIDENT_NAME).first()
    if incident is None:
        incident = incident_create(
            name=INCIDENT_NAME,
            hazard_type="flood",
            started_on=datetime.date(2026, 7, 14),
            status=Incident.Status.ACTIVE,
            description="Streets under water after 180 mm of rain in six hours (demo scenario).",
            user=user,
        )
    if not HazardZone.objects.filter(incident=incident, is_current=True).exists():
        for name, hazard_class, lon, lat, dx, dy in WATERLOGGING:
            hazard_zone_draw(
                incident=incident, geometry=_box(lon, lat, dx, dy), hazard_class=hazard_class, user=user, name=name
            )
    run = ExposureRun.objects.filter(incident=incident, status=ExposureRun.Status.SUCCEEDED).order_by("-id").first()
    if run is None:
        run = exposure_run_start(incident=incident, user=user)
        run.refresh_from_db()  # without a broker the run was computed at commit, eagerly
        if run.status != ExposureRun.Status.SUCCEEDED:
            run = exposure_run_execute(run_id=run.pk)
    return run


RELIEF_PROGRAM = "Dhaka waterlogging food assistance (demo)"
# A week's family ration and a hygiene kit per affected household; more rice for larger households.
RELIEF_FORMULA = {
    "in_kind": [
        {"item": "rice", "unit": "kg", "per_household": "10", "per_member": "2"},
        {"item": "lentils", "unit": "kg", "per_household": "2"},
        {"item": "oil", "unit": "l", "per_household": "1"},
        {"item": "ors", "unit": "sachet", "per_household": "10"},
        {"item": "hygiene-kit", "unit": "kit", "per_household": "1"},
    ]
}


def load_dhaka_relief(*, run: ExposureRun, officer, approver, logistics) -> dict:
    """An emergency in-kind program for the households the analysis found affected, one approved cycle (drafted
    by one officer, approved by another), and a distribution plan of it on the default road network made by the
    logistics officer. Returns what exists; a second call makes nothing new."""
    from distribution.plans.models import DistributionPlan
    from distribution.plans.services import plan_execute, plan_start
    from programs.models import Cycle, Entitlement, Program
    from programs.services.cycles import (
        cycle_approve,
        cycle_create,
        cycle_generate,
        cycle_generate_execute,
        cycle_submit,
    )
    from programs.services.programs import program_create

    program = Program.objects.filter(name=RELIEF_PROGRAM).first()
    if program is None:
        program = program_create(
            user=officer,
            name=RELIEF_PROGRAM,
            kind=Program.Kind.EMERGENCY,
            incidents=[run.incident],
            description="Rice, lentils, oil, ORS and a hygiene kit for households in Dhaka's waterlogged streets.",
            funding_source="Government (demo)",
        )
    cycle = program.cycles.exclude(state=Cycle.State.CANCELLED).order_by("sequence").first()
    if cycle is None:
        today = datetime.date.today()
        cycle = cycle_create(
            user=officer,
            program=program,
            name="Relief round 1",
            kind=Cycle.Kind.NEW_CASELOAD,
            population=Cycle.Population.NEW,
            starts_on=today,
            ends_on=today + datetime.timedelta(days=14),
            rule="exposure.affected",
            formula=RELIEF_FORMULA,
            incident=run.incident,
            exposure_run=run,
        )
    if cycle.state == Cycle.State.DRAFT and cycle.generated_at is None:
        generation = cycle_generate(cycle=cycle, user=officer)
        generation.refresh_from_db()
        if generation.status != "succeeded":
            cycle_generate_execute(run_id=generation.pk)
        cycle.refresh_from_db()
    if cycle.state == Cycle.State.DRAFT and cycle.planned_count:
        cycle = cycle_submit(cycle=cycle, user=officer)
    if cycle.state == Cycle.State.TO_APPROVE:
        cycle = cycle_approve(cycle=cycle, user=approver)
    entitlements = Entitlement.objects.filter(cycle=cycle, status="approved").count()
    plan = DistributionPlan.objects.filter(cycle=cycle, status="succeeded").order_by("-id").first()
    if plan is None and entitlements:
        plan = plan_start(user=logistics, cycle=cycle, exposure_run=run, days=3)
        plan.refresh_from_db()
        if plan.status != "succeeded":
            plan = plan_execute(plan_id=plan.pk)
    return {"program": program.code, "cycle": cycle.state, "entitlements": entitlements, "plan": plan and plan.pk}
