"""Bulk database plumbing shared by the apps: COPY in and out (text and binary), id allocation. No models here."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from django.db import connection
from psycopg import sql

from spmis.core.binary_copy import COPY_HEADER, decode_tuple


def staging_table(cursor, name: str, columns: Sequence[tuple[str, str]], *, on_commit_drop: bool = False) -> None:
    """Create the temporary table `name` with (column, SQL type) pairs, replacing one an earlier job left in this
    session. Bulk loads COPY into a staging table, check and repair there in SQL, then merge in one statement."""
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
    cursor.execute(
        sql.SQL("CREATE TEMP TABLE {name} ({columns}){drop}").format(
            name=sql.Identifier(name),
            columns=sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(pgtype)) for column, pgtype in columns
            ),
            drop=sql.SQL(" ON COMMIT DROP") if on_commit_drop else sql.SQL(""),
        )
    )


def _copy_in(table: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence], *, cursor=None) -> int:
    """Stream rows into `table` with COPY (text format; psycopg escapes the values). Returns the number written.
    `cursor` may be Django's cursor or a psycopg one; without it a cursor of the default connection is used."""
    count = 0
    owned = cursor is None
    cursor = cursor or connection.cursor()
    raw = getattr(cursor, "cursor", cursor)
    try:
        with raw.copy(_copy_in(table, columns)) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    finally:
        if owned:
            cursor.close()
    return count


def copy_text(cursor, table: str, columns: Sequence[str], text: bytes) -> None:
    """Write ready-made COPY text (tab-separated, escaped lines) into `table`."""
    with getattr(cursor, "cursor", cursor).copy(_copy_in(table, columns)) as copy:
        copy.write(text)


def allocate_ids(table: str, count: int, *, cursor) -> np.ndarray:
    """Draw `count` primary keys from `table`'s sequence. Safe beside concurrent writers without locking the table:
    every id comes from nextval (ids from one call may have gaps if another session draws at the same time)."""
    if count <= 0:
        raise ValueError("count must be positive")
    cursor.execute(
        "SELECT array_agg(nextval(pg_get_serial_sequence(%s, 'id'))) FROM generate_series(1, %s)", [table, count]
    )
    return np.asarray(cursor.fetchone()[0], dtype=np.int64)


def copy_in_binary(cursor, table: str, columns: Sequence[str], payload: bytes) -> None:
    """Write a binary COPY payload (spmis.core.binary_copy.encode_binary_copy) into `table`."""
    statement = sql.SQL("{} (FORMAT binary)").format(_copy_in(table, columns))
    with getattr(cursor, "cursor", cursor).copy(statement) as copy:
        copy.write(payload)


def stream_batches(
    query: str | sql.Composable, types: list[str], batch_rows: int, *, depth: int = 4
) -> Iterator[list[np.ndarray]]:
    """Columns of `query` in numpy batches of at least `batch_rows` elements, read by binary COPY on a reader thread
    so the database keeps producing while the caller computes on the previous batch.

    The query returns a few wide rows rather than many narrow ones: each row holds arrays (`types` "int8[]",
    "float8[]") of equal length, plus scalars ("int8", …) that apply to its whole row. A client handles a COPY row
    by row in Python, which for a million narrow rows costs more than the database takes to produce them; arrays
    built by array_agg cost the database the same and the client nearly nothing. Rows with NULL arrays (an empty
    group) are skipped."""
    raw = connection.connection  # psycopg connection of the run's transaction; thread-safe
    batches: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    abandoned = threading.Event()
    first_array = next(position for position, pgtype in enumerate(types) if pgtype.endswith("[]"))

    def merge(rows: list[list]) -> list[np.ndarray]:
        columns = []
        lengths = [len(row[first_array]) for row in rows]
        for position, pgtype in enumerate(types):
            if pgtype.endswith("[]"):
                columns.append(np.concatenate([row[position] for row in rows]))
            else:
                columns.append(np.repeat(np.array([row[position] for row in rows]), lengths))
        return columns

    def reader() -> None:
        try:
            pending, header, rows, count = b"", True, [], 0
            statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(
                query if isinstance(query, sql.Composable) else sql.SQL(query)
            )
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for data in copy:
                    if abandoned.is_set():
                        continue  # drain what the server still sends; the consumer has gone
                    pending = pending + bytes(data) if pending else bytes(data)
                    position = 0
                    if header:
                        if len(pending) < len(COPY_HEADER):
                            continue
                        position, header = len(COPY_HEADER), False
                    while (parsed := decode_tuple(pending, position, types)) is not None:
                        fields, position = parsed
                        if any(field is None for field in fields):
                            continue
                        rows.append(fields)
                        count += len(fields[first_array])
                        if count >= batch_rows:
                            batches.put(merge(rows))
                            rows, count = [], 0
                    pending = pending[position:]
            if rows:
                batches.put(merge(rows))
            batches.put(done)
        except BaseException as error:  # handed to the consumer, which re-raises it in the analysis
            batches.put(error)

    thread = threading.Thread(target=reader, name="copy-reader", daemon=True)
    thread.start()
    try:
        while (item := batches.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        abandoned.set()
        while thread.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.1)
        thread.join()
