"""Bulk database plumbing shared by the apps: COPY and id allocation. No models here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from django.db import connection


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence], *, cursor=None) -> int:
    """Stream rows into `table` with COPY (binary-safe text format). Returns the number of rows written."""
    count = 0
    column_list = ", ".join(columns)
    owned = cursor is None
    cursor = cursor or connection.cursor()
    try:
        with cursor.cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    finally:
        if owned:
            cursor.close()
    return count


def allocate_ids(table: str, count: int, *, cursor) -> np.ndarray:
    """Draw `count` primary keys from `table`'s sequence. Safe beside concurrent writers without locking the table:
    every id comes from nextval (ids from one call may have gaps if another session draws at the same time)."""
    if count <= 0:
        raise ValueError("count must be positive")
    cursor.execute(
        "SELECT array_agg(nextval(pg_get_serial_sequence(%s, 'id'))) FROM generate_series(1, %s)", [table, count]
    )
    return np.asarray(cursor.fetchone()[0], dtype=np.int64)
