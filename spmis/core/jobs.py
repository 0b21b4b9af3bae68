"""Progress of long jobs, written where pollers can see it.

A job's real work runs in one transaction so that a failure leaves nothing behind; progress written on that same
connection would stay invisible until the very end. ProgressWriter updates the job row on its own autocommitting
connection instead.
"""

from __future__ import annotations

import math
import time

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from geo.audit import current_context


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
                    f"UPDATE {self.table} SET progress = %s, message = %s WHERE id = %s",
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
