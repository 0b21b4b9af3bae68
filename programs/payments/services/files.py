"""Writing the files of a batch from the database: rows streamed by one server-side cursor, numbers decrypted one at
a time, each file written by programs.payments.files (constant memory) and validated, and only once all are valid
moved to their names (FileWriting).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection

from programs.payments import crypto
from programs.payments.files.output import FileSummary
from programs.payments.models import FinancialServiceProvider, PaymentBatch

# The rows of a batch's files, in id order, by one query for the whole batch (BatchRows cuts the files from it): a
# query per file joined the million-row tables twenty times over. Planned as a cursor is by default, for its first
# rows (an index probe per row and table), so the first rows come at once and the database finds the rest while
# the files are written, rather than hashing three million rows before the first one. `changed`: the account is no
# longer the one the batch was prepared with (BatchRows refuses the release).
ACCOUNT_ROWS_SQL = """
SELECT p.id, p.end_to_end_id, p.amount, p.currency, a.kind, a.holder_name, a.routing_number, a.bic,
       a.number_ciphertext, '', e.code, a.changed_at <> p.account_changed_at OR a.fsp_id <> %(fsp)s
  FROM programs_payment p
  JOIN programs_paymentaccount a ON a.id = p.account_id
  JOIN programs_entitlement e ON e.id = p.entitlement_id
 WHERE p.batch_id = %(batch)s AND p.id BETWEEN %(first)s AND %(last)s AND p.status <> 'cancelled'
 ORDER BY p.id
"""
# A cash agent's payment has no account: the household's head (or first current member) collects it, by name.
CASH_ROWS_SQL = """
SELECT p.id, p.end_to_end_id, p.amount, p.currency, 'cash', coalesce(head.name, ''), '', '', NULL,
       h.registrant_id, e.code, false
  FROM programs_payment p
  JOIN programs_entitlement e ON e.id = p.entitlement_id
  JOIN registry_household h ON h.id = p.household_id
  LEFT JOIN LATERAL (
      SELECT trim(i.given_name || ' ' || i.family_name) AS name
        FROM registry_membership m JOIN registry_individual i ON i.id = m.individual_id
       WHERE m.household_id = p.household_id AND m.end_date IS NULL
       ORDER BY m.role = 'head' DESC, m.id LIMIT 1) head ON true
 WHERE p.batch_id = %(batch)s AND p.id BETWEEN %(first)s AND %(last)s AND p.status <> 'cancelled'
 ORDER BY p.id
"""
FETCH_ROWS = 20000


class AccountsChanged(Exception):
    """A payment's account changed (or moved to another provider) after its batch was prepared."""


@dataclass(frozen=True)
class WrittenFile:
    name: str
    path: Path  # its name once published
    sha256: str  # of the bytes as the writer wrote them (no second read)
    size_bytes: int
    temporary: Path  # where it is until then


class PaymentRow(NamedTuple):
    """One payment as its file shows it, the account number in plain. The first fields are named as
    pain001.Transfer's, so the pain.001 writer takes these rows as they are (a tuple costs a fifth of a frozen
    dataclass, and a release makes a million)."""

    end_to_end_id: str
    amount: Decimal
    currency: str
    account_kind: str
    creditor_name: str
    routing_number: str
    bic: str
    account_number: str
    remittance: str  # the entitlement's code
    registrant_id: str
    payment_id: int
    instruction_id: str = ""


def _prefetched(cursor) -> Iterator[list[tuple]]:
    """The cursor's rows FETCH_ROWS at a time, the next FETCH run by a thread while the caller works on these: the
    database finds rows on one core while the files are written on the other, instead of each waiting for the
    other (psycopg lets go of the GIL while it waits for the server, and a connection serialises its users)."""
    chunks: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch() -> None:
        try:
            while not stop.is_set():
                rows = cursor.fetchmany(FETCH_ROWS)
                chunks.put(rows)
                if not rows:
                    return
        except BaseException as error:  # handed to the caller, which raises it
            chunks.put(error)

    thread = threading.Thread(target=fetch, name="payment-rows", daemon=True)
    thread.start()
    try:
        while (item := chunks.get()) != []:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # a fetch waiting for room in the queue finishes, and the thread sees stop
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.05)
        thread.join()


def _rows(chunks: Iterator[list[tuple]]) -> Iterator[PaymentRow]:
    decrypt = crypto.decrypter()
    for rows in chunks:
        for payment_id, e2e, amount, currency, kind, name, routing, bic, ciphertext, registrant, code, changed in rows:
            if changed:
                raise AccountsChanged(payment_id)
            number = decrypt(ciphertext) if ciphertext is not None else ""
            yield PaymentRow(e2e, amount, currency, kind, name, routing, bic, number, code, registrant, payment_id)


class BatchRows:
    """The rows of every file of a batch (payments `first_id` to `last_id`) from one query, with the plain account
    numbers, handed out a file at a time: `part(first_id, last_id)` yields that file's rows and stops at its last id.
    Files must be asked for in id order, as file_slices makes them. Raises AccountsChanged at the first payment
    whose account changed since the batch was prepared. Streamed: never the whole batch in memory."""

    def __init__(self, batch: PaymentBatch, first_id: int, last_id: int) -> None:
        cash = batch.fsp.kind == FinancialServiceProvider.Kind.CASH_AGENT
        self._sql = CASH_ROWS_SQL if cash else ACCOUNT_ROWS_SQL
        self._params = {"batch": batch.pk, "fsp": batch.fsp_id, "first": first_id, "last": last_id}
        self._cursor = connection.chunked_cursor()
        self._rows: Iterator[PaymentRow] | None = None
        self._next: PaymentRow | None = None

    def __enter__(self) -> BatchRows:
        with connection.cursor() as setting:
            # In id order from the primary key, never sorted: a batch prepared a moment ago is not in the table's
            # statistics yet, and the planner would take its payments by batch and sort them, waiting for all of
            # them before the first. The setting is put back once the cursor is planned.
            setting.execute("SELECT current_setting('enable_sort'), set_config('enable_sort', 'off', true)")
            before = setting.fetchone()[0]
            self._cursor.execute(self._sql, self._params)
            setting.execute("SELECT set_config('enable_sort', %s, true)", [before])
        self._chunks = _prefetched(self._cursor)
        self._rows = _rows(self._chunks)
        self._next = next(self._rows, None)
        return self

    def __exit__(self, *exc_info) -> None:
        self._rows.close()
        self._chunks.close()  # the fetching thread stops before the cursor goes
        self._cursor.close()

    def part(self, first_id: int, last_id: int) -> Iterator[PaymentRow]:
        row, rows = self._next, self._rows
        if row is not None and row.payment_id < first_id:
            raise ValidationError({"file": f"Payment {row.payment_id} lies before its file's first ({first_id})."})
        while row is not None and row.payment_id <= last_id:
            yield row
            row = next(rows, None)
        self._next = row


EXTENSIONS = {
    FinancialServiceProvider.FileFormat.PAIN_001_001_09: "xml",
    FinancialServiceProvider.FileFormat.PAIN_001_001_03: "xml",
    FinancialServiceProvider.FileFormat.CSV: "csv",
    FinancialServiceProvider.FileFormat.JSON: "json",
    FinancialServiceProvider.FileFormat.CASH_LIST: "html",
}


def _debtor(fsp: FinancialServiceProvider):
    from programs.payments.files.pain001 import Party

    account = fsp.debtor_account.replace(" ", "")
    is_iban = len(account) > 4 and account[:2].isalpha() and account[2:4].isdigit()
    return Party(
        name=fsp.debtor_name or fsp.name,
        iban=account if is_iban else "",
        other_id="" if is_iban else account,
        bic=fsp.debtor_bic or fsp.bic,
    )


XSD_FORMATS = (FinancialServiceProvider.FileFormat.PAIN_001_001_09, FinancialServiceProvider.FileFormat.PAIN_001_001_03)


def write_for_format(fmt: str, path: Path, *, batch: PaymentBatch, msg_id: str, part, rows) -> FileSummary:
    """Write one file of `rows` in the provider's format to `path` (atomically). Every writer checks its rows, and
    their count and sum against the slice's, as it goes, raising PaymentFileError; pain.001 files are validated
    against the XSD afterwards by the caller (FileWriting)."""
    from django.utils import timezone

    from programs.payments.files import cash, mobile, pain001

    fsp = batch.fsp
    created_at = timezone.now().replace(microsecond=0)
    if fmt in XSD_FORMATS:
        header = pain001.FileHeader(
            msg_id=msg_id,
            created_at=created_at,
            initiating_party=fsp.debtor_name or batch.program.name,
            debtor=_debtor(fsp),
            payment_info_id=msg_id,
            execution_date=batch.execution_date,
            nb_of_txs=part.count,
            ctrl_sum=part.total,
            currency=batch.currency,
        )
        # PaymentRows carry a Transfer's fields under its names: written as they are.
        return pain001.write_pain001(path, header, rows, version=fmt)
    if fmt in (FinancialServiceProvider.FileFormat.CSV, FinancialServiceProvider.FileFormat.JSON):
        payouts = (
            mobile.MobilePayout(
                reference=row.end_to_end_id,
                msisdn=row.account_number,
                amount=row.amount,
                currency=row.currency,
                name=row.creditor_name,
                remittance=row.remittance,
            )
            for row in rows
        )
        totals = {"currency": batch.currency, "nb_of_txs": part.count, "ctrl_sum": part.total}
        if fmt == FinancialServiceProvider.FileFormat.CSV:
            return mobile.write_mobile_csv(path, payouts, **totals)
        return mobile.write_mobile_json(path, payouts, reference=msg_id, **totals)
    recipients = (
        cash.CashRecipient(
            reference=row.end_to_end_id,
            registrant_id=row.registrant_id,
            name=row.creditor_name,
            amount=row.amount,
            currency=row.currency,
        )
        for row in rows
    )
    return cash.write_cash_list_html(
        path,
        recipients,
        title=f"{batch.program.name}: {batch.cycle.name}",
        agent=fsp.name,
        reference=msg_id,
        currency=batch.currency,
        nb_of_txs=part.count,
        ctrl_sum=part.total,
        created_at=created_at,
    )


class FileWriting:
    """A release's files, written one after another and validated (pain.001 against its XSD: by a second process
    while the next file is written, programs.payments.files.validator), each under a temporary name; `publish()`
    names them all, once every one is valid. A file that fails its checks fails the release with its line and
    reason, and no file of the attempt keeps its name: it is never released."""

    def __init__(self, batch: PaymentBatch, folder: Path, *, files: int) -> None:
        from programs.payments.files.validator import Beside, Inline

        self.batch, self.folder, self.fmt = batch, folder, batch.fsp.file_format
        self.validator = Beside() if files > 1 and self.fmt in XSD_FORMATS else Inline()
        self.written: list[WrittenFile] = []

    def __enter__(self) -> FileWriting:
        self.validator.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.validator.__exit__(*exc_info)
        for written in self.written:
            written.temporary.unlink(missing_ok=True)

    def write(self, part, msg_id: str, rows: Iterator[PaymentRow]) -> WrittenFile:
        from programs.payments.files.text import PaymentFileError

        name = f"{msg_id}.{EXTENSIONS[self.fmt]}"
        temporary = self.folder / f".{name}.partial"
        try:
            summary = write_for_format(self.fmt, temporary, batch=self.batch, msg_id=msg_id, part=part, rows=rows)
        except PaymentFileError as error:
            raise self._not_released(name, str(error)) from None
        written = WrittenFile(name, self.folder / name, summary.sha256, summary.size_bytes, temporary)
        self.written.append(written)
        if self.fmt in XSD_FORMATS:
            self.validator.submit(temporary, self.fmt)
        return written

    def _not_released(self, name: str, why: str) -> ValidationError:
        return ValidationError({"file": f"{name} is not valid {self.fmt} and was not released: {why}"})

    def publish(self) -> list[WrittenFile]:
        """Every file under its name, once all are valid; ValidationError naming the first that is not."""
        verdicts = self.validator.verdicts() if self.fmt in XSD_FORMATS else [[] for _ in self.written]
        for written, findings in zip(self.written, verdicts, strict=True):
            if findings:
                raise self._not_released(written.name, "; ".join(str(finding) for finding in findings[:3]))
        for written in self.written:
            os.replace(written.temporary, written.path)
        return self.written
