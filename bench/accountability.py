"""Accountability (issue 15): the program dashboard, the published indicators, the auditor's log pages and its
CSV export, on a registry and an audit log of some size.

    make bench-accountability                                          # 100,000 households, 1,000,000 audit rows
    make bench-accountability BENCH_ARGS="--households 20000 --audit 200000"   # a quick run

Data, written in SQL (not timed): a country of 64 districts (an 8 × 8 grid of squares); --households households
spread over them by id (located only to their district, no members); one flood incident and its finished analysis
in which 60 % of the households are affected; one program over every district with one approved cycle holding an
approved cash entitlement for half the households (every affected household with an even id and a few others); a
batch of one payment per entitlement, every payment sent, nine in ten then paid and one in ten failed (through the
payment ledger's events); and --audit synthetic audit rows (one second apart, 20 actors, 10 tables) on top of the
rows the database's triggers wrote for the load itself.

Measured (median of --repeat runs, in this process, selectors called as the API calls them):
- dashboard_s: the program's dashboard by district for a national user (accountability.selectors.dashboard), and
  dashboard_scoped_s for a user bound to one district; series_s: its 30 days by day;
- indicator_s: the published indicators by district (every registered indicator, small cells suppressed);
- audit_page_s: the slowest of three first pages of 50 rows (filtered by actor; by table and record; by a one-hour
  time range in the middle of the log), each as the API pages it (newest first, no count);
- csv_rows_per_s: the whole log exported as CSV (COPY, streamed) and counted as it arrives; csv_rss_mb: how much
  the process's peak memory grew meanwhile (constant memory means about nothing).

At 100,000 households and 1.1 million audit rows on 2 shared cores (2026-12-03): dashboard 1.1 s national (0.27 s
for one district), series 0.6 s, indicators 0.8 s, slowest audit page 0.2 s, CSV 120,000 rows/s with no growth in
memory. The dashboard's time is three grouped passes (affected with enrolled and entitled hash-joined, entitlements,
payments through programs.payments.selectors.balance_by_area), each ~0.3 s; the slowest audit page is the time
range in the middle of the log, which PostgreSQL reads by walking the primary key back from the newest row (the
BRIN index on `at` would need a sort); pages by actor or by record take milliseconds.
"""

from __future__ import annotations

import argparse
import datetime
import time

from _harness import bench_database, peak_rss_mb, result_line, timed

GRID = 8


def load(households: int, audit: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.gis.geos import MultiPolygon, Polygon
    from django.db import connection, transaction
    from django.utils import timezone
    from psycopg import sql

    from geo.models import Area, AreaScope
    from programs.models import Cycle, Program
    from programs.payments.models import FinancialServiceProvider, PaymentBatch
    from programs.payments.services.ledger import record_events
    from response.exposure import partition_attach, partition_create
    from response.models import ExposureRun, HazardClass, Incident

    start = time.perf_counter()
    users = get_user_model()
    admin = users.objects.create_superuser("bench-acc", "b@example.org", "bench-acc")
    approver = users.objects.create_superuser("bench-acc-2", "c@example.org", "bench-acc")
    country = Area.objects.create(
        code="BX", name="Benchland", level=0, geom=MultiPolygon(Polygon.from_bbox((88.0, 21.0, 92.0, 25.0)))
    )
    size = 4.0 / GRID
    districts = [
        Area.objects.create(
            code=f"BX-{row}{col}",
            name=f"District {row}{col}",
            level=1,
            parent=country,
            geom=MultiPolygon(
                Polygon.from_bbox((88 + col * size, 21 + row * size, 88 + (col + 1) * size, 21 + (row + 1) * size))
            ),
        )
        for row in range(GRID)
        for col in range(GRID)
    ]
    scoped = users.objects.create_user("bench-acc-district", "d@example.org", "bench-acc")
    AreaScope.objects.create(user=scoped).areas.set([districts[0]])
    incident = Incident.objects.create(name="Bench flood", hazard_type="flood", started_on=datetime.date(2026, 7, 1))
    run = ExposureRun.objects.create(incident=incident, status=ExposureRun.Status.SUCCEEDED)
    high = HazardClass.objects.get(incident=None, hazard_type="flood", key="high")
    program = Program.objects.create(name="Bench relief", currency="BDT")
    program.areas.add(*districts)
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        program=program,
        sequence=1,
        name="Bench cycle",
        starts_on=today - datetime.timedelta(days=10),
        ends_on=today + datetime.timedelta(days=20),
        state=Cycle.State.APPROVED,
        submitted_by=admin,
        approved_by=approver,
        exposure_run=run,
        incident=incident,
    )
    fsp = FinancialServiceProvider.objects.create(
        code="CITY", name="City Bank PLC", kind="bank", currency="BDT", bank_code="225", file_format="pain.001.001.09"
    )
    ids = [d.pk for d in districts]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO registry_household (kind, location_precision, address, registered_on, source, created_at,"
            " updated_at, area_id) SELECT 'household', 'area', '', current_date, 'bench:accountability', now(), now(),"
            " (%s::bigint[])[1 + g %% %s] FROM generate_series(1, %s) g",
            [ids, len(ids), households],
        )
        # Into the run's own table, attached afterwards (as the exposure engine writes it).
        partition = sql.Identifier(partition_create(cursor, run.pk))
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} (run_id, household_id, hazard_class_id, class_rank, area_id, approximate, reason)"
                " SELECT %s, h.id, %s, %s, h.area_id, true, 'bench' FROM registry_household h WHERE h.id %% 10 < 6"
            )
            .format(partition)
            .as_string(cursor.connection),
            [run.pk, high.pk, high.rank],
        )
        partition_attach(cursor, run.pk)
        cursor.execute(
            "INSERT INTO programs_entitlement (cycle_id, program_id, household_id, kind, amount, fee, currency,"
            " incident_id, people, flagged, flag_reason, valid_from, valid_until, status)"
            " SELECT %s, %s, h.id, 'cash', 3000, 0, 'BDT', %s, 0, false, '', %s, %s, 'approved'"
            " FROM registry_household h WHERE h.id %% 2 = 0",
            [cycle.pk, program.pk, incident.pk, cycle.starts_on, cycle.ends_on],
        )
    batch = PaymentBatch.objects.create(
        cycle=cycle, program=program, fsp=fsp, currency="BDT", execution_date=today, prepared_by=admin
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO programs_payment (batch_id, entitlement_id, household_id, amount, fee, currency, status,"
            " reason_code, reason, flagged, flag_reason) SELECT %s, e.id, e.household_id, e.amount, 0, 'BDT',"
            " 'pending', '', '', false, '' FROM programs_entitlement e WHERE e.cycle_id = %s",
            [batch.pk, cycle.pk],
        )
    with transaction.atomic():
        record_events(batch=batch, status="sent")
    with transaction.atomic():
        record_events(batch=batch, status="paid", where="id %% 10 <> 0")
        record_events(batch=batch, status="failed", where="id %% 10 = 0", reason="closed account")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO geo_auditevent (at, actor, source, table_name, row_id, action, before, after, transaction_id)"
            " SELECT now() - make_interval(secs => %s - g), 'user:officer' || (g %% 20), 'api',"
            " 'bench_table_' || (g %% 10), g / 10, CASE WHEN g %% 3 = 0 THEN 'insert' ELSE 'update' END,"
            " jsonb_build_object('status', 'draft', 'note', 'before ' || g),"
            " jsonb_build_object('status', 'approved', 'note', 'after ' || g), g FROM generate_series(1, %s) g",
            [audit, audit],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM geo_auditevent")
        logged = cursor.fetchone()[0]
    print(
        f"data: {households:,} households in {len(ids)} districts, {households * 6 // 10:,} affected, "
        f"{households // 2:,} entitlements and payments, {logged:,} audit rows, in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    return {"admin": admin, "scoped": scoped, "program": program, "cycle": cycle, "logged": logged}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with bench_database("accountability"):
        from accountability.api.audit import AuditPagination
        from accountability.selectors import audit, dashboard, indicators

        world = load(args.households, args.audit)
        admin, scoped = world["admin"], world["scoped"]

        def board(user):
            selection = dashboard.selection_for(user=user, program_id=world["program"].pk, level=1)
            return dashboard.dashboard(user=user, selection=selection)

        data = board(admin)
        totals = data["totals"]
        assert totals["affected"]["households"] == args.households * 6 // 10, totals["affected"]
        assert totals["payments"]["planned"]["count"] == args.households // 2, totals["payments"]
        dashboard_s = timed(lambda: board(admin), repeat=args.repeat)
        dashboard_scoped_s = timed(lambda: board(scoped), repeat=args.repeat)
        selection = dashboard.selection_for(user=admin, program_id=world["program"].pk, level=1)
        series_s = timed(lambda: dashboard.series(user=admin, selection=selection), repeat=args.repeat)
        query = indicators.indicator_query(user=admin, level=1)
        table = indicators.indicator_table(user=admin, query=query)
        assert len(table["areas"]) == GRID * GRID
        indicator_s = timed(lambda: indicators.indicator_table(user=admin, query=query), repeat=args.repeat)

        now = datetime.datetime.now(datetime.UTC)
        pages = [
            audit.AuditFilter(actor="officer7"),
            audit.AuditFilter(table="bench_table_3", row_id=args.audit // 20),
            # An hour in the middle of the synthetic rows (one a second).
            audit.AuditFilter(
                since=now - datetime.timedelta(seconds=args.audit // 2),
                until=now - datetime.timedelta(seconds=args.audit // 2 - 3600),
            ),
        ]
        size = AuditPagination.page_size

        def page(filters):
            rows = list(audit.audit_log(user=admin, filters=filters)[: size + 1])
            assert rows, filters

        audit_page_s = max(timed(lambda f=f: page(f), repeat=args.repeat) for f in pages)

        before = peak_rss_mb()
        start = time.perf_counter()
        lines = 0
        for chunk in audit.audit_csv(user=admin, filters=audit.AuditFilter()):
            lines += chunk.count(b"\n")
        csv_s = time.perf_counter() - start
        rows = lines - 1
        assert rows == world["logged"], (rows, world["logged"])
        csv_rss_mb = peak_rss_mb() - before
        print(
            f"dashboard {dashboard_s:.3f} s (one district {dashboard_scoped_s:.3f} s), series {series_s:.3f} s, "
            f"indicators {indicator_s:.3f} s, audit page {audit_page_s * 1000:.1f} ms, "
            f"CSV {rows:,} rows in {csv_s:.1f} s (peak memory +{csv_rss_mb:.1f} MiB)",
            flush=True,
        )
        # The last line printed, for scripts: RESULT accountability key=value ...
        result_line(
            "accountability",
            households=args.households,
            audit_rows=rows,
            dashboard_s=dashboard_s,
            dashboard_scoped_s=dashboard_scoped_s,
            series_s=series_s,
            indicator_s=indicator_s,
            audit_page_s=audit_page_s,
            csv_rows_per_s=rows / csv_s,
            csv_rss_mb=csv_rss_mb,
        )


if __name__ == "__main__":
    main()
