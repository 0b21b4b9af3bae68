"""Programs at registry scale: rule previews, enrolment and entitlement generation against a generated registry.

    make bench-programs                                   # 1,000,000 households (~4.2 members each)
    make bench-programs BENCH_ARGS="--households 20000"   # a quick run

Data: `--households` households (default 1,000,000) loaded by the demo COPY loader on the Bangladesh upazilas, with
their individuals and memberships (about 4.2 members per household; children under 5, people aged 60+, ~7 % with a
disability, pregnant and lactating women), then one exposure analysis of a flood: the exposure bench's ~10,000-vertex
flood polygon with ~100 holes, scaled about its centre until it holds ~15 % of the households (class "moderate"),
with its central part holding ~5 % (the polygon cut by a disc) drawn again as "high".

Measured, each against a hand-written statement for the same question in the same run:
- rule preview (programs.selectors.rule_preview, as a national superuser) of `exposure.affected && exposure.rank >=
  2` (preview_s) and of `exposure.affected && members.under_5 > 0` (preview_members_s), median of --repeat runs,
  against hand-written SQL giving the same outputs (households and people in total, by chart-level area and by
  hazard class, and a 10-household sample; people, and the youngest member's birth date, read from
  registry_household_members, the member summary registry's triggers keep, as the product reads them); the outputs
  are compared and must be equal;
- enrolment + entitlements: enrolment_execute of an EnrolmentRun, then cycle_generate_execute of a cycle with the
  formula {"cash": {"base": "1000", "by_class": {"high": "8000", "moderate": "5000"}}}, once for all households
  (entitle_s, entitlements) and once for the affected population (enrolment rule `in_zone(<flood zone>)`, cycle
  rule `exposure.affected`), against a ceiling: the same membership and entitlement rows written into the same
  tables (same constraints, indexes and triggers) by one hand-written INSERT … SELECT each; tables truncated in
  between, and the rows compared.
Peak memory of this process is reported (peak_rss_mb); the registry is loaded by a child process, whose own peak is
printed apart.

Where the time went at 1,000,000 on 2 idle cores (2026-12-04): preview 0.45 s (mostly the parallel join of the
run's 149,629 rows to the households and their member summary), the member rule 0.24 s (the summary's youngest
birth date); enrolment 7.1 s and generation 13.2 s of the 20.2 s, against 5.6 + 11.0 s by hand: the difference is
the chunks (8 statements for progress) and the duplicate and incident checks the hand-written statements skip.
Before the references were checked per statement (programs/sql/0013_entitlements_faster.sql) the two million
foreign-key checks at commit took 14 s of each side.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import resource
import subprocess
import sys
import time

from _harness import bench_database, peak_rss_mb, result_line, setup_django, timed

FORMULA = {"cash": {"base": "1000", "by_class": {"high": "8000", "moderate": "5000"}}}
PREVIEW_RULE = "exposure.affected && exposure.rank >= 2"
PREVIEW_MEMBERS_RULE = "exposure.affected && members.under_5 > 0"
FLOOD_SHARE = 0.15
HIGH_SHARE = 0.05
TARGET_PREVIEW_S = 0.5
TARGET_ENTITLE_S = 30.0
TARGET_RATIO = 1.5


# Data --------------------------------------------------------------------------------------------------------------


def load_in_child(db_name: str, households: int) -> float:
    """The registry is loaded by a child process, so that this process's peak memory is the programs work's alone;
    returns the child's peak RSS in MiB."""
    env = {**os.environ, "BENCH_PROGRAMS_DB": db_name}
    subprocess.run([sys.executable, __file__, "--load-child", str(households)], env=env, check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def load(households: int) -> None:
    from django.db import connection

    from geo.demo import load_bangladesh_areas
    from registry.demo import load_demo_households
    from spmis.core.audit import audit_context

    start = time.perf_counter()
    load_bangladesh_areas()
    with audit_context(actor="bench:programs", source="command"):
        counts = load_demo_households(households)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"registry: {counts['households']:,} households, {counts['individuals']:,} individuals "
        f"loaded in {time.perf_counter() - start:.0f} s",
        flush=True,
    )


def _fitted(make, share: float, xs, ys, low: float, high: float):
    """make(t) for the t in [low, high] whose polygon holds `share` of the sampled points (bisection; the share
    grows with t)."""
    import shapely

    for _ in range(30):
        middle = (low + high) / 2
        if shapely.contains_xy(make(middle), xs, ys).mean() < share:
            low = middle
        else:
            high = middle
    return make((low + high) / 2)


def flood(households: int):
    """The incident, its two zones and one finished analysis. The exposure bench's flood polygon is scaled about
    its centre until it holds ~15 % of the households (the demo registry follows the population, not the box),
    and its central part holding ~5 % is drawn again as class "high"."""
    import numpy as np
    import shapely
    from django.contrib.gis.geos import GEOSGeometry
    from django.db import connection
    from exposure import BOX, analysis, flood_polygon
    from shapely import affinity

    from response.services import hazard_zone_draw, incident_create

    start = time.perf_counter()
    with connection.cursor() as cursor:
        step = max(1, households // 100_000)
        cursor.execute(
            "SELECT ST_X(location), ST_Y(location) FROM registry_household WHERE location IS NOT NULL AND id %% %s = 0",
            [step],
        )
        xs, ys = np.array(cursor.fetchall(), dtype=float).T
    centre = shapely.Point((BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2)
    base = flood_polygon()
    polygon = _fitted(lambda t: affinity.scale(base, t, t, origin=centre), FLOOD_SHARE, xs, ys, 0.1, 8.0)
    core = _fitted(
        lambda r: shapely.intersection(polygon, centre.buffer(r, quad_segs=32)), HIGH_SHARE, xs, ys, 0.001, 5.0
    )
    incident = incident_create(
        name="Bench programs flood", hazard_type="flood", started_on=datetime.date(2026, 7, 1), user=None
    )
    zone = hazard_zone_draw(
        incident=incident,
        geometry=GEOSGeometry(memoryview(polygon.wkb), srid=4326),
        hazard_class="moderate",
        user=None,
    )
    hazard_zone_draw(
        incident=incident, geometry=GEOSGeometry(memoryview(core.wkb), srid=4326), hazard_class="high", user=None
    )
    run = analysis(incident)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE response_exposureresult")
        cursor.execute(
            "SELECT c.key, count(*) FROM response_exposureresult x JOIN response_hazardclass c ON c.id ="
            " x.hazard_class_id WHERE x.run_id = %s GROUP BY c.key ORDER BY c.key",
            [run.pk],
        )
        by_class = dict(cursor.fetchall())
    affected = run.result["affected_households"]
    print(
        f"exposure: {affected:,} of {households:,} households affected ({affected / households:.1%}), by class "
        f"{by_class}, analysed in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    return incident, zone, run, affected


def superuser():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("bench-programs", "bench@example.org", "bench-programs-pw")


# Previews ----------------------------------------------------------------------------------------------------------


def preview_baseline(run_id: int, *, under_5_cutoff: datetime.date | None) -> dict:
    """The preview's question written by hand: the affected households of the run (rank >= 2), or those with a
    member under 5, with people, by chart-level area and by class, and the first 10 by id."""
    from django.db import connection
    from psycopg import sql

    from spmis.country import country

    level = sql.Literal(country().chart_level + 1)
    if under_5_cutoff is None:
        chosen = sql.SQL("x.class_rank >= 2")
        member_filter = sql.SQL("")
    else:
        chosen = sql.SQL("true")
        # A member under 5 is the youngest born after the cutoff: registry's per-household summary holds the
        # youngest birth date (probing every member of a sixth of the registry takes 1.7 s at 1,000,000).
        member_filter = sql.SQL("WHERE hm.youngest > {}::date").format(sql.Literal(under_5_cutoff))
    # The run's rows first (its partition, by run id, hash-joined to the households), then the people of those
    # households from registry's per-household member summary (registry_household_members), as anyone writing
    # this by hand against the schema would.
    statement = sql.SQL(
        "WITH s AS MATERIALIZED (SELECT x.household_id AS id, x.hazard_class_id AS class_id, h.area_id"
        " FROM response_exposureresult x JOIN registry_household h ON h.id = x.household_id"
        " WHERE x.run_id = {run} AND h.status = 'active' AND {chosen}),"
        " t AS (SELECT s.id, s.class_id, coalesce(a.lineage[{level}], a.id) AS area_id,"
        " coalesce(hm.members, 0) AS people"
        " FROM s LEFT JOIN registry_household_members hm ON hm.household_id = s.id"
        " LEFT JOIN geo_area a ON a.id = s.area_id {member_filter})"
        " SELECT GROUPING(area_id), GROUPING(class_id), area_id, class_id, count(*), coalesce(sum(people), 0)"
        " FROM t GROUP BY GROUPING SETS ((), (area_id), (class_id))"
    ).format(
        run=sql.Literal(run_id),
        chosen=chosen,
        level=level,
        member_filter=member_filter,
    )
    if under_5_cutoff is None:
        sample = sql.SQL(
            "SELECT h.id, h.registrant_id, a.code FROM response_exposureresult x"
            " JOIN registry_household h ON h.id = x.household_id LEFT JOIN geo_area a ON a.id = h.area_id"
            " WHERE x.run_id = {run} AND h.status = 'active' AND x.class_rank >= 2 ORDER BY x.household_id LIMIT 10"
        ).format(run=sql.Literal(run_id))
    else:
        sample = sql.SQL(
            "SELECT h.id, h.registrant_id, a.code FROM response_exposureresult x"
            " JOIN registry_household h ON h.id = x.household_id LEFT JOIN geo_area a ON a.id = h.area_id"
            " JOIN registry_household_members hm ON hm.household_id = h.id AND hm.youngest > {cutoff}::date"
            " WHERE x.run_id = {run} AND h.status = 'active' ORDER BY x.household_id LIMIT 10"
        ).format(run=sql.Literal(run_id), cutoff=sql.Literal(under_5_cutoff))
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(cursor.connection))
        rows = cursor.fetchall()
        cursor.execute(sample.as_string(cursor.connection))
        sample_rows = cursor.fetchall()
    totals, by_area, by_class = (0, 0), {}, {}
    for no_area, no_class, area_id, class_id, count, people in rows:
        if no_area and no_class:
            totals = (count, int(people))
        elif not no_area:
            by_area[area_id] = (count, int(people))
        else:
            by_class[class_id] = (count, int(people))
    return {"totals": totals, "by_area": by_area, "by_class": by_class, "sample": [r[0] for r in sample_rows]}


def compare_preview(preview: dict, baseline: dict, rule: str) -> None:
    from geo.models import Area
    from response.models import HazardClass

    codes = dict(Area.objects.filter(pk__in=[pk for pk in baseline["by_area"] if pk]).values_list("pk", "code"))
    keys = dict(HazardClass.objects.filter(pk__in=[pk for pk in baseline["by_class"] if pk]).values_list("pk", "key"))
    mine = {
        "totals": (preview["households"], preview["people"]),
        "by_area": {row["code"]: (row["households"], row["people"]) for row in preview["by_area"]},
        "by_class": {row["key"]: (row["households"], row["people"]) for row in preview["by_class"]},
        "sample": [row["household"] for row in preview["sample"]],
    }
    theirs = {
        "totals": baseline["totals"],
        "by_area": {codes.get(pk, ""): value for pk, value in baseline["by_area"].items()},
        "by_class": {keys.get(pk, "not_affected"): value for pk, value in baseline["by_class"].items()},
        "sample": baseline["sample"],
    }
    for part in mine:
        if mine[part] != theirs[part]:
            raise SystemExit(
                f"preview of {rule!r}: {part} differs from the hand-written SQL: {mine[part]} vs {theirs[part]}"
            )


def bench_previews(user, run, repeat: int) -> dict:
    from django.utils import timezone

    from programs.eligibility.compiler import _age_cutoff
    from programs.selectors import rule_preview

    figures = {}
    cutoff = _age_cutoff(timezone.localdate(), 5)
    for key, rule, member_cutoff in (
        ("preview", PREVIEW_RULE, None),
        ("preview_members", PREVIEW_MEMBERS_RULE, cutoff),
    ):
        results, baselines = [], []
        rule_preview(user=user, rule=rule, exposure_run=run)  # warm the caches and the country settings once
        preview_baseline(run.pk, under_5_cutoff=member_cutoff)
        seconds = timed(
            lambda r=rule, out=results: out.append(rule_preview(user=user, rule=r, exposure_run=run)), repeat=repeat
        )
        sql_seconds = timed(
            lambda c=member_cutoff, out=baselines: out.append(preview_baseline(run.pk, under_5_cutoff=c)),
            repeat=repeat,
        )
        compare_preview(results[-1], baselines[-1], rule)
        figures[f"{key}_s"] = seconds
        figures[f"{key}_sql_s"] = sql_seconds
        figures[f"{key}_ratio_vs_sql"] = seconds / sql_seconds
        figures[f"{key}_households"] = results[-1]["households"]
        print(
            f"preview {rule!r}: {results[-1]['households']:,} households, {results[-1]['people']:,} people, "
            f"{len(results[-1]['by_area'])} areas; rule_preview {seconds:.3f} s (its own elapsed_ms "
            f"{results[-1]['elapsed_ms']}), hand-written SQL {sql_seconds:.3f} s, ratio {seconds / sql_seconds:.2f}"
            f" (target ≤ {TARGET_PREVIEW_S} s and ≤ {TARGET_RATIO}×)",
            flush=True,
        )
    return figures


# Enrolment and entitlements ----------------------------------------------------------------------------------------


def truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # Payments (and the apps downstream of them, such as grievance tickets) reference entitlements: empty here,
        # but TRUNCATE must name every referencing table, so CASCADE does; the ledger's guard lets the test
        # settings' session truncate it.
        cursor.execute("TRUNCATE programs_entitlementitem, programs_entitlement, programs_programmembership CASCADE")


def enrol_and_generate(user, program, run, *, enrol_rule: str, cycle_rule: str, starts_on: datetime.date) -> tuple:
    """enrolment_execute of one EnrolmentRun, then cycle_generate_execute of a new cycle: (seconds of each,
    entitlement count)."""
    from programs.models import EnrolmentRun, EntitlementRun
    from programs.services import cycle_create
    from programs.services.cycles import cycle_generate_execute
    from programs.services.enrolment import enrolment_execute

    enrolment = EnrolmentRun.objects.create(
        program=program, action=EnrolmentRun.Action.ENROL, rule=enrol_rule, reason="bench", created_by=user
    )
    start = time.perf_counter()
    enrolment = enrolment_execute(run_id=enrolment.pk)
    enrol_s = time.perf_counter() - start
    if enrolment.status != EnrolmentRun.Status.SUCCEEDED:
        raise SystemExit(f"enrolment failed: {enrolment.error}")
    cycle = cycle_create(
        user=user,
        program=program,
        starts_on=starts_on,
        ends_on=starts_on + datetime.timedelta(days=27),
        rule=cycle_rule,
        formula=FORMULA,
        exposure_run=run,
    )
    generation = EntitlementRun.objects.create(cycle=cycle, created_by=user)
    start = time.perf_counter()
    generation = cycle_generate_execute(run_id=generation.pk)
    generate_s = time.perf_counter() - start
    if generation.status != EntitlementRun.Status.SUCCEEDED:
        raise SystemExit(f"generation failed: {generation.error}")
    return enrol_s, generate_s, generation.result["entitlements"], cycle, enrolment.pk


ROWS_DIGEST = (
    "SELECT count(*), coalesce(sum(hashtextextended(concat_ws(':', household_id, state, reason, enrolled_on,"
    " run_id), 0)::numeric), 0)"
    " FROM programs_programmembership WHERE program_id = %s",
    "SELECT count(*), coalesce(sum(hashtextextended(concat_ws(':', household_id, kind, amount, fee, currency,"
    " incident_id, hazard_rank, people, flagged, flag_reason, valid_from, valid_until, status), 0)::numeric), 0)"
    " FROM programs_entitlement WHERE cycle_id = %s",
)


def rows_digest(program_id: int, cycle_id: int) -> tuple:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(ROWS_DIGEST[0], [program_id])
        memberships = cursor.fetchone()
        cursor.execute(ROWS_DIGEST[1], [cycle_id])
        entitlements = cursor.fetchone()
    return memberships, entitlements


def ceiling(program, cycle, run, *, enrolment_id: int, zone_id: int | None, affected_only: bool) -> tuple[float, float]:
    """The same rows by hand: one INSERT … SELECT into programs_programmembership, one into programs_entitlement
    (amounts by class, people from registry's per-household member summary, the duplicate flag as one
    anti-join)."""
    from django.db import connection
    from psycopg import sql

    households = sql.SQL("SELECT h.id FROM registry_household h WHERE h.status = 'active'")
    if zone_id is not None:
        households = sql.SQL(
            "SELECT DISTINCT h.id FROM registry_household h JOIN response_hazardzonepiece p"
            " ON p.zone_id = {zone} AND ST_Intersects(p.geom, h.location) WHERE h.status = 'active'"
        ).format(zone=sql.Literal(zone_id))
    enrol = sql.SQL(
        "INSERT INTO programs_programmembership (program_id, household_id, state, reason, enrolled_on,"
        " state_changed_at, run_id) SELECT {program}, s.id, 'enrolled', 'bench', current_date, now(), {run}"
        " FROM ({households}) s"
    ).format(program=sql.Literal(program.pk), households=households, run=sql.Literal(enrolment_id))
    exposure_join = sql.SQL("JOIN" if affected_only else "LEFT JOIN")
    entitle = sql.SQL(
        "WITH pm AS MATERIALIZED (SELECT household_id FROM programs_programmembership WHERE program_id = {program}"
        " AND state = 'enrolled'),"
        " other AS (SELECT household_id FROM programs_entitlement WHERE incident_id = {incident}"
        " AND program_id <> {program} AND status <> 'cancelled' UNION SELECT om.household_id"
        " FROM programs_programmembership om JOIN programs_program_incidents pi ON pi.program_id = om.program_id"
        " AND pi.incident_id = {incident} WHERE om.program_id <> {program} AND om.state = 'enrolled')"
        " INSERT INTO programs_entitlement (cycle_id, program_id, household_id, kind, amount, fee, currency,"
        " incident_id, hazard_rank, people, flagged, flag_reason, valid_from, valid_until, status)"
        " SELECT {cycle}, {program}, h.id, 'cash',"
        " CASE c.key WHEN 'high' THEN 8000 WHEN 'moderate' THEN 5000 ELSE 1000 END::numeric(14, 3), 0, {currency},"
        " {incident}, nullif(coalesce(x.class_rank, 0), 0), least(coalesce(hm.members, 0), 32767),"
        " o.household_id IS NOT NULL,"
        " CASE WHEN o.household_id IS NOT NULL THEN 'entitled or enrolled by another program for the same incident'"
        " ELSE '' END, {valid_from}, {valid_until}, 'draft'"
        " FROM pm JOIN registry_household h ON h.id = pm.household_id"
        " {exposure_join} response_exposureresult x ON x.household_id = h.id AND x.run_id = {run}"
        " LEFT JOIN response_hazardclass c ON c.id = x.hazard_class_id"
        " LEFT JOIN registry_household_members hm ON hm.household_id = h.id"
        " LEFT JOIN other o ON o.household_id = h.id"
        " WHERE h.status = 'active'"
    ).format(
        program=sql.Literal(program.pk),
        incident=sql.Literal(cycle.incident_id),
        cycle=sql.Literal(cycle.pk),
        currency=sql.Literal(program.currency),
        run=sql.Literal(run.pk),
        valid_from=sql.Literal(cycle.starts_on),
        valid_until=sql.Literal(cycle.ends_on),
        exposure_join=exposure_join,
    )
    from django.db import transaction

    def written(statement: sql.Composable) -> float:
        """One statement in its own transaction, timed to the end of its commit (where the deferred foreign-key
        checks run), as the services' jobs are."""
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement.as_string(cursor.connection))
        return time.perf_counter() - start

    enrol_s = written(enrol)
    entitle_s = written(entitle)
    return enrol_s, entitle_s


def bench_entitlements(user, incident, zone, run, *, affected_only: bool, label: str) -> dict:
    from programs.services import program_create

    program = program_create(user=user, name=f"Bench {label}", currency="BDT", kind="emergency")
    enrol_rule = f'in_zone("{zone.zone_key}")' if affected_only else ""
    cycle_rule = "exposure.affected" if affected_only else ""
    truncate()
    enrol_s, generate_s, count, cycle, enrolment_id = enrol_and_generate(
        user, program, run, enrol_rule=enrol_rule, cycle_rule=cycle_rule, starts_on=datetime.date(2026, 8, 1)
    )
    product_rows = rows_digest(program.pk, cycle.pk)
    truncate()
    ceiling_enrol_s, ceiling_entitle_s = ceiling(
        program,
        cycle,
        run,
        enrolment_id=enrolment_id,
        zone_id=zone.pk if affected_only else None,
        affected_only=affected_only,
    )
    ceiling_rows = rows_digest(program.pk, cycle.pk)
    truncate()
    if product_rows != ceiling_rows:
        raise SystemExit(f"{label}: the service wrote {product_rows}, the hand-written statements {ceiling_rows}")
    total, ceiling_total = enrol_s + generate_s, ceiling_enrol_s + ceiling_entitle_s
    print(
        f"entitlements ({label}): {count:,} written; enrolment_execute {enrol_s:.2f} s + cycle_generate_execute "
        f"{generate_s:.2f} s = {total:.2f} s; hand-written INSERT … SELECT {ceiling_enrol_s:.2f} s + "
        f"{ceiling_entitle_s:.2f} s = {ceiling_total:.2f} s; ratio {total / ceiling_total:.2f} "
        f"(target ≤ {TARGET_ENTITLE_S:.0f} s and ≤ {TARGET_RATIO}×)",
        flush=True,
    )
    return {
        "entitle_s": total,
        "enrol_s": enrol_s,
        "generate_s": generate_s,
        "ceiling_s": ceiling_total,
        "ratio": total / ceiling_total,
        "entitlements": count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each preview (the median is reported)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database (with --reuse: skip the load)")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept bench database and its data")
    parser.add_argument("--load-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_child:
        setup_django()
        from django.db import connection

        connection.settings_dict["NAME"] = os.environ["BENCH_PROGRAMS_DB"]
        load(args.load_child)
        return
    print(f"data: {args.households:,} households with members, one flood analysis", flush=True)

    load_peak = 0.0
    with bench_database("programs", keep=args.keep, reuse=args.reuse) as db_name:
        from django.contrib.auth import get_user_model

        from registry.models import Household
        from response.models import ExposureRun, HazardZone

        if args.reuse and Household.objects.exists():
            user = get_user_model().objects.get(username="bench-programs")
            run = ExposureRun.objects.filter(status=ExposureRun.Status.SUCCEEDED).latest("id")
            incident = run.incident
            zone = HazardZone.objects.get(incident=incident, is_current=True, hazard_class__key="moderate")
            affected = run.result["affected_households"]
            households = Household.objects.count()
        else:
            households = args.households
            load_peak = load_in_child(db_name, households)
            incident, zone, run, affected = flood(households)
            user = superuser()

        figures = bench_previews(user, run, args.repeat)
        suffix = f"{time.time_ns() % 1_000_000}"
        everyone = bench_entitlements(user, incident, zone, run, affected_only=False, label=f"all {suffix}")
        hit = bench_entitlements(user, incident, zone, run, affected_only=True, label=f"affected {suffix}")
        misses = []
        for name, value, target in (
            ("preview_s", figures["preview_s"], TARGET_PREVIEW_S),
            ("preview_members_s", figures["preview_members_s"], TARGET_PREVIEW_S),
            ("preview_ratio_vs_sql", figures["preview_ratio_vs_sql"], TARGET_RATIO),
            ("preview_members_ratio_vs_sql", figures["preview_members_ratio_vs_sql"], TARGET_RATIO),
            ("entitle_s", everyone["entitle_s"], TARGET_ENTITLE_S),
            ("entitle_ratio_vs_ceiling", everyone["ratio"], TARGET_RATIO),
            ("entitle_affected_ratio_vs_ceiling", hit["ratio"], TARGET_RATIO),
        ):
            if not math.isfinite(value) or value > target:
                misses.append(f"{name}={value:.3g} > {target:g}")
        loaded = f"the load, in a child process: {load_peak:.0f} MB" if load_peak else "registry reused, not loaded"
        print(f"peak RSS: {peak_rss_mb():.0f} MB ({loaded})", flush=True)
        print("targets: " + ("all met" if not misses else "MISSED " + ", ".join(misses)), flush=True)
        # Printed before the throwaway database is dropped: DROP DATABASE can wait on other sessions.
        # The last line printed, for scripts: RESULT programs key=value ...
        result_line(
            "programs",
            households=households,
            affected=affected,
            preview_s=figures["preview_s"],
            preview_ratio_vs_sql=figures["preview_ratio_vs_sql"],
            preview_members_s=figures["preview_members_s"],
            entitle_s=everyone["entitle_s"],
            entitle_ratio_vs_ceiling=everyone["ratio"],
            entitlements=everyone["entitlements"],
            peak_rss_mb=peak_rss_mb(),
            preview_members_ratio_vs_sql=figures["preview_members_ratio_vs_sql"],
            entitle_affected_s=hit["entitle_s"],
            entitle_affected_ratio_vs_ceiling=hit["ratio"],
            entitlements_affected=hit["entitlements"],
        )


if __name__ == "__main__":
    main()
