"""Registry import: N individuals in N/4 households from a generated CSV, end to end (COPY → SQL validation →
set-based merge, on real Bangladesh district boundaries), against a Django-ORM row-by-row import of a sample in
the same run. Peak memory is the whole process's, so it includes the CSV generator (which streams).

    make bench-import                                   # 1,000,000 individuals, ORM sample 20,000
    make bench-import BENCH_ARGS="--individuals 100000" # quick run
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from pathlib import Path

from _harness import bench_database, peak_rss_mb, result_line

GIVEN = "Abdul Amina Anwar Ayesha Babul Bilkis Dipu Fatema Gopal Hasina Imran Jesmin Kamal Khadija Liton Nasrin".split()
FAMILY = "Ahmed Akter Alam Ali Begum Biswas Chowdhury Das Haque Hossain Islam Khan Rahman Roy Sarkar Uddin".split()
HEADER = [
    "household_id",
    "individual_id",
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "role",
    "phone",
    "id_type",
    "id_number",
    "longitude",
    "latitude",
    "wg_walking",
]
ROLES = ["head", "spouse", "child", "child", "other_relative", "child"]


def generate_csv(path: Path, individuals: int, centres: list[tuple[float, float]], *, prefix: str = "") -> int:
    """Write the file row by row (memory stays flat): four people per household on average, heads with a phone
    and a national ID, households scattered around district headquarters."""
    rng = random.Random(42)
    written = 0
    household = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        while written < individuals:
            household += 1
            lat, lon = centres[household % len(centres)]
            lon, lat = lon + rng.uniform(-0.08, 0.08), lat + rng.uniform(-0.08, 0.08)
            size = min(rng.choice((2, 3, 4, 4, 5, 6)), individuals - written)
            family = rng.choice(FAMILY)
            for member in range(size):
                written += 1
                head = member == 0
                writer.writerow(
                    [
                        f"{prefix}H{household:08d}",
                        f"{prefix}P{written:09d}",
                        rng.choice(GIVEN),
                        family,
                        f"{rng.randint(1940, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                        rng.choice("FM"),
                        ROLES[member],
                        f"017{written % 100_000_000:08d}" if head else "",
                        "nid" if head else "",
                        f"{(9 if prefix else 1)}{written:09d}" if head else "",
                        f"{lon:.6f}",
                        f"{lat:.6f}",
                        rng.choice(("1", "1", "1", "2", "3", "")),
                    ]
                )
    return household


def orm_import(path: Path, limit: int) -> int:
    """The baseline: what a straightforward Django import does, one row and a few queries at a time."""
    from django.contrib.gis.geos import Point
    from django.db import transaction

    from registry.models import Household, IdDocument, IdType, Individual, Membership, Phone

    nid = IdType.objects.get(code="nid")
    count = 0
    with path.open(newline="") as handle, transaction.atomic():
        for row in csv.DictReader(handle):
            if count >= limit:
                break
            household, _ = Household.objects.get_or_create(
                external_id=row["household_id"],
                defaults={"location": Point(float(row["longitude"]), float(row["latitude"]), srid=4326)},
            )
            person, _ = Individual.objects.update_or_create(
                external_id=row["individual_id"],
                defaults={
                    "given_name": row["given_name"],
                    "family_name": row["family_name"],
                    "birth_date": row["birth_date"],
                    "sex": row["sex"],
                    "wg_walking": int(row["wg_walking"]) if row["wg_walking"] else None,
                },
            )
            Membership.objects.get_or_create(household=household, individual=person, role=row["role"])
            if row["phone"]:
                Phone.objects.get_or_create(individual=person, number="+880" + row["phone"][1:])
            if row["id_number"]:
                IdDocument.objects.get_or_create(id_type=nid, number=row["id_number"], defaults={"individual": person})
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--individuals", type=int, default=1_000_000)
    parser.add_argument("--orm-sample", type=int, default=20_000)
    args = parser.parse_args()

    with bench_database("import"):
        from geo.demo import district_headquarters, load_bangladesh_areas
        from registry.importing import ImportOptions, registry_import_file
        from registry.models import Household, IdType, Individual

        load_bangladesh_areas()
        IdType.objects.create(code="nid", name="National ID", pattern=r"[0-9]{10}|[0-9]{13}|[0-9]{17}")
        centres = [(d["lat"], d["lon"]) for d in district_headquarters()]
        workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))

        sample = workdir / "sample.csv"
        generate_csv(sample, args.orm_sample, centres, prefix="orm-")
        start = time.perf_counter()
        orm_rows = orm_import(sample, args.orm_sample)
        orm_seconds = time.perf_counter() - start
        orm_rate = orm_rows / orm_seconds
        print(f"ORM row-by-row: {orm_rows:,} individuals in {orm_seconds:.1f} s = {orm_rate:,.0f} individuals/s")

        big = workdir / "registry.csv"
        start = time.perf_counter()
        households = generate_csv(big, args.individuals, centres)
        size_mb = big.stat().st_size / 1e6
        print(
            f"Generated {args.individuals:,} individuals in {households:,} households "
            f"({size_mb:.0f} MB CSV) in {time.perf_counter() - start:.1f} s"
        )
        rss_before = peak_rss_mb()
        start = time.perf_counter()

        def phase(percent: int, message: str) -> None:
            print(f"  {time.perf_counter() - start:6.1f} s  {percent:3d}%  {message}", flush=True)

        report = workdir / "rejected.csv"
        with report.open("wb") as handle:
            result = registry_import_file(
                path=big, options=ImportOptions(source="bench"), report=handle, progress=phase
            )
        seconds = time.perf_counter() - start
        rate = result.individuals_created / seconds
        print(
            f"Set-based import: {result.individuals_created:,} individuals, {result.households_created:,} households, "
            f"{result.rejected_rows} rejected, in {seconds:.1f} s = {rate:,.0f} individuals/s"
        )
        if result.rejected_rows:
            print("  first rejected rows:", *result.errors_sample[:3], sep="\n    ")
        start = time.perf_counter()
        again = registry_import_file(path=big, options=ImportOptions(source="bench"))
        print(
            f"Re-import of the same file: {again.individuals_unchanged:,} unchanged, {again.individuals_updated} "
            f"updated in {time.perf_counter() - start:.1f} s"
        )
        located = Household.objects.filter(area__isnull=False).count() / max(1, Household.objects.count())
        print(f"Households assigned to an area: {located:.1%}; individuals now {Individual.objects.count():,}")
        print(f"Peak RSS {peak_rss_mb():.0f} MB (before the big import {rss_before:.0f} MB)")
        # The last line printed, for scripts: RESULT import key=value ...
        result_line(
            "import",
            individuals=args.individuals,
            individuals_per_s=rate,
            orm_individuals_per_s=orm_rate,
            ratio_vs_orm=rate / orm_rate,
            peak_rss_mb=peak_rss_mb(),
        )


if __name__ == "__main__":
    main()
