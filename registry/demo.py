"""A deterministic synthetic registry for demos and benchmarks: households placed inside real areas (weighted by
population when known, else by size), with plausible members. Loaded with COPY, in chunks, so a million households
need neither a million model objects nor a million round trips.

Plausibility, from Bangladesh's Household Income and Expenditure Survey 2022 orders of magnitude: mean household
size ≈ 4.2, about 15 % of households headed by women, functional-difficulty prevalence rising steeply after 60.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np
import shapely
from django.db import connection, transaction

from geo.spatial import lowest_area_sql
from spmis.core.audit import audit_context, current_context
from spmis.core.bulk import allocate_ids, copy_rows

DEMO_SOURCE = "demo"
REFERENCE_DATE = dt.date(2026, 1, 1)
UNIX_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
MALE_NAMES = (
    "Abdul Alamgir Anwar Arif Babul Biplob Dipu Faruk Gopal Habib Harun Hasan Hossain Imran Jahid Jamal "
    "Kamal Karim Liton Mizanur Mohammad Nazrul Rafiq Rahim Ratan Rubel Shafiq Sohel Sujan Tanvir"
).split()
FEMALE_NAMES = (
    "Anjuman Ayesha Bilkis Dilruba Fatema Hasina Jesmin Jharna Khadija Kulsum Laila Mahmuda Morjina "
    "Mousumi Nargis Nasrin Parvin Popy Rahima Rina Rokeya Rupa Salma Sathi Shapla Shefali Shirin Sultana "
    "Taslima Tania"
).split()
FAMILY_NAMES = (
    "Ahmed Akter Alam Ali Barua Begum Bhuiyan Biswas Chakma Chowdhury Das Dey Haque Hossain Islam Karim "
    "Khan Mahmud Marma Miah Mondal Paul Rahman Roy Saha Sarkar Sheikh Sikder Talukder Uddin"
).split()

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class AreaWeight:
    area_id: int
    geometry: shapely.Geometry
    weight: float


def demo_area_weights(*, level: int | None = None) -> list[AreaWeight]:
    """The lowest-level areas with their boundaries and weights (population if known, else km²)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(level) FROM geo_area")
        (deepest,) = cursor.fetchone()
        if deepest is None:
            raise RuntimeError("No areas loaded: import boundaries first.")
        cursor.execute(
            "SELECT id, ST_AsBinary(geom), coalesce(population::float8, area_km2) "
            "FROM geo_area WHERE level = %s ORDER BY id",
            [deepest if level is None else level],
        )
        rows = cursor.fetchall()
    return [AreaWeight(area_id, shapely.from_wkb(bytes(wkb)), float(weight)) for area_id, wkb, weight in rows]


def _points_in(geometry: shapely.Geometry, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` uniform random points strictly inside `geometry`, by vectorised rejection sampling."""
    shapely.prepare(geometry)
    min_x, min_y, max_x, max_y = geometry.bounds
    xs, ys, have = [], [], 0
    while have < count:
        batch = max(64, int((count - have) * 2.5))
        x = rng.uniform(min_x, max_x, batch)
        y = rng.uniform(min_y, max_y, batch)
        inside = shapely.contains_xy(geometry, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        have += int(inside.sum())
    return np.concatenate(xs)[:count], np.concatenate(ys)[:count]


def _members(sizes: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Roles, sexes, ages and disability for every member of households of the given sizes, vectorised."""
    total = int(sizes.sum())
    household_index = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    position = np.arange(total) - starts

    head_female = rng.random(len(sizes)) < 0.15
    head_age = rng.integers(20, 76, len(sizes))
    has_spouse = rng.random(len(sizes)) < 0.85

    role = np.full(total, "child", dtype=object)
    age = rng.integers(0, 18, total)
    sex = np.where(rng.random(total) < 0.5, "F", "M").astype(object)

    is_head = position == 0
    role[is_head] = "head"
    age[is_head] = head_age[household_index[is_head]]
    sex[is_head] = np.where(head_female[household_index[is_head]], "F", "M")

    is_spouse = (position == 1) & has_spouse[household_index]
    role[is_spouse] = "spouse"
    spouse_of = household_index[is_spouse]
    age[is_spouse] = np.clip(head_age[spouse_of] + rng.integers(-8, 3, is_spouse.sum()), 18, 95)
    sex[is_spouse] = np.where(head_female[spouse_of], "M", "F")

    # Among the rest, some are grandparents or other relatives rather than children.
    others = ~is_head & ~is_spouse
    elder = others & (rng.random(total) < 0.12)
    role[elder] = "other_relative"
    age[elder] = rng.integers(55, 95, elder.sum())
    lodger = others & ~elder & (rng.random(total) < 0.02)
    role[lodger] = "non_relative"
    age[lodger] = rng.integers(15, 60, lodger.sum())
    # Children are younger than the head by at least 15 years.
    children = role == "child"
    age[children] = np.minimum(age[children], np.maximum(head_age[household_index[children]] - 15, 0))

    disability_rate = np.where(age >= 60, 0.28, np.where(age >= 18, 0.05, 0.02))
    days = rng.integers(0, 365, total)
    birth = np.array([REFERENCE_DATE.toordinal()] * total) - age * 365 - days
    # Women of reproductive age: about 6 % pregnant and 10 % breastfeeding at any one time (never both here).
    maternal = rng.random(total)
    childbearing_age = (sex == "F") & (age >= 15) & (age <= 49)
    return {
        "household_index": household_index,
        "position": position,
        "role": role,
        "sex": sex,
        "birth_ordinal": birth,
        "disability": rng.random(total) < disability_rate,
        "is_pregnant": childbearing_age & (maternal < 0.06),
        "is_lactating": childbearing_age & (maternal >= 0.06) & (maternal < 0.16),
    }


def generate_batches(
    total: int, *, seed: int, areas: list[AreaWeight], chunk: int = 100_000, first_number: int = 0
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]]:
    """Yield (number offset, x, y, sizes, members, given-name index, family index) chunk by chunk; same seed, same
    data. Households are numbered from first_number + 1 (their DEMO-… external ids)."""
    rng = np.random.default_rng(seed)
    weights = np.array([area.weight for area in areas])
    per_area = rng.multinomial(total, weights / weights.sum())
    # Points are drawn per area up front (cheap arrays), then shuffled so every chunk spans the country.
    xs, ys = [], []
    for area, count in zip(areas, per_area, strict=True):
        if count:
            x, y = _points_in(area.geometry, int(count), rng)
            xs.append(x)
            ys.append(y)
    order = rng.permutation(total)
    all_x, all_y = np.concatenate(xs)[order], np.concatenate(ys)[order]
    for offset in range(0, total, chunk):
        n = min(chunk, total - offset)
        sizes = np.clip(1 + rng.poisson(3.2, n), 1, 12)
        members = _members(sizes, rng)
        given = rng.integers(0, len(MALE_NAMES), int(sizes.sum()))
        family = rng.integers(0, len(FAMILY_NAMES), n)
        yield (
            first_number + offset,
            all_x[offset : offset + n],
            all_y[offset : offset + n],
            sizes,
            members,
            given,
            family,
        )


def load_demo_households(
    total: int,
    *,
    seed: int = 2026,
    chunk: int = 100_000,
    progress: Progress | None = None,
    workers: int = 2,
    areas: list[AreaWeight] | None = None,
    first_number: int = 0,
    source: str = DEMO_SOURCE,
) -> dict[str, int]:
    """Generate and COPY `total` households with their members; areas are assigned set-based in SQL.

    By default they are spread over the country's lowest areas; `areas` places them in given shapes instead (a
    city's streets for a scenario), numbered from `first_number` + 1 so they do not meet the country-wide ones, and
    marked with their own `source` so that replacing the country-wide demo leaves them alone.

    Each chunk is one transaction. Outside a caller's transaction, `workers` chunks load at once on their own
    connections, so that the database uses more than one core; inside one (a test, a larger use case) they load in
    order on the caller's connection, within its transaction.
    """
    areas = areas or demo_area_weights()
    counts = {"households": 0, "individuals": 0}
    batches = generate_batches(total, seed=seed, areas=areas, chunk=chunk, first_number=first_number)

    def done(households: int, people: int) -> None:
        counts["households"] += households
        counts["individuals"] += people
        if progress:
            progress(counts["households"], total)

    if workers <= 1 or connection.in_atomic_block:
        for batch in batches:
            done(*_load_chunk(batch, source))
        return counts

    audit_state = current_context()

    def in_worker(batch) -> tuple[int, int]:
        try:
            with contextlib.ExitStack() as stack:
                if audit_state is not None:
                    stack.enter_context(audit_context(actor=audit_state[0], source=audit_state[1]))
                return _load_chunk(batch, source)
        finally:
            connection.close()  # the worker thread's own connection

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = set()
        for batch in batches:  # at most `workers` chunks generated ahead, so memory stays flat
            pending.add(pool.submit(in_worker, batch))
            if len(pending) >= workers:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    done(*future.result())
        for future in pending:
            done(*future.result())
    return counts


def _load_chunk(batch, source: str = DEMO_SOURCE) -> tuple[int, int]:
    with transaction.atomic(), connection.cursor() as cursor:
        _copy_chunk(cursor, *batch, source=source)
    sizes = batch[3]
    return len(sizes), int(sizes.sum())


def _copy_chunk(cursor, offset, x, y, sizes, members, given, family, *, source: str = DEMO_SOURCE) -> None:
    n, people = len(sizes), int(sizes.sum())
    household_ids = allocate_ids("registry_household", n, cursor=cursor)
    individual_ids = allocate_ids("registry_individual", people, cursor=cursor)
    today = dt.date.today().isoformat()

    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS demo_household_stage "
        "(id bigint, external_id text, location geometry(Point, 4326)) ON COMMIT DELETE ROWS"
    )
    cursor.execute(
        "CREATE INDEX IF NOT EXISTS demo_household_stage_location ON demo_household_stage USING gist (location)"
    )
    # Emptied explicitly: inside an outer transaction (a caller's, or a test's) chunks never reach COMMIT.
    cursor.execute("TRUNCATE demo_household_stage")
    copy_rows(
        "demo_household_stage",
        ("id", "external_id", "location"),
        zip(
            household_ids.tolist(),
            (f"DEMO-{offset + i + 1:08d}" for i in range(n)),
            (f"SRID=4326;POINT({px} {py})" for px, py in zip(x.tolist(), y.tolist(), strict=True)),
            strict=True,
        ),
        cursor=cursor,
    )
    cursor.execute("ANALYZE demo_household_stage")
    # One set-based statement places every household in its lowest area (see geo.spatial.lowest_area_sql).
    cursor.execute(
        f"""
        INSERT INTO registry_household (id, kind, external_id, location, location_precision, area_id, address,
                                        registered_on, source, created_at, updated_at)
        SELECT s.id, 'household', s.external_id, s.location, 'gps', a.area_id, '', %s, %s, now(), now()
        FROM demo_household_stage s LEFT JOIN ({lowest_area_sql("demo_household_stage")}) a ON a.id = s.id
        """,
        [today, source],
    )

    member_household = household_ids[members["household_index"]]
    family_of_member = np.array(FAMILY_NAMES, dtype=object)[family][members["household_index"]]
    female = members["sex"] == "F"
    given_names = np.where(
        female, np.array(FEMALE_NAMES, dtype=object)[given], np.array(MALE_NAMES, dtype=object)[given]
    )
    births = (members["birth_ordinal"] - UNIX_EPOCH_ORDINAL).astype("datetime64[D]").astype(str)
    member_numbers = offset + members["household_index"] + 1
    copy_rows(
        "registry_individual",
        (
            "id",
            "external_id",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "disability",
            "is_pregnant",
            "is_lactating",
            "created_at",
            "updated_at",
        ),
        zip(
            individual_ids.tolist(),
            (
                f"DEMO-{h:08d}-{p + 1:02d}"
                for h, p in zip(member_numbers.tolist(), members["position"].tolist(), strict=True)
            ),
            given_names.tolist(),
            family_of_member.tolist(),
            births.tolist(),
            members["sex"].tolist(),
            members["disability"].tolist(),
            members["is_pregnant"].tolist(),
            members["is_lactating"].tolist(),
            [today] * people,
            [today] * people,
            strict=True,
        ),
        cursor=cursor,
    )
    copy_rows(
        "registry_membership",
        ("household_id", "individual_id", "role", "start_date"),
        zip(
            member_household.tolist(), individual_ids.tolist(), members["role"].tolist(), [today] * people, strict=True
        ),
        cursor=cursor,
    )


def demo_household_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM registry_household WHERE source = %s", [DEMO_SOURCE])
        return cursor.fetchone()[0]
