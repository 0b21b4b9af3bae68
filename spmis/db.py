"""Bulk database plumbing shared by the apps: COPY and id reservation. No models here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def reserve_ids(table: str, count: int, *, cursor) -> int:
    """Reserve `count` consecutive primary keys of `table` and return the first. Call inside a transaction that
    holds a lock on the table, so no concurrent insert takes an id from the range."""
    if count <= 0:
        raise ValueError("count must be positive")
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'), nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
        [table, table, count],
    )
    last = cursor.fetchone()[0]
    return last - count + 1
