"""A cycle's entitlements as CSV (streamed straight from COPY) or XLSX (written row by row from a server-side cursor
into a temporary file), among the households the user may see; heads of household are named only for holders of
the personal-data permission. Constant memory whatever the cycle's size: no model objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from psycopg import sql

from programs.models import Cycle
from programs.population import household_scope_sql
from registry.selectors import personal_data_allowed
from spmis.api.files import remove_folder, temporary_folder

COLUMNS = [
    "code",
    "registrant_id",
    "kind",
    "amount",
    "fee",
    "currency",
    "hazard_rank",
    "people",
    "flagged",
    "status",
    "valid_from",
    "valid_until",
    "items",
]
XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header


def columns(user) -> list[str]:
    return COLUMNS + (["head_name"] if personal_data_allowed(user) else [])


def entitlements_sql(*, user, cycle: Cycle) -> sql.Composed:
    """One row per entitlement of the cycle in the user's areas, in code order, in the order of `columns(user)`."""
    head = sql.SQL("")
    if personal_data_allowed(user):
        head = sql.SQL(
            ", (SELECT trim(i.given_name || ' ' || i.family_name) FROM registry_membership m"
            " JOIN registry_individual i ON i.id = m.individual_id"
            " WHERE m.household_id = h.id AND m.role = 'head' AND m.end_date IS NULL LIMIT 1)"
        )
    return sql.SQL(
        "SELECT e.code, h.registrant_id, e.kind, e.amount, e.fee, e.currency, e.hazard_rank, e.people,"
        " CASE WHEN e.flagged THEN 'yes' ELSE '' END, e.status, e.valid_from, e.valid_until,"
        " coalesce((SELECT string_agg(it.item || ' ' || it.quantity || ' ' || it.unit, '; ' ORDER BY it.item)"
        " FROM programs_entitlementitem it WHERE it.entitlement_id = e.id), ''){head}"
        " FROM programs_entitlement e JOIN registry_household h ON h.id = e.household_id"
        " WHERE e.cycle_id = {cycle} AND {scope} ORDER BY e.id"
    ).format(head=head, cycle=sql.Literal(cycle.pk), scope=household_scope_sql(user))


def entitlements_csv(*, user, cycle: Cycle) -> Iterator[bytes]:
    header = ",".join(columns(user)) + "\n"
    yield header.encode()
    with connection.cursor() as cursor:
        query = entitlements_sql(user=user, cycle=cycle).as_string(cursor.connection)
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
            for data in copy:
                yield bytes(data)


def entitlements_xlsx(*, user, cycle: Cycle) -> Path:
    from openpyxl import Workbook

    if cycle.planned_count > XLSX_MAX_ROWS:
        raise ValidationError({"file": f"{cycle.planned_count} rows do not fit in one worksheet; export CSV."})
    folder = temporary_folder()
    path = folder / "entitlements.xlsx"
    try:
        book = Workbook(write_only=True)
        sheet = book.create_sheet("entitlements")
        sheet.append(columns(user))
        with transaction.atomic():
            connection.ensure_connection()
            with connection.connection.cursor(name="programs_entitlement_export") as cursor:
                cursor.execute(entitlements_sql(user=user, cycle=cycle))
                while rows := cursor.fetchmany(20_000):
                    for row in rows:  # openpyxl's write-only sheets take one row at a time
                        sheet.append([str(value) if hasattr(value, "as_tuple") else value for value in row])
        book.save(path)
        return path
    except BaseException:
        remove_folder(folder)  # on success the response removes it once the file is sent
        raise
