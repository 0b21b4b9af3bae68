"""Grievances bench: N tickets over a country of districts (inserted in SQL), then the escalation sweep run twice
(the second finds nothing: every breached ticket was escalated once) and the published statistics.

    make bench-grievances BENCH_ARGS="--tickets 100000"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import bench_database, peak_rss_mb, result_line, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--districts", type=int, default=16)
    args = parser.parse_args()

    with bench_database("grievances"):
        from django.contrib.gis.geos import MultiPolygon, Polygon
        from django.db import connection

        from geo.models import Area
        from grievances.selectors import statistics_table
        from grievances.services import tickets_escalate

        country = Area.objects.create(
            code="B", name="B", level=0, geom=MultiPolygon(Polygon.from_bbox((88, 20, 92, 26)))
        )
        division = Area.objects.create(code="B-1", name="D1", level=1, parent=country, geom=country.geom)
        districts = [
            Area.objects.create(
                code=f"B-1-{i:02d}", name=f"District {i}", level=2, parent=division, geom=country.geom
            ).pk
            for i in range(args.districts)
        ]
        with connection.cursor() as cursor:
            # A third of the tickets are old enough to be breached; a third resolved, with an outcome.
            cursor.execute(
                """
                INSERT INTO grievances_ticket (channel, external_id, category_id, severity, sensitive, description,
                    area_id, status, anonymous, complainant_name, complainant_phone, complainant_email, language,
                    followup_hash, created_at, ack_due_at, resolve_due_at, acknowledged_at, resolved_at, outcome,
                    decision_reason, appeal_reason, appeal_outcome, appeal_decision_reason)
                SELECT 'api', '', c.id, c.default_severity, c.sensitive, 'bench', (%s::bigint[])[1 + g %% %s],
                       CASE WHEN g %% 3 = 2 THEN 'resolved' ELSE 'received' END, false, '', '', '', 'en', '',
                       t, t + make_interval(hours => c.ack_sla_hours), t + make_interval(hours => c.resolve_sla_hours),
                       CASE WHEN g %% 3 = 2 THEN t + interval '1 hour' END,
                       CASE WHEN g %% 3 = 2 THEN t + make_interval(days => 1 + g %% 20) END,
                       CASE WHEN g %% 3 = 2 THEN (ARRAY['upheld', 'rejected', 'partly_upheld'])[1 + (g / 3) %% 3]
                            ELSE '' END,
                       '', '', '', ''
                  FROM generate_series(1, %s) g
                  CROSS JOIN LATERAL (SELECT now() - make_interval(days => CASE WHEN g %% 3 = 0 THEN 90 ELSE 0 END)
                                             - make_interval(mins => g %% 600) AS t) times
                  JOIN LATERAL (SELECT * FROM grievances_category ORDER BY id OFFSET g %% 14 LIMIT 1) c ON true
                """,
                [districts, len(districts), args.tickets],
            )
            cursor.execute("ANALYZE grievances_ticket")
        counts: dict[str, int] = {}
        first_s = timed(lambda: counts.__setitem__("first", tickets_escalate()))
        second_s = timed(lambda: counts.__setitem__("second", tickets_escalate()))
        published: dict = {}
        statistics_s = timed(lambda: published.update(statistics_table()))
        print(
            f"{args.tickets} tickets in {len(districts)} districts: escalated {counts['first']}, "
            f"then {counts['second']}; {len(published['rows'])} statistics cells, {published['suppressed']} suppressed",
            flush=True,
        )
        # The last line printed, for scripts: RESULT grievances key=value ...
        result_line(
            "grievances",
            tickets=args.tickets,
            escalated=counts["first"],
            escalated_again=counts["second"],
            sweep_first_s=first_s,
            sweep_second_s=second_s,
            statistics_s=statistics_s,
            peak_rss_mb=peak_rss_mb(),
        )


if __name__ == "__main__":
    main()
