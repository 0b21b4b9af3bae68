"""Running long jobs: one runner for every job row, and their progress written where pollers can see it.

`run_job` is how every job task runs its row (spmis.core.models.Job):

- it **claims** the row in one statement (`UPDATE … WHERE status = 'pending'`), so a task that Celery delivers twice
  (it delivers at least once) finds the row taken or finished and does nothing;
- while the work runs, a **heartbeat** thread stamps the row every few seconds on its own connection; a running row
  whose heartbeat stopped (its worker was killed) may be claimed again by a redelivered task, and is failed by the
  periodic sweep (`jobs_fail_stuck`) when no redelivery comes;
- the work runs in one transaction with the outcome written **inside** it, fenced by the claim number: a worker
  whose claim was taken over cannot record anything, and its work rolls back;
- every exception ends the row: validation errors keep their field detail, transient database errors (serialisation
  failures, deadlocks, lost connections) are retried a few times, anything else is logged and stored as a plain
  generic error naming no internals.

A job's real work runs in one transaction so that a failure leaves nothing behind; progress written on that same
connection would stay invisible until the very end. ProgressWriter updates the job row on its own autocommitting
connection instead.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.models import Q
from django.utils import timezone
from psycopg import sql

from spmis.core.audit import current_context
from spmis.core.models import Job

logger = logging.getLogger(__name__)
Progress = Callable[[int, str], None]
J = TypeVar("J", bound=Job)

UNEXPECTED_ERROR = "The job failed unexpectedly; the administrators have the details in the server log."
TRANSIENT_ERROR = "The database was busy or unreachable and retries did not help; start the job again."
STUCK_ERROR = "The job stopped answering (its worker was lost) and was ended; start it again."
# SQLSTATEs worth running the work again for: serialization_failure, deadlock_detected, and the connection classes.
TRANSIENT_SQLSTATES = {"40001", "40P01"}


class ProgressWriter:
    """progress(percent, message) on a job row (any table with `progress` and `message` columns).

    Best effort: a short lock timeout, and after the first database error it stops writing rather than fail or stall
    the job (the row may be locked by the job's own transaction, e.g. when the job runs inside a caller's).
    Writes are attributed in the audit log like the job's own (the caller's audit context, if any). With `every`
    (seconds), a write that follows the previous one sooner is skipped: for jobs that finish in about a second, where
    each audited write would cost a noticeable share of the run.
    """

    def __init__(self, table: str, job_id: int, *, using: str = DEFAULT_DB_ALIAS, every: float = 0.0):
        self.table, self.job_id = table, job_id
        self._connection = connections.create_connection(using)
        self._ready = False
        self._broken = False
        self._every = every
        self._last = -math.inf

    def __call__(self, percent: int, message: str) -> None:
        if self._broken:
            return
        now = time.monotonic()
        if now - self._last < self._every:
            return
        self._last = now
        try:
            with self._connection.cursor() as cursor:
                if not self._ready:
                    context = current_context()
                    actor = context[0]() if context and callable(context[0]) else context[0] if context else ""
                    cursor.execute(
                        "SELECT set_config('lock_timeout', '2s', false), set_config('spmis.actor', %s, false), "
                        "set_config('spmis.source', %s, false)",
                        [actor, context[1] if context else ""],
                    )
                    self._ready = True
                cursor.execute(
                    sql.SQL("UPDATE {} SET progress = %s, message = %s, heartbeat_at = now() WHERE id = %s").format(
                        sql.Identifier(self.table)
                    ),
                    [max(0, min(100, int(percent))), message[:255], self.job_id],
                )
        except DatabaseError:
            self._broken = True

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> ProgressWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def error_detail(error: Exception, *, field: str) -> dict:
    """A job's error in the API's shape: {field: [messages]}, naming `field` when the error names none."""
    if isinstance(error, ValidationError):
        return error.message_dict if hasattr(error, "error_dict") else {field: error.messages}
    return {field: [str(error)]}


@dataclass
class JobOutcome:
    """What a job's work returns: the result to store, the closing message, and other columns of the row to set
    (a created layer, the report file, …)."""

    result: dict
    message: str = "Done"
    fields: dict = field(default_factory=dict)


class JobLost(RuntimeError):
    """The row was taken from this worker (presumed dead and claimed again, or failed by the sweep)."""


def _setting(name: str) -> float:
    return settings.SPMIS[name]


def is_transient(error: Exception) -> bool:
    """A database error that running the same work again may not meet: lost connection, deadlock, serialisation."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    sqlstate = getattr(getattr(error, "__cause__", None), "sqlstate", None)
    return sqlstate is None or sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith("08")


def job_claim(model: type[J], job_id: int) -> int | None:
    """Take a pending row (or a running one whose heartbeat stopped) for this worker. Returns the claim number, or
    None when the row is finished, running elsewhere, or gone."""
    stale_before = timezone.now() - timedelta(seconds=_setting("JOB_STALE_AFTER_S"))
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                """UPDATE {table} SET status = 'running', attempts = attempts + 1, started_at = now(),
                          heartbeat_at = now(), message = 'Started'
                   WHERE id = %s AND (status = 'pending'
                                      OR (status = 'running' AND coalesce(heartbeat_at, started_at) < %s))
                   RETURNING attempts"""
            ).format(table=sql.Identifier(model._meta.db_table)),
            [job_id, stale_before],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _record(model: type[J], job_id: int, claim: int, **fields) -> None:
    updated = model.objects.filter(pk=job_id, status=Job.Status.RUNNING, attempts=claim).update(**fields)
    if not updated:
        raise JobLost(f"{model._meta.label} {job_id}: claim {claim} was taken over")


class Heartbeat:
    """Stamps a running row's heartbeat_at every few seconds from a thread with its own connection, while its
    claim holds. Never blocks on the row (SKIP LOCKED) and never fails the job."""

    def __init__(self, model: type[Job], job_id: int, claim: int, *, every: float | None = None):
        self.statement = sql.SQL(
            """UPDATE {table} SET heartbeat_at = now()
               WHERE id = (SELECT id FROM {table} WHERE id = %s AND status = 'running' AND attempts = %s
                           FOR UPDATE SKIP LOCKED)"""
        ).format(table=sql.Identifier(model._meta.db_table))
        self.params = [job_id, claim]
        self.every = every if every is not None else _setting("JOB_HEARTBEAT_S")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{model._meta.label}-{job_id}", daemon=True)

    def _run(self) -> None:
        beat = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            while not self._stop.wait(self.every):
                try:
                    with beat.cursor() as cursor:
                        cursor.execute(self.statement, self.params)
                except DatabaseError:
                    logger.warning("heartbeat of %s failed; trying again", self._thread.name, exc_info=True)
                    beat.close()
        finally:
            beat.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def run_job(
    model: type[J],
    job_id: int,
    work: Callable[[J, Progress], JobOutcome],
    *,
    error_field: str,
    atomic: bool = True,
    cleanup: Callable[[J], dict] | None = None,
    progress_every: float = 0.0,
) -> J:
    """Run one job row to its end, once, whatever `work` raises; returns the row as stored afterwards.

    `work(job, progress)` does the job and returns a JobOutcome. With `atomic` (the default) it runs in one
    transaction that also records the outcome, so results and status commit together; jobs that commit in steps of
    their own (or call out over the network) pass atomic=False. `cleanup(job)` runs after every attempt's end,
    whatever the outcome (remove an uploaded file, say), and returns columns to set with the outcome.
    A row that is finished, or running under a live worker, is returned as it is: a redelivered task redoes nothing.
    """
    claim = job_claim(model, job_id)
    if claim is None:
        logger.info("%s %s is not pending; nothing to do", model._meta.label, job_id)
        return model.objects.get(pk=job_id)
    job = model.objects.get(pk=job_id)
    # Inside a caller's transaction (a test, or a job run from another job) a retry could not start afresh.
    retries = 0 if connection.in_atomic_block else int(_setting("JOB_TRANSIENT_RETRIES"))
    with Heartbeat(model, job_id, claim):
        for attempt in range(retries + 1):
            try:
                _attempt(model, job, claim, work, error_field, atomic, cleanup, progress_every)
            except JobLost:
                logger.warning("%s %s was taken over; its work was discarded", model._meta.label, job_id)
            except DatabaseError as error:
                if is_transient(error) and attempt < retries:
                    logger.warning("%s %s: transient database error, retrying", model._meta.label, job_id)
                    connection.close_if_unusable_or_obsolete()
                    if not connection.is_usable():
                        connection.close()
                    time.sleep(min(2**attempt, 10))
                    job = model.objects.get(pk=job_id)  # afresh: the failed attempt may have changed it in memory
                    continue
                logger.exception("%s %s failed", model._meta.label, job_id)
                message = TRANSIENT_ERROR if is_transient(error) else UNEXPECTED_ERROR
                _fail(model, job, claim, {error_field: [message]}, cleanup)
            break
    job.refresh_from_db()
    return job


def _attempt(model, job, claim, work, error_field, atomic, cleanup, progress_every) -> None:
    table = model._meta.db_table
    try:
        with ProgressWriter(table, job.pk, every=progress_every) as progress:
            if atomic:
                with transaction.atomic():
                    outcome = work(job, progress)
                    _succeed(model, job, claim, outcome, cleanup)
            else:
                outcome = work(job, progress)
                _succeed(model, job, claim, outcome, cleanup)
    except (JobLost, DatabaseError):
        raise
    except ValidationError as error:
        _fail(model, job, claim, error_detail(error, field=error_field), cleanup)
    except Exception:
        logger.exception("%s %s failed", model._meta.label, job.pk)
        _fail(model, job, claim, {error_field: [UNEXPECTED_ERROR]}, cleanup)


def _succeed(model, job, claim, outcome: JobOutcome, cleanup) -> None:
    fields = {**outcome.fields, **(cleanup(job) if cleanup else {})}
    _record(
        model,
        job.pk,
        claim,
        status=Job.Status.SUCCEEDED,
        result=outcome.result,
        progress=100,
        message=outcome.message[:255],
        finished_at=timezone.now(),
        error={},
        **fields,
    )


def _fail(model, job, claim, error: dict, cleanup=None) -> None:
    fields = cleanup(job) if cleanup else {}
    try:
        _record(
            model,
            job.pk,
            claim,
            status=Job.Status.FAILED,
            error=error,
            message="Failed",
            finished_at=timezone.now(),
            **fields,
        )
    except JobLost:
        logger.warning("%s %s was taken over before its failure was recorded", model._meta.label, job.pk)


def job_models() -> list[type[Job]]:
    """Every concrete job table in the project."""
    return [model for model in apps.get_models() if issubclass(model, Job)]


def jobs_fail_stuck(*, now=None) -> dict[str, int]:
    """Fail every running job whose heartbeat stopped longer ago than SPMIS['JOB_STALE_AFTER_S'] (its worker was
    killed and no redelivery took it over). Returns the count per job table. Run by Celery beat."""
    stale_before = (now or timezone.now()) - timedelta(seconds=_setting("JOB_STALE_AFTER_S"))
    counts = {}
    for model in job_models():
        counts[model._meta.db_table] = (
            model.objects.filter(status=Job.Status.RUNNING)
            .filter(Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, started_at__lt=stale_before))
            .update(
                status=Job.Status.FAILED,
                error={"job": [STUCK_ERROR]},
                message="Failed",
                finished_at=timezone.now(),
            )
        )
    return counts
