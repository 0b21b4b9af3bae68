"""Writing the payment ledger: every change of a payment's status is an INSERT into programs_paymentevent, set-based.

The database does the rest (programs/sql/0008_payment_ledger.sql): the events table refuses UPDATE and DELETE, a
trigger moves each payment's status along the allowed transitions, and a payment reaches each state at most once
(unique payment + status), so writing the same events twice adds nothing.
"""

from __future__ import annotations

from django.db import connection
from psycopg import sql

from programs.payments.models import PaymentBatch


def record_events(
    *,
    batch: PaymentBatch,
    status: str,
    where: str = "true",
    params: list | None = None,
    reason_code: str = "",
    reason: str = "",
    file_id: int | None = None,
    actor: str = "",
) -> int:
    """Move the batch's payments matching `where` (SQL over programs_payment, our own fixed text: never user input)
    to `status`, where the transition is allowed. Returns how many events were written."""
    statement = sql.SQL(
        """INSERT INTO programs_paymentevent (payment_id, batch_id, status, reason_code, reason, file_id, actor)
           SELECT id, batch_id, %s, %s, %s, %s, %s FROM programs_payment
            WHERE batch_id = %s AND programs_payment_may_become(status, %s) AND ({where})
           ON CONFLICT (payment_id, status) DO NOTHING"""
    ).format(where=sql.SQL(where))
    with connection.cursor() as cursor:
        cursor.execute(
            statement.as_string(cursor.connection),
            [status, reason_code, reason[:255], file_id, actor[:150], batch.pk, status, *(params or [])],
        )
        return cursor.rowcount
