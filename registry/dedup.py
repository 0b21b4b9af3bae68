"""Duplicate detection. Candidate pairs come from blocking in SQL (same area and similar name, same ID document
number, same phone, same birth date and nearby); only those pairs are scored in Python with rapidfuzz and the
geodesic distance, and the ones above the threshold join the review queue (DuplicateCandidate)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from psycopg import sql
from rapidfuzz import fuzz

from geo.selectors import user_area_ids
from registry.models import DedupRun
from spmis.core.bulk import copy_rows, staging_table
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)
Progress = Callable[[int, str], None]
BATCH = 50_000
REASON_WEIGHTS = {"same_id_document": 0.35, "same_phone": 0.15}


@dataclass
class DedupOptions:
    name_threshold: float = 0.85
    distance_m: float = 2000.0
    min_score: float = 0.7
    name_similarity: float = 0.4  # pg_trgm similarity needed inside an area block
    # A name block this large (a very common name in one area) would yield pairs by the hundred thousand; such
    # people are still compared through their IDs, phones and birth date + location.
    max_block: int = 200

    def validate(self) -> None:
        if not 0 <= self.name_threshold <= 1 or not 0 <= self.min_score <= 1:
            raise ValidationError({"name_threshold": "Thresholds lie between 0 and 1."})
        if self.distance_m < 0:
            raise ValidationError({"distance_m": "The distance cannot be negative."})


@dataclass
class DedupResult:
    individuals: int = 0
    candidate_pairs: int = 0
    scored_pairs: int = 0
    queued: int = 0
    by_reason: dict | None = None
    oversized_name_blocks: int = 0


def _noop(percent: int, message: str) -> None:
    return None


def pair_score(
    *, name_a: str, name_b: str, same_birth_date: bool, distance_m: float | None, reasons: list[str], options
) -> tuple[float, float]:
    """(score, name score) of a candidate pair; pure so it can be tested without a database."""
    name = fuzz.token_sort_ratio(name_a, name_b) / 100
    score = 0.6 * name
    if same_birth_date:
        score += 0.2
    if distance_m is not None and options.distance_m > 0:
        score += 0.15 * max(0.0, 1 - distance_m / options.distance_m)
    for reason in reasons:
        score += REASON_WEIGHTS.get(reason, 0)
    if name >= options.name_threshold and same_birth_date:
        score += 0.1
    return min(score, 1.0), name


SCORED_COLUMNS = [
    ("a", "bigint"), ("b", "bigint"), ("reasons", "jsonb"), ("name_score", "float8"), ("distance_m", "float8"),
    ("score", "float8"),
]  # fmt: skip


def dedup_find(
    *, options: DedupOptions, run_id: int | None = None, progress: Progress = _noop, area_ids: list[int] | None = None
) -> DedupResult:
    """Find and score candidate pairs; queue new ones (pairs already reviewed keep their decision). With `area_ids`
    (the areas of the user who started the run), only people whose current household lies in them are compared."""
    options.validate()
    result = DedupResult()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        progress(5, "Preparing individuals")
        cursor.execute("DROP TABLE IF EXISTS dedup_person")
        cursor.execute(
            """
            CREATE TEMP TABLE dedup_person AS
            SELECT DISTINCT ON (i.id) i.id, registry_fold(i.given_name || ' ' || i.family_name) AS name,
                   soundex(registry_fold(i.given_name)) AS given_key,
                   soundex(registry_fold(i.family_name)) AS family_key,
                   i.birth_date, h.area_id, h.location
            FROM registry_individual i
            LEFT JOIN registry_membership m ON m.individual_id = i.id AND m.end_date IS NULL
            LEFT JOIN registry_household h ON h.id = m.household_id
            WHERE i.merged_into_id IS NULL AND i.status <> 'deceased'
              AND (%(national)s OR h.area_id IN (SELECT id FROM geo_area WHERE lineage && %(area_ids)s::bigint[]))
            ORDER BY i.id, m.start_date DESC
            """,
            {"national": area_ids is None, "area_ids": list(area_ids or [])},
        )
        result.individuals = cursor.rowcount
        cursor.execute(
            "ALTER TABLE dedup_person ADD COLUMN block_size int; "
            "UPDATE dedup_person p SET block_size = b.size FROM ("
            " SELECT area_id, given_key, family_key, count(*) AS size FROM dedup_person"
            " GROUP BY area_id, given_key, family_key) b"
            " WHERE (b.area_id, b.given_key, b.family_key) = (p.area_id, p.given_key, p.family_key)"
        )
        cursor.execute(
            "SELECT count(DISTINCT (area_id, given_key, family_key)) FROM dedup_person WHERE block_size > %s",
            [options.max_block],
        )
        result.oversized_name_blocks = cursor.fetchone()[0]
        cursor.execute("CREATE INDEX ON dedup_person (id)")
        cursor.execute("ANALYZE dedup_person")
        progress(20, "Blocking candidate pairs")
        cursor.execute("DROP TABLE IF EXISTS dedup_pair")
        cursor.execute(
            """
            CREATE TEMP TABLE dedup_pair AS
            SELECT a, b, array_agg(DISTINCT reason ORDER BY reason) AS reasons FROM (
                SELECT p.id AS a, q.id AS b, 'similar_name_same_area' AS reason
                FROM dedup_person p JOIN dedup_person q
                  ON q.area_id = p.area_id AND q.given_key = p.given_key AND q.family_key = p.family_key
                 AND q.id > p.id
                WHERE p.block_size <= %(max_block)s AND similarity(p.name, q.name) >= %(similarity)s
                UNION ALL
                SELECT d1.individual_id, d2.individual_id, 'same_id_document'
                FROM registry_iddocument d1 JOIN registry_iddocument d2
                  ON d2.number = d1.number AND d2.individual_id > d1.individual_id
                UNION ALL
                SELECT p1.individual_id, p2.individual_id, 'same_phone'
                FROM registry_phone p1 JOIN registry_phone p2
                  ON p2.number = p1.number AND p2.individual_id > p1.individual_id
                UNION ALL
                SELECT p.id, q.id, 'same_birth_date_nearby'
                FROM dedup_person p JOIN dedup_person q
                  ON q.birth_date = p.birth_date AND q.area_id = p.area_id AND q.id > p.id
                WHERE ST_DWithin(p.location::geography, q.location::geography, %(distance)s)
            ) pairs
            GROUP BY a, b
            """,
            {"similarity": options.name_similarity, "distance": options.distance_m, "max_block": options.max_block},
        )
        result.candidate_pairs = cursor.rowcount
        cursor.execute(
            "SELECT reason, count(*) FROM dedup_pair, unnest(reasons) reason GROUP BY reason ORDER BY reason"
        )
        result.by_reason = dict(cursor.fetchall())
        progress(50, f"Scoring {result.candidate_pairs} candidate pairs")
        staging_table(cursor, "dedup_scored", SCORED_COLUMNS)
        # Named (server-side) cursor: pairs are scored in batches, never all in memory.
        with connection.connection.cursor(name="dedup_pairs") as pairs, connection.connection.cursor() as writer:
            pairs.execute(
                """
                SELECT c.a, c.b, c.reasons, p.name, q.name, p.birth_date = q.birth_date,
                       ST_Distance(p.location::geography, q.location::geography)
                FROM dedup_pair c
                JOIN dedup_person p ON p.id = c.a JOIN dedup_person q ON q.id = c.b
                """
            )
            # One connection cannot fetch and COPY at once: score a batch, then write it.
            while batch := pairs.fetchmany(BATCH):
                kept = []
                for a, b, reasons, name_a, name_b, same_date, distance in batch:
                    score, name = pair_score(
                        name_a=name_a or "",
                        name_b=name_b or "",
                        same_birth_date=bool(same_date),
                        distance_m=distance,
                        reasons=reasons,
                        options=options,
                    )
                    if score >= options.min_score:
                        kept.append((a, b, json.dumps(reasons), name, distance, score))
                result.scored_pairs += len(batch)
                copy_rows("dedup_scored", [name for name, _ in SCORED_COLUMNS], kept, cursor=writer)
        progress(85, "Queueing pairs for review")
        cursor.execute(
            """
            INSERT INTO registry_duplicatecandidate (first_id, second_id, reasons, name_score, distance_m, score,
                                                     status, run_id, merge_result)
            SELECT a, b, reasons, name_score, distance_m, score, 'pending', %s, '{}' FROM dedup_scored
            ON CONFLICT (first_id, second_id) DO UPDATE SET
                reasons = EXCLUDED.reasons, name_score = EXCLUDED.name_score, distance_m = EXCLUDED.distance_m,
                score = EXCLUDED.score, run_id = EXCLUDED.run_id
            WHERE registry_duplicatecandidate.status = 'pending'
            """,
            [run_id],
        )
        result.queued = cursor.rowcount
        for table in ("dedup_scored", "dedup_pair", "dedup_person"):
            cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    progress(100, "Done")
    return result


def dedup_run_start(*, user, **parameters) -> DedupRun:
    """Record a dedup run and queue it after commit; returns the row to poll."""
    DedupOptions(**parameters).validate()
    with transaction.atomic(durable=True):
        run = DedupRun.objects.create(parameters=parameters, created_by=user)
        enqueue_on_commit("registry.dedup", run.pk)
    return run


def dedup_run_execute(*, run_id: int) -> DedupRun:
    def work(run: DedupRun, progress) -> JobOutcome:
        # A run started by a user bound to areas compares the people in those areas only; system runs are national.
        area_ids = user_area_ids(run.created_by) if run.created_by_id else None
        result = dedup_find(options=DedupOptions(**run.parameters), run_id=run.pk, progress=progress, area_ids=area_ids)
        return JobOutcome(result=asdict(result), message=f"{result.queued} pairs queued for review")

    return run_job(DedupRun, run_id, work, error_field="parameters")
