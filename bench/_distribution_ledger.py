"""Stock ledger throughput with every guard on: movement lines inserted set-based into distribution_stockmovement
(its CHECKs, foreign keys, indexes, the partial unique index on reversals, and the statement trigger that upserts
the balances, checks reversals and warehouse capacity and refuses negative stock), against the same rows inserted
into a bare copy of the table (no constraints, no indexes, no triggers) in the same run. Plus the service path one
call at a time (stock_issue, each its own transaction, FEFO lock included), for scale.

`measure_ledger(movements=200_000, batch=1_000, service_calls=2_000) -> {"movements_per_s", "bare_inserts_per_s",
"ledger_vs_bare", "issues_per_s"}`. Data (printed): 8 items, 20 warehouses (capacity set, so the capacity check
runs), 200 distribution points, 3 lots per item; a third of the lines are receipts into warehouses, a third
dispatches (out of a warehouse, into a point, in pairs), a third distributions at points (-1 each), so every
statement touches balances in both directions and none goes negative.

    DJANGO_SETTINGS_MODULE=spmis.settings.test .venv/bin/python bench/_distribution_ledger.py --movements 200000
"""

from __future__ import annotations

import argparse
import time

ITEMS, WAREHOUSES, POINTS, LOTS = 8, 20, 200, 3

# One statement of `batch` lines, numbered from %(start)s: kind by position in a block of six (receipt x2, dispatch
# out/in, distribution x2), location, item and lot from the block number. Receipts go in at one warehouse and the
# dispatch leaves another, distributions leave other points than the dispatch reached, so each statement both
# upserts balances (stock in) and updates them down under the CHECK (stock out) — on stock put in before timing.
BATCH_SQL = """
INSERT INTO {table} (kind, warehouse_id, point_id, item_id, lot_id, quantity, reference, reason, occurred_on,
                     recorded_at, document_id, reverses_id, created_by_id)
SELECT CASE g %% 6 WHEN 0 THEN 'receipt' WHEN 1 THEN 'receipt' WHEN 2 THEN 'dispatch_out' WHEN 3 THEN 'dispatch_in'
                  WHEN 4 THEN 'distribution' ELSE 'distribution' END,
       CASE WHEN g %% 6 IN (0, 1) THEN w.ids[1 + (g / 6) %% %(warehouses)s]
            WHEN g %% 6 = 2 THEN w.ids[1 + (g / 6 * 3 + 1) %% %(warehouses)s] END,
       CASE WHEN g %% 6 = 3 THEN p.ids[1 + (g / 6) %% %(points)s]
            WHEN g %% 6 IN (4, 5) THEN p.ids[1 + (g / 6 * 7 + 3) %% %(points)s] END,
       i.ids[1 + (g / 6) %% %(items)s],
       l.ids[1 + ((g / 6) %% %(items)s) * %(lots)s + (g / 6 / %(items)s) %% %(lots)s],
       CASE g %% 6 WHEN 0 THEN 10 WHEN 1 THEN 10 WHEN 2 THEN -2 WHEN 3 THEN 2 ELSE -1 END,
       'bench', '', current_date, now(), NULL, NULL, NULL
  FROM generate_series(%(start)s, %(start)s + %(batch)s - 1) g,
       (SELECT array_agg(id ORDER BY id) ids FROM distribution_warehouse WHERE code LIKE 'BL-%%') w,
       (SELECT array_agg(id ORDER BY id) ids FROM distribution_distributionpoint WHERE code LIKE 'BL-%%') p,
       (SELECT array_agg(id ORDER BY id) ids FROM distribution_stockitem WHERE code LIKE 'bl-%%') i,
       (SELECT array_agg(l.id ORDER BY s.id, l.id) ids FROM distribution_stocklot l
          JOIN distribution_stockitem s ON s.id = l.item_id WHERE s.code LIKE 'bl-%%') l
"""


def _world():
    from django.contrib.gis.geos import Point

    from distribution.models import DistributionPoint, Warehouse
    from distribution.stock.models import StockItem, StockLot

    items = [StockItem.objects.create(code=f"bl-{n}", name=f"Bench item {n}", base_unit="kg", weight_kg="0.001")
             for n in range(ITEMS)]  # fmt: skip
    for item in items:
        StockLot.objects.bulk_create([StockLot(item=item, code=f"L{n}", expires_on=None) for n in range(LOTS)])
    Warehouse.objects.bulk_create(
        [
            Warehouse(code=f"BL-W{n}", name=f"Bench W{n}", location=Point(90.4, 23.7), capacity_tonnes=100000)
            for n in range(WAREHOUSES)
        ]
    )
    DistributionPoint.objects.bulk_create(
        [DistributionPoint(code=f"BL-P{n}", name=f"Bench P{n}", location=Point(90.4, 23.7)) for n in range(POINTS)]
    )
    return items


PRESTOCK_SQL = """
INSERT INTO distribution_stockmovement (kind, warehouse_id, point_id, item_id, lot_id, quantity, reference, reason,
                                        occurred_on, recorded_at)
SELECT 'return', place.w, place.p, l.item_id, l.id, 1000000, 'bench opening', '', current_date, now()
  FROM (SELECT id AS w, NULL::bigint AS p FROM distribution_warehouse WHERE code LIKE 'BL-%%'
        UNION ALL SELECT NULL, id FROM distribution_distributionpoint WHERE code LIKE 'BL-%%') place,
       distribution_stocklot l JOIN distribution_stockitem s ON s.id = l.item_id AND s.code LIKE 'bl-%%'
"""


def _run(table: str, movements: int, batch: int) -> float:
    from django.db import connection
    from psycopg import sql

    statement = sql.SQL(BATCH_SQL).format(table=sql.Identifier(table)).as_string(connection.connection)
    params = {"warehouses": WAREHOUSES, "points": POINTS, "items": ITEMS, "lots": LOTS, "batch": batch}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for start in range(0, movements, batch):
            # Each statement commits on its own (autocommit): one ledger transaction per batch of lines.
            cursor.execute(statement, {**params, "start": start})
    return time.perf_counter() - started


def measure_ledger(movements: int = 200_000, batch: int = 1_000, service_calls: int = 2_000) -> dict:
    from decimal import Decimal

    from django.db import connection

    from distribution.models import DistributionPoint
    from distribution.stock import services
    from distribution.stock.models import StockBalance, StockMovement

    batch = max(6, batch - batch % 6)
    movements = max(1, movements // batch) * batch
    _world()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_movement")
        cursor.execute("CREATE TABLE bench_bare_movement AS SELECT * FROM distribution_stockmovement WITH NO DATA")
        cursor.execute(
            "ALTER TABLE bench_bare_movement ALTER id SET NOT NULL, ALTER id ADD GENERATED BY DEFAULT AS IDENTITY"
        )
    print(f"ledger bench: {movements:,} movement lines in statements of {batch:,}; {ITEMS} items x {LOTS} lots, "
          f"{WAREHOUSES} warehouses, {POINTS} points; {service_calls:,} stock_issue calls")  # fmt: skip

    with connection.cursor() as cursor:
        cursor.execute(PRESTOCK_SQL)
        opening = cursor.rowcount
    print(f"opening stock (not timed): {opening:,} lines, one per location, item and lot")
    bare_s = _run("bench_bare_movement", movements, batch)
    ledger_s = _run("distribution_stockmovement", movements, batch)

    # The ledger agrees with itself: every balance is its lines' sum, none negative.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT coalesce(warehouse_id, 0) w, coalesce(point_id, 0) p, item_id i,"
            " coalesce(lot_id, 0) l, sum(quantity) q FROM distribution_stockmovement GROUP BY 1, 2, 3, 4) m"
            " FULL JOIN (SELECT coalesce(warehouse_id, 0) w, coalesce(point_id, 0) p, item_id i, coalesce(lot_id, 0) l,"
            " on_hand FROM distribution_stockbalance) b USING (w, p, i, l) WHERE b.on_hand IS DISTINCT FROM m.q"
        )
        mismatched = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_bare_movement")
    assert mismatched == 0, f"{mismatched} balances differ from their lines"
    assert StockMovement.objects.count() == movements + opening
    assert not StockBalance.objects.filter(on_hand__lt=0).exists()

    point = DistributionPoint.objects.filter(code="BL-P0").get()
    item = "bl-0"
    started = time.perf_counter()
    for n in range(service_calls):
        services.stock_issue(point_id=point.pk, item_code=item, quantity=Decimal("0.001"), unit="kg",
                             reference=f"bench-{n}")  # fmt: skip
    issue_s = time.perf_counter() - started
    result = {
        "movements_per_s": round(movements / ledger_s),
        "bare_inserts_per_s": round(movements / bare_s),
        "ledger_vs_bare": round(ledger_s / bare_s, 2),
        "issues_per_s": round(service_calls / issue_s),
    }
    print(f"ledger {ledger_s:.2f} s, bare {bare_s:.2f} s, {service_calls} issues {issue_s:.2f} s -> {result}")
    return result


if __name__ == "__main__":
    from _harness import bench_database, peak_rss_mb, result_line

    parser = argparse.ArgumentParser()
    parser.add_argument("--movements", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--service-calls", type=int, default=2_000)
    args = parser.parse_args()
    with bench_database("distribution_ledger"):
        values = measure_ledger(args.movements, args.batch, args.service_calls)
        result_line("distribution_ledger", **values, peak_rss_mb=round(peak_rss_mb()))
