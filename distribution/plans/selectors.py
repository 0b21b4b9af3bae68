"""Reads of distribution plans, scoped to the user's areas: households by their area, points, quantities and
shipments by the point's area. Exact household locations only for holders of registry.view_personal_data."""

from __future__ import annotations

import json

from django.db import connection
from django.db.models import Count, QuerySet
from psycopg import sql

from distribution.plans.models import DistributionPlan, PlanAssignment, PlanItem, PlanPoint, PlanTransport
from geo.selectors import scope_area_ids, scope_queryset, user_area_ids
from programs.selectors import cycle_list

PERSONAL = "registry.view_personal_data"


def plan_list(*, user, cycle_id: int | None = None) -> QuerySet[DistributionPlan]:
    """Plans of the cycles the user may see (those of programs inside the user's areas)."""
    queryset = DistributionPlan.objects.select_related("network").filter(cycle__in=cycle_list(user=user).values("id"))
    if cycle_id is not None:
        queryset = queryset.filter(cycle_id=cycle_id)
    return queryset


def plannable_cycle_list(*, user) -> list[dict]:
    """Approved cycles with approved in-kind entitlements, of programs inside the user's areas: what a plan can be
    made for (the logistics officer does not otherwise read programs' cycles)."""
    from django.db.models import Q

    from distribution.plans.services import PLANNABLE_STATES

    rows = (
        cycle_list(user=user)
        .filter(state__in=PLANNABLE_STATES)
        .annotate(
            in_kind=Count("entitlements", filter=Q(entitlements__kind="in_kind", entitlements__status="approved"))
        )
        .filter(in_kind__gt=0)
        .order_by("-starts_on", "id")
    )
    return [
        {
            "id": cycle.pk,
            "name": cycle.name,
            "program": cycle.program_id,
            "program_name": cycle.program.name,
            "state": cycle.state,
            "starts_on": cycle.starts_on,
            "ends_on": cycle.ends_on,
            "exposure_run": cycle.exposure_run_id,
            "in_kind_entitlements": cycle.in_kind,
        }
        for cycle in rows
    ]


def plan_assignment_list(
    *, user, plan: DistributionPlan, point_id: int | None = None, unreachable: bool | None = None
) -> QuerySet[PlanAssignment]:
    queryset = PlanAssignment.objects.filter(plan=plan).select_related("point", "area").order_by("household_id")
    if point_id is not None:
        queryset = queryset.filter(point_id=point_id)
    if unreachable is not None:
        queryset = queryset.filter(point__isnull=unreachable)
    return scope_queryset(queryset, user)


def plan_point_list(*, user, plan: DistributionPlan) -> QuerySet[PlanPoint]:
    return scope_queryset(
        PlanPoint.objects.filter(plan=plan).select_related("point", "area").order_by("point__code"), user
    )


def plan_item_list(*, user, plan: DistributionPlan, shortfall_only: bool = False) -> QuerySet[PlanItem]:
    queryset = PlanItem.objects.filter(plan=plan).select_related("point").order_by("point__code", "item")
    if shortfall_only:
        queryset = queryset.filter(shortfall__gt=0)
    return scope_queryset(queryset, user, area_field="point__area")


def plan_transport_list(*, user, plan: DistributionPlan) -> QuerySet[PlanTransport]:
    queryset = PlanTransport.objects.filter(plan=plan).select_related("warehouse", "point")
    return scope_queryset(queryset.order_by("warehouse__code", "point__code"), user, area_field="point__area")


def plan_unreachable_summary(*, user, plan: DistributionPlan) -> list[dict]:
    """Unreachable households counted per area and reason (what everyone may see)."""
    rows = (
        plan_assignment_list(user=user, plan=plan, unreachable=True)
        .order_by()
        .values("area__code", "area__name", "reason")
        .annotate(households=Count("id"))
        .order_by("area__code", "reason")
    )
    return [
        {
            "area_code": r["area__code"],
            "area_name": r["area__name"],
            "reason": r["reason"],
            "households": r["households"],
        }
        for r in rows
    ]


def _area_filter(user, alias: str) -> sql.Composable:
    """A SQL condition restricting `alias`.area_id to the user's areas (true for national users)."""
    ids = user_area_ids(user)
    if ids is None:
        return sql.SQL("true")
    return sql.SQL("{}.area_id = ANY({}::bigint[])").format(
        sql.Identifier(alias), sql.Literal(scope_area_ids(user, ids) or [0])
    )


def _render(statement: str, **parts: sql.Composable) -> str:
    """The statement with its composed parts (conditions) rendered by psycopg; values stay %s parameters."""
    return sql.SQL(statement).format(**parts).as_string(connection.connection)


def plan_diff_summary(old_id: int, new_id: int) -> dict:
    """Counts of what changed from plan `old_id` to `new_id` (unscoped: stored in the new plan's result)."""
    return _diff_counts(old_id, new_id, sql.SQL("true"))


def _diff_counts(old_id: int, new_id: int, condition: sql.Composable) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            _render(
                """SELECT count(*) FILTER (WHERE o.household_id IS NULL),
                       count(*) FILTER (WHERE n.household_id IS NULL),
                       count(*) FILTER (WHERE o.point_id <> n.point_id),
                       count(*) FILTER (WHERE o.point_id IS NOT NULL AND n.household_id IS NOT NULL
                                        AND n.point_id IS NULL),
                       count(*) FILTER (WHERE o.point_id IS NULL AND o.household_id IS NOT NULL
                                        AND n.point_id IS NOT NULL)
                FROM (SELECT * FROM distribution_planassignment a WHERE a.plan_id = %s AND {condition}) o
                FULL JOIN (SELECT * FROM distribution_planassignment a WHERE a.plan_id = %s AND {condition}) n
                  ON n.household_id = o.household_id""",
                condition=condition,
            ),
            [old_id, new_id],
        )
        joined, left, changed, lost, gained = cursor.fetchone()
    return {
        "joined": joined,
        "left": left,
        "changed_point": changed,
        "became_unreachable": lost,
        "became_reachable": gained,
    }


def plan_diff(*, user, plan: DistributionPlan, against: DistributionPlan, limit: int = 1000) -> dict:
    """What changed from `against` (the older plan) to `plan`: counts, households that joined, left or changed
    point (up to `limit`, in the user's areas), and quantity deltas per point and item."""
    condition = _area_filter(user, "a")
    counts = _diff_counts(against.pk, plan.pk, condition)
    with connection.cursor() as cursor:
        cursor.execute(
            _render(
                """SELECT coalesce(n.household_id, o.household_id),
                       CASE WHEN o.household_id IS NULL THEN 'joined' WHEN n.household_id IS NULL THEN 'left'
                            WHEN n.point_id IS NULL THEN 'became_unreachable'
                            WHEN o.point_id IS NULL THEN 'became_reachable' ELSE 'changed_point' END,
                       op.code, np.code, n.reason
                FROM (SELECT * FROM distribution_planassignment a WHERE a.plan_id = %s AND {condition}) o
                FULL JOIN (SELECT * FROM distribution_planassignment a WHERE a.plan_id = %s AND {condition}) n
                  ON n.household_id = o.household_id
                LEFT JOIN distribution_distributionpoint op ON op.id = o.point_id
                LEFT JOIN distribution_distributionpoint np ON np.id = n.point_id
                WHERE o.household_id IS NULL OR n.household_id IS NULL OR o.point_id IS DISTINCT FROM n.point_id
                ORDER BY 1 LIMIT %s""",
                condition=condition,
            ),
            [against.pk, plan.pk, limit],
        )
        households = [
            {"household": h, "change": change, "from_point": old, "to_point": new, "reason": reason or ""}
            for h, change, old, new, reason in cursor.fetchall()
        ]
        point_condition = _area_filter(user, "p")
        cursor.execute(
            _render(
                """SELECT p.code, coalesce(n.item, o.item), coalesce(n.unit, o.unit),
                       coalesce(o.quantity, 0), coalesce(n.quantity, 0)
                FROM (SELECT * FROM distribution_planitem WHERE plan_id = %s) o
                FULL JOIN (SELECT * FROM distribution_planitem WHERE plan_id = %s) n
                  ON n.point_id = o.point_id AND n.item = o.item
                JOIN distribution_distributionpoint p ON p.id = coalesce(n.point_id, o.point_id)
                WHERE {condition} AND coalesce(o.quantity, 0) <> coalesce(n.quantity, 0)
                ORDER BY 1, 2""",
                condition=point_condition,
            ),
            [against.pk, plan.pk],
        )
        quantities = [
            {"point": code, "item": item, "unit": unit, "before": str(old), "after": str(new), "delta": str(new - old)}
            for code, item, unit, old, new in cursor.fetchall()
        ]
    return {"plan": plan.pk, "against": against.pk, **counts, "households": households, "quantities": quantities}


def plan_map(*, user, plan: DistributionPlan) -> dict:
    """GeoJSON for the map: the plan's points (usable or not, with their loads), each usable point's catchment
    (the convex hull of the road vertices its households were snapped to: streets, not houses), and unreachable
    households (exact places with the personal-data permission, else counted per area at the area's centre)."""
    condition = _area_filter(user, "pp")
    personal = user.has_perm(PERSONAL)
    with connection.cursor() as cursor:
        cursor.execute(
            _render(
                """SELECT json_build_object(
                     'type', 'Feature', 'geometry', ST_AsGeoJSON(p.location, 6)::json,
                     'properties', json_build_object(
                         'layer', 'point', 'point', p.id, 'code', p.code, 'name', p.name, 'usable', pp.usable,
                         'reason', pp.reason, 'capacity', pp.capacity, 'households', pp.households,
                         'mean_travel_s', pp.mean_travel_s, 'max_travel_s', pp.max_travel_s))
                FROM distribution_planpoint pp JOIN distribution_distributionpoint p ON p.id = pp.point_id
                WHERE pp.plan_id = %s AND {condition} ORDER BY p.code""",
                condition=condition,
            ),
            [plan.pk],
        )
        features = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            _render(
                """SELECT json_build_object(
                     'type', 'Feature',
                     'geometry', ST_AsGeoJSON(ST_ConvexHull(ST_Collect(v.geom)), 6)::json,
                     'properties', json_build_object('layer', 'catchment', 'point', pp.point_id, 'code', p.code,
                                                     'households', pp.households))
                FROM distribution_planpoint pp
                JOIN distribution_distributionpoint p ON p.id = pp.point_id
                JOIN (SELECT DISTINCT point_id, vertex FROM distribution_planassignment
                      WHERE plan_id = %s AND point_id IS NOT NULL) a ON a.point_id = pp.point_id
                JOIN distribution_roadvertex v ON v.id = a.vertex
                WHERE pp.plan_id = %s AND {condition}
                GROUP BY pp.point_id, p.code, pp.households ORDER BY p.code""",
                condition=condition,
            ),
            [plan.pk, plan.pk],
        )
        features += [row[0] for row in cursor.fetchall()]
        household_condition = _area_filter(user, "a")
        if personal:
            cursor.execute(
                _render(
                    """SELECT json_build_object(
                         'type', 'Feature', 'geometry', ST_AsGeoJSON(h.location, 6)::json,
                         'properties', json_build_object('layer', 'unreachable', 'household', a.household_id,
                                                         'reason', a.reason))
                    FROM distribution_planassignment a JOIN registry_household h ON h.id = a.household_id
                    WHERE a.plan_id = %s AND a.point_id IS NULL AND h.location IS NOT NULL
                      AND {condition}
                    ORDER BY a.household_id LIMIT 10000""",
                    condition=household_condition,
                ),
                [plan.pk],
            )
        else:
            cursor.execute(
                _render(
                    """SELECT json_build_object(
                         'type', 'Feature', 'geometry', ST_AsGeoJSON(ST_PointOnSurface(g.geom), 6)::json,
                         'properties', json_build_object('layer', 'unreachable', 'area', g.code,
                                                         'households', count(*)))
                    FROM distribution_planassignment a JOIN geo_area g ON g.id = a.area_id
                    WHERE a.plan_id = %s AND a.point_id IS NULL AND {condition}
                    GROUP BY g.id, g.code, g.geom ORDER BY g.code""",
                    condition=household_condition,
                ),
                [plan.pk],
            )
        features += [row[0] for row in cursor.fetchall()]
    features = [json.loads(f) if isinstance(f, str) else f for f in features]
    return {"type": "FeatureCollection", "features": features}


def plan_closed_roads(*, plan: DistributionPlan, limit: int = 20000) -> dict:
    """GeoJSON of the road segments the plan's analysis closed (bridges and viaducts above the flood stay open):
    the same closures the assignments were computed with."""
    from distribution.roads.graph import closed_edge_ids, closure_zone_ids

    zones = closure_zone_ids(exposure_run_id=plan.exposure_run_id) if plan.exposure_run_id else []
    closed = closed_edge_ids(plan.network_id, zones)[:limit]
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT json_build_object(
                     'type', 'Feature', 'geometry', ST_AsGeoJSON(e.geom, 6)::json,
                     'properties', json_build_object('layer', 'closed_road', 'edge', e.id, 'name', e.name,
                                                     'highway', e.highway))
               FROM distribution_roadedge e WHERE e.id = ANY(%s::bigint[]) ORDER BY e.id""",
            [closed],
        )
        features = [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in cursor.fetchall()]
    return {"type": "FeatureCollection", "features": features}
