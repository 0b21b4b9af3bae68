"""What each point needs, what stock covers it, and which warehouse sends what: the plan's supply side.

Needs come from the entitlement items of the households each point serves, summed in SQL per (point, item, unit)
and converted to the item's base unit through the stock catalogue (a handful of rows, not households). What a point
already holds is subtracted; the rest is a min-cost transport problem (OR-Tools min cost flow, one per item) from the
usable warehouses' stock to the points, on road travel time with the plan's closures. What no warehouse can send is
the shortfall. Shipments are summed per (warehouse, point) into truck loads by the items' weights.
"""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from ortools.graph.python import min_cost_flow

from distribution.plans import stock_link
from distribution.plans.models import DistributionPlan, PlanItem, PlanTransport

# Quantities go to the solver as integers in thousandths of a base unit (the ledger's precision).
SCALE = 1000
THOUSANDTH = Decimal("0.001")


def _needs(plan: DistributionPlan) -> dict[tuple[int, str], tuple[Decimal, str]]:
    """{(point, item): (quantity in base unit, base unit)} of the assigned households' entitlement items."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.point_id, i.item, i.unit, sum(i.quantity)
               FROM plan_catchment c
               JOIN plan_entitled e USING (household_id)
               JOIN programs_entitlementitem i ON i.entitlement_id = e.entitlement_id
               WHERE c.point_id IS NOT NULL
               GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
        )
        rows = cursor.fetchall()
    needs: dict[tuple[int, str], tuple[Decimal, str]] = {}
    for point_id, item, unit, quantity in rows:
        try:
            base, base_unit = stock_link.to_base(item, quantity, unit)
        except ValidationError as error:
            raise ValidationError(
                {"items": f"Entitlement item {item!r} in {unit!r}: {' '.join(error.messages)}"}
            ) from None
        held, _ = needs.get((point_id, item), (Decimal(0), base_unit))
        needs[(point_id, item)] = (held + base, base_unit)
    return needs


def _usable_warehouses(plan: DistributionPlan) -> dict[int, int]:
    """{warehouse: vertex} of warehouses not flagged by the run and within the snap distance of an open road."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT w.id, s.id FROM distribution_warehouse w
               CROSS JOIN LATERAL (SELECT v.id, v.geom FROM plan_open_vertices v
                                   ORDER BY v.geom <-> w.location LIMIT 1) s
               WHERE NOT EXISTS (SELECT 1 FROM distribution_facilityexposure f
                                 WHERE f.warehouse_id = w.id AND f.run_id IS NOT DISTINCT FROM %s)
                 AND ST_DistanceSphere(w.location, s.geom) <= %s""",
            [plan.exposure_run_id, plan.max_snap_m],
        )
        return dict(cursor.fetchall())


def _travel_times(warehouses: dict[int, int], points: dict[int, int]) -> dict[tuple[int, int], float]:
    """{(warehouse, point): seconds} on the open edges (closures applied), trucks going warehouse → point."""
    if not warehouses or not points:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT start_vid, end_vid, agg_cost
               FROM pgr_dijkstraCost('SELECT id, source, target, cost, reverse_cost FROM plan_open_edges',
                                     %s::bigint[], %s::bigint[], directed => true)""",
            [sorted(set(warehouses.values())), sorted(set(points.values()))],
        )
        cost = {(a, b): c for a, b, c in cursor.fetchall()}
    times = {}
    for warehouse, wv in warehouses.items():
        for point, pv in points.items():
            seconds = 0.0 if wv == pv else cost.get((wv, pv))
            if seconds is not None:
                times[(warehouse, point)] = seconds
    return times


def _solve(
    supply: dict[int, int], demand: dict[int, int], times: dict[tuple[int, int], float]
) -> dict[tuple[int, int], int]:
    """Min-cost flow of one item: {(warehouse, point): quantity} moving as much as the stock allows, cheapest in
    travel time; what cannot move (no stock, or no open road) stays unmet."""
    solver = min_cost_flow.SimpleMinCostFlow()
    warehouses, points = sorted(supply), sorted(demand)
    node = {("w", w): n for n, w in enumerate(warehouses)}
    node.update({("p", p): len(warehouses) + n for n, p in enumerate(points)})
    arcs = []
    for (warehouse, point), seconds in times.items():
        if warehouse in supply and point in demand and supply[warehouse] > 0 and demand[point] > 0:
            arc = solver.add_arc_with_capacity_and_unit_cost(
                node[("w", warehouse)], node[("p", point)], min(supply[warehouse], demand[point]), round(seconds)
            )
            arcs.append((arc, warehouse, point))
    if not arcs:
        return {}
    for warehouse in warehouses:
        solver.set_node_supply(node[("w", warehouse)], supply[warehouse])
    for point in points:
        solver.set_node_supply(node[("p", point)], -demand[point])
    status = solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise ValidationError({"transport": f"The transport problem could not be solved ({status})."})
    return {(w, p): solver.flow(arc) for arc, w, p in arcs if solver.flow(arc) > 0}


def plan_supply(plan: DistributionPlan) -> dict:
    """Write the plan's PlanItem and PlanTransport rows; returns the totals for the plan's result."""
    needs = _needs(plan)
    items = sorted({item for _, item in needs})
    points = {point for point, _ in needs}
    with connection.cursor() as cursor:
        cursor.execute("SELECT point_id, vertex FROM plan_point_state WHERE vertex IS NOT NULL")
        point_vertex = {p: v for p, v in cursor.fetchall() if p in points}
    warehouses = _usable_warehouses(plan)
    # Lots that expire before the distribution starts cannot be handed out: they do not count.
    first_day = plan.cycle.starts_on
    at_points = stock_link.on_hand(points=sorted(points), items=items, usable_on=first_day)
    in_warehouses = stock_link.on_hand(warehouses=sorted(warehouses), items=items, usable_on=first_day)
    weights = stock_link.weights_kg(items)
    times = _travel_times(warehouses, point_vertex)

    flows: dict[str, dict[tuple[int, int], int]] = {}
    lines = []
    for item in items:
        demand = {}
        for (point, needed_item), (quantity, _) in needs.items():
            if needed_item == item:
                missing = quantity - min(quantity, at_points.get((point, item), Decimal(0)))
                demand[point] = int(missing * SCALE)
        supply = {w: int(in_warehouses.get((w, item), Decimal(0)) * SCALE) for w in warehouses}
        flows[item] = _solve(supply, {p: d for p, d in demand.items() if d > 0}, times)
    for (point, item), (quantity, unit) in sorted(needs.items()):
        held = min(quantity, at_points.get((point, item), Decimal(0)))
        sent = Decimal(sum(q for (w, p), q in flows[item].items() if p == point)) / SCALE
        weight = weights.get(item)
        lines.append(
            PlanItem(
                plan=plan,
                point_id=point,
                item=item,
                unit=unit,
                quantity=quantity,
                on_hand=held,
                from_warehouses=sent.quantize(THOUSANDTH),
                shortfall=max(quantity - held - sent, Decimal(0)).quantize(THOUSANDTH),
                weight_kg=(quantity * weight).quantize(THOUSANDTH) if weight is not None else None,
            )
        )
    PlanItem.objects.bulk_create(lines)

    shipments: dict[tuple[int, int], list] = defaultdict(list)
    for item, flow in flows.items():
        for (warehouse, point), scaled in flow.items():
            shipments[(warehouse, point)].append((item, Decimal(scaled) / SCALE))
    transports = []
    capacity = Decimal(plan.truck_capacity_kg)
    for (warehouse, point), sent in sorted(shipments.items()):
        weight = sum((q * (weights.get(item) or 0) for item, q in sent), Decimal(0))
        transports.append(
            PlanTransport(
                plan=plan,
                warehouse_id=warehouse,
                point_id=point,
                travel_s=times[(warehouse, point)],
                weight_kg=weight.quantize(THOUSANDTH),
                trucks=max(1, math.ceil(weight / capacity)),
                items=[
                    {"item": item, "quantity": str(q.quantize(THOUSANDTH)), "unit": needs[(point, item)][1]}
                    for item, q in sent
                ],
            )
        )
    PlanTransport.objects.bulk_create(transports)
    return {
        "item_lines": len(lines),
        "shortfall_lines": sum(1 for line in lines if line.shortfall > 0),
        "transport_lines": len(transports),
        "trucks": sum(t.trucks for t in transports),
        "usable_warehouses": len(warehouses),
    }
