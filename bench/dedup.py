"""Deduplication on a large generated registry: N individuals in N/4 households spread over the real Bangladesh
districts, with 1% planted duplicates (a vowel changed in the given name, same birth date, a household within a
few hundred metres, sometimes the same phone). Times one full run (blocking in SQL, rapidfuzz scoring, queueing)
and reports how many planted duplicates reached the review queue.

    make bench-dedup                                    # 1,000,000 individuals
    make bench-dedup BENCH_ARGS="--individuals 200000"  # quicker
"""

from __future__ import annotations

import argparse
import time

from _harness import bench_database, peak_rss_mb, result_line

SYLLABLES_A = "ra ka ha sa ma na ja fa ta la ba da ga pa sha ch ru ko mi ti".split()
SYLLABLES_B = "him mal san rin jan hid min zul bul dul lam tan yan mon kir sul rab jib hab lok".split()


def generate(cursor, individuals: int, duplicates: int) -> None:
    """Households and people written set-based in SQL (the generator is not what is measured)."""
    from geo.demo import district_headquarters

    centres = [(d["lon"], d["lat"]) for d in district_headquarters()]
    cursor.execute("CREATE TEMP TABLE bench_centre (n int, area_id bigint, lon float8, lat float8)")
    cursor.executemany(
        "INSERT INTO bench_centre VALUES (%s, NULL, %s, %s)", [(i, lon, lat) for i, (lon, lat) in enumerate(centres)]
    )
    # Each headquarters' area is the lowest one holding it (an upazila), found the way the triggers find it.
    cursor.execute("UPDATE bench_centre SET area_id = geo_lowest_area(ST_SetSRID(ST_MakePoint(lon, lat), 4326))")
    cursor.execute("DELETE FROM bench_centre WHERE area_id IS NULL")
    households = individuals // 4
    cursor.execute(
        """
        INSERT INTO registry_household (kind, external_id, location, location_precision, area_id, address,
                                        registered_on, source, created_at, updated_at)
        SELECT 'household', 'H' || g, ST_SetSRID(ST_MakePoint(c.lon + (random() - 0.5) * 0.16,
                                                              c.lat + (random() - 0.5) * 0.16), 4326),
               'gps', c.area_id, '', current_date, 'bench', now(), now()
        FROM generate_series(1, %(households)s) g JOIN bench_centre c ON c.n = g %% %(centres)s
        """,
        {"households": households, "centres": len(centres)},
    )
    cursor.execute(
        """
        CREATE TEMP TABLE bench_person AS
        SELECT g AS n, 'H' || (1 + (g - 1) / 4) AS household,
               initcap((%(a)s::text[])[1 + (random() * 19)::int] || (%(b)s::text[])[1 + (random() * 19)::int]) AS given,
               initcap((%(b)s::text[])[1 + (random() * 19)::int] || (%(a)s::text[])[1 + (random() * 19)::int]
                       || (%(b)s::text[])[1 + (random() * 19)::int]) AS family,
               date '1940-01-01' + (random() * 30000)::int AS birth_date
        FROM generate_series(1, %(individuals)s) g
        """,
        {"a": SYLLABLES_A, "b": SYLLABLES_B, "individuals": individuals - duplicates},
    )
    cursor.execute(
        """
        INSERT INTO registry_individual (external_id, given_name, family_name, other_names, birth_date,
            birth_date_estimated, sex, disability, is_pregnant, is_lactating, status, custom, created_at, updated_at)
        SELECT 'P' || n, given, family, '', birth_date, false, CASE WHEN n % 2 = 0 THEN 'F' ELSE 'M' END, false,
               false, false, 'active', '{}', now(), now()
        FROM bench_person ORDER BY n
        """
    )
    cursor.execute(
        """
        INSERT INTO registry_membership (household_id, individual_id, role, start_date)
        SELECT h.id, i.id, CASE WHEN p.n % 4 = 1 THEN 'head' ELSE 'child' END, current_date
        FROM bench_person p JOIN registry_household h ON h.external_id = p.household
        JOIN registry_individual i ON i.external_id = 'P' || p.n
        """
    )
    # Planted duplicates: the same person registered again in a household next door, with a typo.
    cursor.execute(
        """
        INSERT INTO registry_individual (external_id, given_name, family_name, other_names, birth_date,
            birth_date_estimated, sex, disability, is_pregnant, is_lactating, status, custom, created_at, updated_at)
        SELECT 'D' || p.n, overlay(p.given placing (CASE WHEN substr(p.given, 2, 1) = 'a' THEN 'e' ELSE 'a' END)
                                  from 2 for 1),
               p.family, '', p.birth_date, false, 'X', false, false, false, 'active', '{}', now(), now()
        FROM bench_person p WHERE p.n %% %(step)s = 0
        """,
        {"step": max(1, (individuals - duplicates) // duplicates)},
    )
    cursor.execute(
        """
        INSERT INTO registry_household (kind, external_id, location, location_precision, area_id, address,
                                        registered_on, source, created_at, updated_at)
        SELECT 'household', 'DH' || substr(i.external_id, 2), ST_Translate(h.location, 0.002, 0.001), 'gps',
               h.area_id, '', current_date, 'bench', now(), now()
        FROM registry_individual i
        JOIN registry_individual o ON o.external_id = 'P' || substr(i.external_id, 2)
        JOIN registry_membership m ON m.individual_id = o.id
        JOIN registry_household h ON h.id = m.household_id
        WHERE i.external_id LIKE 'D%'
        """
    )
    cursor.execute(
        """
        INSERT INTO registry_membership (household_id, individual_id, role, start_date)
        SELECT h.id, i.id, 'head', current_date FROM registry_individual i
        JOIN registry_household h ON h.external_id = 'DH' || substr(i.external_id, 2)
        WHERE i.external_id LIKE 'D%'
        """
    )
    cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--individuals", type=int, default=1_000_000)
    parser.add_argument("--duplicate-share", type=float, default=0.01)
    args = parser.parse_args()
    duplicates = int(args.individuals * args.duplicate_share)

    with bench_database("dedup"):
        from django.db import connection

        from geo.demo import load_bangladesh_areas
        from registry.dedup import DedupOptions, dedup_find
        from registry.models import DuplicateCandidate, Household, Individual

        load_bangladesh_areas()
        start = time.perf_counter()
        with connection.cursor() as cursor:
            generate(cursor, args.individuals, duplicates)
        print(
            f"Generated {Individual.objects.count():,} individuals in {Household.objects.count():,} households "
            f"({duplicates:,} planted duplicates) in {time.perf_counter() - start:.0f} s"
        )

        start = time.perf_counter()

        def phase(percent: int, message: str) -> None:
            print(f"  {time.perf_counter() - start:6.1f} s  {percent:3d}%  {message}", flush=True)

        result = dedup_find(options=DedupOptions(), progress=phase)
        seconds = time.perf_counter() - start
        found = DuplicateCandidate.objects.filter(second__external_id__startswith="D").count()
        planted = Individual.objects.filter(external_id__startswith="D").count()
        false_pairs = result.queued - found
        print(
            f"Dedup run: {result.individuals:,} individuals, {result.candidate_pairs:,} candidate pairs "
            f"{result.by_reason}, {result.queued:,} queued for review, in {seconds:.1f} s "
            f"({result.individuals / seconds:,.0f} individuals/s)"
        )
        print(
            f"Planted duplicates found: {found:,} of {planted:,} ({found / max(1, planted):.1%}); other pairs queued: "
            f"{false_pairs:,}"
        )
        # The last line printed, for scripts: RESULT dedup key=value ...
        result_line(
            "dedup",
            individuals=result.individuals,
            seconds=seconds,
            individuals_per_s=result.individuals / seconds,
            candidate_pairs=result.candidate_pairs,
            queued=result.queued,
            recall=found / max(1, planted),
            peak_rss_mb=peak_rss_mb(),
        )


if __name__ == "__main__":
    main()
