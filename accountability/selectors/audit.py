"""The audit log for auditors: filters over geo's audit selector (geo.selectors.audit_event_list), a record's full
history, and a CSV export streamed from COPY.

Values (before/after) of tables that hold personal data are withheld from users without the personal-data
permission (geo.selectors.audit_withheld_tables), and from every user bound to areas: an audit row names a record
of any table, and which area it belongs to cannot be told from the log, so values are shown only to national
auditors that hold the permission. The rows themselves (who, when, which record) are shown to every auditor."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, JSONField, QuerySet, Value
from django.db.models.expressions import Case, When

from geo.selectors import audit_event_list, audit_withheld_tables
from spmis.core.models import AuditEvent

SOURCES = ("api", "admin", "web", "command", "task", "sql")
ACTIONS = ("insert", "update", "delete")
VALUE_COLUMNS = (
    "id",
    "at",
    "actor",
    "source",
    "table_name",
    "row_id",
    "action",
    "before_value",
    "after_value",
    "transaction_id",
)
CSV_COLUMNS = ("id", "at", "actor", "source", "table_name", "row_id", "action", "before", "after", "transaction_id")


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    table: str | None = None
    row_id: int | None = None
    source: str | None = None
    action: str | None = None
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None


def withheld_tables(user) -> set[str]:
    """Tables whose audited values this user may not read (see the module docstring): geo's rule, the same for
    every reader of the log."""
    return audit_withheld_tables(user)


def actor_names(actor: str) -> list[str]:
    """A user name matches the actor label the audit writes for users (user:<name>); any other label as is."""
    return [actor] if ":" in actor else [actor, f"user:{actor}"]


def audit_log(*, user, filters: AuditFilter) -> QuerySet[AuditEvent]:
    """The audit rows matching the filters, newest first. The time range is read through the BRIN index on `at`,
    a record through the (table, row) index."""
    queryset = audit_event_list(
        table_name=filters.table, row_id=str(filters.row_id) if filters.row_id is not None else None
    )
    if filters.actor:
        queryset = queryset.filter(actor__in=actor_names(filters.actor))
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    if filters.action:
        queryset = queryset.filter(action=filters.action)
    if filters.since:
        queryset = queryset.filter(at__gte=filters.since)
    if filters.until:
        queryset = queryset.filter(at__lt=filters.until)
    return queryset.order_by("-id")


def changed_fields(event: AuditEvent) -> list[str]:
    """The columns an update changed (every column of an insert or a delete); names only, never values."""
    before, after = event.before or {}, event.after or {}
    keys = sorted(set(before) | set(after))
    if event.action != "update":
        return keys
    return [key for key in keys if before.get(key) != after.get(key)]


def record_history(*, user, table: str, row_id: int) -> dict:
    """Every audited change of one record, oldest first, with the columns each changed; values withheld as in the
    list."""
    events = list(audit_event_list(table_name=table, row_id=str(row_id)).order_by("id"))
    withheld = table in withheld_tables(user)
    return {
        "table_name": table,
        "row_id": row_id,
        "values_withheld": withheld,
        "exists_now": bool(events) and events[-1].action != "delete",
        "events": [
            {
                "id": event.id,
                "at": event.at.isoformat(),
                "actor": event.actor,
                "source": event.source,
                "action": event.action,
                "transaction_id": event.transaction_id,
                "changed": changed_fields(event),
                "before": None if withheld else event.before,
                "after": None if withheld else event.after,
            }
            for event in events
        ],
    }


TABLES = """
    WITH RECURSIVE t AS (
        (SELECT table_name FROM geo_auditevent ORDER BY table_name LIMIT 1)
        UNION ALL
        SELECT (SELECT a.table_name FROM geo_auditevent a WHERE a.table_name > t.table_name
                 ORDER BY a.table_name LIMIT 1)
          FROM t WHERE t.table_name IS NOT NULL
    )
    SELECT table_name FROM t WHERE table_name IS NOT NULL"""


def audited_tables() -> list[str]:
    """The tables the log holds rows of: a skip scan over the (table, row) index, one probe per table, not a scan of
    the log."""
    with connection.cursor() as cursor:
        cursor.execute(TABLES)
        return [row[0] for row in cursor.fetchall()]


def _values_expression(field: str, withheld: set[str]):
    if not withheld:
        return F(field)
    return Case(When(table_name__in=sorted(withheld), then=Value(None)), default=F(field), output_field=JSONField())


def audit_csv(*, user, filters: AuditFilter) -> Iterator[bytes]:
    """The filtered log as CSV, oldest first, streamed by PostgreSQL's COPY in chunks: memory does not grow with the
    number of rows."""
    import psycopg
    import psycopg.sql

    withheld = withheld_tables(user)
    queryset = (
        audit_log(user=user, filters=filters)
        .annotate(
            before_value=_values_expression("before", withheld), after_value=_values_expression("after", withheld)
        )
        .order_by("id")
        .values_list(*VALUE_COLUMNS)
    )
    statement, params = queryset.query.sql_with_params()
    connection.ensure_connection()
    # COPY takes no bind parameters: psycopg renders them with its own quoting.
    query = psycopg.ClientCursor(connection.connection).mogrify(statement, params)
    header = ",".join(CSV_COLUMNS) + "\n"
    yield header.encode()
    copy_statement = psycopg.sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(psycopg.sql.SQL(query))
    with connection.cursor() as cursor, cursor.cursor.copy(copy_statement) as copy:
        for data in copy:
            yield bytes(data)
