"""In-kind distribution at scale (issue 13): catchments by road, vehicle routing, the stock ledger.

    make bench-distribution                                    # 1,000,000 households
    make bench-distribution BENCH_ARGS="--households 50000"    # a quick run

Each part creates its own data in a throwaway database (bench_distribution) and measures against a baseline taken
in the same run; the parts' modules say what they load and how they time it:
- catchments (bench/_distribution_catchments.py): --households households assigned to their nearest usable
  distribution point by road travel time with a flood's closures applied, against a straight-line nearest-point
  (KNN) assignment of the same households: catchment_ratio_vs_knn = road time / KNN time (target ≤ 3), and
  reassigned_by_roads, how many households the roads send to another point than the straight line would;
- routing (bench/_distribution_routing.py): 100 stops and 10 vehicles solved with OR-Tools on a road cost matrix
  with closures (vrp_s, target ≤ 30 s), and vrp_gain_vs_nn = 1 − our total distance ÷ a nearest-neighbour tour's
  (target ≥ 0.15);
- ledger (bench/_distribution_ledger.py): stock movements per second through the ledger with its constraints and
  triggers on (movements_per_s, target ≥ 10,000), against bare INSERTs of the same rows;
- redemption (bench/_distribution_redemption.py): cash vouchers redeemed one request at a time and as signed offline
  batches (redemptions_per_s, batch_records_per_s, against bare INSERTs), and in-kind redemptions moving stock out of
  a point's lots (in_kind_redemptions_per_s).

The catchments run on a generated 400 × 400 street grid (160,000 vertices, 319,200 segments) with 500 points, not on
the demo's Dhaka roads: a million households need a network that size to be a test of the road search.
"""

from __future__ import annotations

import argparse

from _harness import bench_database, peak_rss_mb, result_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench_distribution database afterwards")
    args = parser.parse_args()

    with bench_database("distribution", keep=args.keep):
        from _distribution_catchments import measure_catchments
        from _distribution_ledger import measure_ledger
        from _distribution_redemption import measure_in_kind, measure_redemption
        from _distribution_routing import measure_vrp

        figures: dict[str, object] = {}
        figures.update(measure_catchments(args.households))
        figures.update(measure_vrp())
        figures.update(measure_ledger())
        redemption = measure_redemption()
        # Its bare-INSERT baseline is of redemption rows, not of ledger lines: named apart.
        redemption["redemption_bare_inserts_per_s"] = redemption.pop("bare_inserts_per_s")
        figures.update(redemption)
        figures.update(measure_in_kind())
        figures["peak_rss_mb"] = peak_rss_mb()
        # The last line printed, for scripts: RESULT distribution key=value ...
        result_line("distribution", households=args.households, **figures)


if __name__ == "__main__":
    main()
