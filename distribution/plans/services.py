"""Writes for distribution plans: start a plan (a job row) and build it.

Building is set-based: the entitled households go into a temporary table, distribution.plans.catchments assigns
them by road time with the closures of the plan's analysis, and the plan's rows are written with INSERT … SELECT.
Python only handles what is per point or per item (a few hundred rows): unit conversion, stock, the transport
problem.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count

from distribution.models import RoadNetwork
from distribution.plans import catchments, supply
from distribution.plans.models import DistributionPlan, PlanAssignment
from distribution.roads.graph import closure_zone_ids
from programs.models import Cycle, Entitlement
from response.models import ExposureRun
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit

PLANNABLE_STATES = (Cycle.State.APPROVED, Cycle.State.DISTRIBUTED)

# The sentences behind catchments' reason codes; {area} is the household's area, {point} its nearest point's code.
REASONS = {
    "no_location": "no location recorded for the household",
    catchments.NO_ROAD: "no road within {snap} m of the household",
    catchments.ROAD_CLOSED: "every road within {snap} m of the household is closed by the flood",
    catchments.CUT_OFF: "every road to {area} crosses the flood",
    catchments.NOT_CONNECTED: "no usable distribution point is connected by road to {area}",
    catchments.FULL: "nearest usable point {point} full, and every other point it can reach too",
    catchments.NO_POINT: (
        "no usable distribution point: every point is inside the hazard zone, off the road network or without capacity"
    ),
}


def _default_network() -> RoadNetwork:
    ready = RoadNetwork.objects.filter(status=RoadNetwork.Status.READY)
    network = ready.filter(is_default=True).first()
    if network is None and ready.count() == 1:
        network = ready.get()
    if network is None:
        raise ValidationError({"network": "Name the road network to plan on (none is the default)."})
    return network


def plan_start(
    *,
    user,
    cycle: Cycle,
    exposure_run: ExposureRun | None = None,
    network: RoadNetwork | None = None,
    days: int = 1,
    truck_capacity_kg: Decimal = Decimal("10000"),
    max_snap_m: int = 1000,
) -> DistributionPlan:
    """Validate and queue a plan of the cycle's approved in-kind entitlements; returns the pending job row. Without
    an exposure run the cycle's own (if any) decides which roads are closed and which facilities are unusable."""
    if cycle.state not in PLANNABLE_STATES:
        raise ValidationError(
            {"cycle": f"The cycle is {cycle.get_state_display()}: a distribution is planned for an approved cycle."}
        )
    if not Entitlement.objects.filter(cycle=cycle, kind=Entitlement.Kind.IN_KIND, status="approved").exists():
        raise ValidationError({"cycle": "The cycle has no approved in-kind entitlements to distribute."})
    run = exposure_run or cycle.exposure_run
    if run is not None and run.status != ExposureRun.Status.SUCCEEDED:
        raise ValidationError({"exposure_run": f"Exposure run {run.pk} has not succeeded ({run.status})."})
    network = network or _default_network()
    if network.status != RoadNetwork.Status.READY:
        raise ValidationError({"network": f"Road network {network.code} is not ready ({network.status})."})
    previous = (
        DistributionPlan.objects.filter(cycle=cycle, status=DistributionPlan.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .first()
    )
    with transaction.atomic(durable=True):
        plan = DistributionPlan.objects.create(
            cycle=cycle,
            exposure_run=run,
            network=network,
            previous=previous,
            days=days,
            truck_capacity_kg=truck_capacity_kg,
            max_snap_m=max_snap_m,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            parameters={"cycle": cycle.pk, "exposure_run": run.pk if run else None, "network": network.pk},
        )
        enqueue_on_commit("distribution.plan_build", plan.pk)
    return plan


def plan_execute(*, plan_id: int) -> DistributionPlan:
    """Build the plan (run by the task): assignments, per-point totals, stock shortfalls and transport lines."""

    def work(plan: DistributionPlan, progress) -> JobOutcome:
        progress(5, "Collecting the approved in-kind entitlements")
        zones = closure_zone_ids(exposure_run_id=plan.exposure_run_id) if plan.exposure_run_id else []
        entitled = _load_entitled(plan)
        if not entitled:
            raise ValidationError({"cycle": "The cycle has no approved in-kind entitlements to distribute."})
        _load_points(plan)
        counts = catchments.assign_catchments(
            network_id=plan.network_id, zone_ids=zones, max_snap_m=float(plan.max_snap_m), progress=progress
        )
        progress(80, "Writing the assignments")
        _write_assignments(plan)
        _write_points(plan)
        progress(88, "Quantities, stock and transport")
        totals = supply.plan_supply(plan)
        result = {
            "households": entitled,
            "assigned": counts["assigned"],
            "unreachable": entitled - counts["assigned"],
            "rounds": counts["rounds"],
            "closure_zones": len(zones),
            "open_edges": counts["open_edges"],
            "unreachable_by_reason": _reason_counts(plan),
            **totals,
        }
        if plan.previous_id:
            from distribution.plans.selectors import plan_diff_summary

            result["changes"] = plan_diff_summary(plan.previous_id, plan.pk)
        message = f"{counts['assigned']} of {entitled} households assigned"
        return JobOutcome(result=result, message=message)

    return run_job(DistributionPlan, plan_id, work, error_field="parameters")


def _load_entitled(plan: DistributionPlan) -> int:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS plan_entitled, plan_households")
        cursor.execute(
            """CREATE TEMP TABLE plan_entitled ON COMMIT DROP AS
               SELECT e.id AS entitlement_id, e.household_id, h.area_id, h.location AS geom, e.people
               FROM programs_entitlement e JOIN registry_household h ON h.id = e.household_id
               WHERE e.cycle_id = %s AND e.kind = 'in_kind' AND e.status = 'approved'""",
            [plan.cycle_id],
        )
        count = cursor.rowcount
        cursor.execute(
            """CREATE TEMP TABLE plan_households ON COMMIT DROP AS
               SELECT household_id, geom FROM plan_entitled WHERE geom IS NOT NULL"""
        )
    return count


def _load_points(plan: DistributionPlan) -> None:
    """Every point on the network's extent, with why it is unusable: inside a hazard zone of the run (the
    facility flags of distribution.exposure), or without capacity. plan_points holds the usable candidates."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS plan_point_all, plan_points")
        cursor.execute(
            """CREATE TEMP TABLE plan_point_all ON COMMIT DROP AS
               SELECT p.id AS point_id, p.location AS geom, p.area_id,
                      p.daily_capacity_households * %s AS capacity,
                      CASE WHEN f.id IS NOT NULL THEN 'inside hazard zone ' || z.name || ' of the analysis'
                           WHEN p.daily_capacity_households = 0 THEN 'no daily capacity'
                           ELSE '' END AS reason
               FROM distribution_distributionpoint p
               LEFT JOIN distribution_facilityexposure f ON f.distribution_point_id = p.id AND f.run_id = %s
               LEFT JOIN response_hazardzone z ON z.id = f.zone_id
               LEFT JOIN distribution_roadnetwork n ON n.id = %s
               WHERE n.extent IS NULL OR ST_Intersects(n.extent, p.location)""",
            [plan.days, plan.exposure_run_id, plan.network_id],
        )
        cursor.execute(
            """CREATE TEMP TABLE plan_points ON COMMIT DROP AS
               SELECT point_id, geom, capacity FROM plan_point_all WHERE reason = ''"""
        )


def _write_assignments(plan: DistributionPlan) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO distribution_planassignment
                   (plan_id, household_id, entitlement_id, area_id, point_id, vertex, snap_m, travel_s, reason)
               SELECT %(plan)s, e.household_id, e.entitlement_id, e.area_id, c.point_id,
                      c.vertex, c.snap_m, c.travel_s,
                      CASE WHEN c.point_id IS NOT NULL THEN ''
                           WHEN e.geom IS NULL THEN %(no_location)s
                           ELSE replace(replace(replace(
                                    CASE c.reason WHEN %(no_road)s THEN %(t_no_road)s
                                                  WHEN %(road_closed)s THEN %(t_road_closed)s
                                                  WHEN %(cut_off)s THEN %(t_cut_off)s
                                                  WHEN %(full)s THEN %(t_full)s
                                                  WHEN %(no_point)s THEN %(t_no_point)s
                                                  ELSE %(t_not_connected)s END,
                                    '{area}', coalesce(a.name, 'the household''s area')),
                                    '{point}', coalesce(p.code, '')),
                                    '{snap}', %(snap)s)
                      END
               FROM plan_entitled e
               LEFT JOIN plan_catchment c ON c.household_id = e.household_id
               LEFT JOIN geo_area a ON a.id = e.area_id
               LEFT JOIN distribution_distributionpoint p ON p.id = c.nearest_point_id""",
            {
                "plan": plan.pk,
                "no_location": REASONS["no_location"],
                "snap": str(plan.max_snap_m),
                **{code: code for code in REASONS if code != "no_location"},
                **{f"t_{code}": text for code, text in REASONS.items() if code != "no_location"},
            },
        )


def _write_points(plan: DistributionPlan) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO distribution_planpoint
                   (plan_id, point_id, area_id, usable, reason, vertex, capacity, households, people,
                    mean_travel_s, max_travel_s)
               SELECT %s, a.point_id, a.area_id,
                      a.reason = '' AND s.vertex IS NOT NULL,
                      CASE WHEN a.reason <> '' THEN a.reason
                           WHEN s.vertex IS NULL THEN 'no open road within ' || %s || ' m'
                           ELSE '' END,
                      s.vertex, a.capacity, coalesce(t.households, 0), coalesce(t.people, 0), t.mean_s, t.max_s
               FROM plan_point_all a
               LEFT JOIN plan_point_state s ON s.point_id = a.point_id
               LEFT JOIN (SELECT c.point_id, count(*) AS households, sum(e.people) AS people,
                                 avg(c.travel_s) AS mean_s, max(c.travel_s) AS max_s
                          FROM plan_catchment c JOIN plan_entitled e USING (household_id)
                          WHERE c.point_id IS NOT NULL GROUP BY c.point_id) t ON t.point_id = a.point_id""",
            [plan.pk, plan.max_snap_m],
        )


def _reason_counts(plan: DistributionPlan) -> dict[str, int]:
    rows = (
        PlanAssignment.objects.filter(plan=plan, point__isnull=True)
        .values_list("reason")
        .order_by("reason")
        .annotate(n=Count("id"))
    )
    return dict(rows)
