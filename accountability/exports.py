"""CSV exports of the accountability pages, streamed: each row is written as it is produced, so memory stays flat
whatever the size (the audit log's export streams straight from COPY, see selectors.audit)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence


def csv_stream(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """The header, then one encoded line per row (a UTF-8 byte order mark first, so spreadsheets read the names)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(header)
    yield "\ufeff".encode() + flush()
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
        yield flush()


AREA_COLUMNS = [
    ("area_code", lambda r: r["code"]),
    ("area_name", lambda r: r["name"]),
    ("affected_households", lambda r: r["affected"]["households"]),
    ("affected_people", lambda r: r["affected"]["people"]),
    ("affected_enrolled", lambda r: r["affected"]["enrolled"]),
    ("affected_entitled", lambda r: r["affected"]["entitled"]),
    ("enrolled", lambda r: r["enrolled"]),
    ("entitlements_planned", lambda r: r["entitlements"]["planned"]["count"]),
    ("amount_planned", lambda r: r["entitlements"]["planned"]["amount"]),
    ("entitlements_approved", lambda r: r["entitlements"]["approved"]["count"]),
    ("amount_approved", lambda r: r["entitlements"]["approved"]["amount"]),
    ("payments_planned", lambda r: r["payments"]["planned"]["count"]),
    ("amount_payments_planned", lambda r: r["payments"]["planned"]["amount"]),
    ("payments_paid", lambda r: r["payments"]["paid"]["count"]),
    ("amount_paid", lambda r: r["payments"]["paid"]["amount"]),
    ("payments_failed", lambda r: r["payments"]["failed"]["count"]),
    ("amount_failed", lambda r: r["payments"]["failed"]["amount"]),
    ("payments_returned", lambda r: r["payments"]["returned"]["count"]),
    ("payments_pending", lambda r: r["payments"]["pending"]["count"]),
    ("distribution_planned", lambda r: r["distribution"]["planned"]),
    ("distribution_redeemed", lambda r: r["distribution"]["redeemed"]),
]
SERIES_COLUMNS = [
    ("day", lambda r: r["day"]),
    ("paid", lambda r: r["paid"]["count"]),
    ("amount_paid", lambda r: r["paid"]["amount"]),
    ("failed", lambda r: r["failed"]["count"]),
    ("amount_failed", lambda r: r["failed"]["amount"]),
    ("redeemed", lambda r: r["redeemed"]),
]
STOCK_COLUMNS = [
    ("warehouse", lambda r: r["warehouse"]),
    ("warehouse_name", lambda r: r["warehouse_name"]),
    ("item", lambda r: r["item"]),
    ("item_name", lambda r: r["item_name"]),
    ("unit", lambda r: r["unit"]),
    ("on_hand", lambda r: r["on_hand"]),
]


def table_csv(columns, rows: Iterable[dict]) -> Iterator[bytes]:
    return csv_stream([name for name, _ in columns], ([get(row) for _, get in columns] for row in rows))
