"""Writing one file of a batch from the database: rows streamed by a server-side cursor, numbers decrypted one at a
time, the file written by programs.payments.files (constant memory), validated, and only then moved to its name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection

from programs.payments import crypto
from programs.payments.models import FinancialServiceProvider, PaymentBatch

# A cash payment has no account: the household's head (or first current member) collects it, by name.
ROWS_SQL = """
SELECT p.id, p.end_to_end_id, p.amount, p.currency, coalesce(a.kind, 'cash'),
       coalesce(a.holder_name, head.name, ''), coalesce(a.routing_number, ''), coalesce(a.bic, ''),
       a.number_ciphertext, h.registrant_id, e.code
  FROM programs_payment p
  LEFT JOIN programs_paymentaccount a ON a.id = p.account_id
  JOIN programs_entitlement e ON e.id = p.entitlement_id
  JOIN registry_household h ON h.id = p.household_id
  LEFT JOIN LATERAL (
      SELECT trim(i.given_name || ' ' || i.family_name) AS name
        FROM registry_membership m JOIN registry_individual i ON i.id = m.individual_id
       WHERE m.household_id = p.household_id AND m.end_date IS NULL
       ORDER BY m.role = 'head' DESC, m.id LIMIT 1) head ON p.account_id IS NULL
 WHERE p.batch_id = %s AND p.id BETWEEN %s AND %s AND p.status <> 'cancelled'
 ORDER BY p.id
"""


@dataclass(frozen=True)
class WrittenFile:
    name: str
    path: Path
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class PaymentRow:
    payment_id: int
    end_to_end_id: str
    amount: object
    currency: str
    account_kind: str
    holder_name: str
    routing_number: str
    bic: str
    number: str
    registrant_id: str
    entitlement_code: str


def payment_rows(batch_id: int, first_id: int, last_id: int) -> Iterator[PaymentRow]:
    """The file's payments in id order, with the plain account number, streamed (never the whole batch in memory)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(ROWS_SQL, [batch_id, first_id, last_id])
        while rows := cursor.fetchmany(2000):
            for row in rows:
                *head, ciphertext, registrant_id, code = row
                number = crypto.decrypt(ciphertext) if ciphertext is not None else ""
                yield PaymentRow(*head, number, registrant_id, code)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


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


def write_for_format(fmt: str, path: Path, *, batch: PaymentBatch, msg_id: str, part, rows) -> list:
    """Write one file of `rows` in the provider's format to `path`; returns the findings that make it invalid (an
    empty list when it is valid). pain.001 files are validated against the XSD after writing; every writer checks
    its rows against the slice's count and sum as it goes."""
    from django.utils import timezone

    from programs.payments.files import cash, mobile, pain001
    from programs.payments.files.text import PaymentFileError
    from programs.payments.files.xsd import validate_file

    fsp = batch.fsp
    created_at = timezone.now().replace(microsecond=0)
    try:
        if fmt in (
            FinancialServiceProvider.FileFormat.PAIN_001_001_09,
            FinancialServiceProvider.FileFormat.PAIN_001_001_03,
        ):
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
            transfers = (
                pain001.Transfer(
                    end_to_end_id=row.end_to_end_id,
                    amount=row.amount,
                    currency=row.currency,
                    creditor_name=row.holder_name,
                    account_kind=row.account_kind,
                    account_number=row.number,
                    routing_number=row.routing_number,
                    bic=row.bic,
                    remittance=row.entitlement_code,
                )
                for row in rows
            )
            pain001.write_pain001(path, header, transfers, version=fmt)
            return validate_file(path, fmt)
        if fmt in (FinancialServiceProvider.FileFormat.CSV, FinancialServiceProvider.FileFormat.JSON):
            payouts = (
                mobile.MobilePayout(
                    reference=row.end_to_end_id,
                    msisdn=row.number,
                    amount=row.amount,
                    currency=row.currency,
                    name=row.holder_name,
                    remittance=row.entitlement_code,
                )
                for row in rows
            )
            totals = {"currency": batch.currency, "nb_of_txs": part.count, "ctrl_sum": part.total}
            if fmt == FinancialServiceProvider.FileFormat.CSV:
                mobile.write_mobile_csv(path, payouts, **totals)
            else:
                mobile.write_mobile_json(path, payouts, reference=msg_id, **totals)
            return []
        recipients = (
            cash.CashRecipient(
                reference=row.end_to_end_id,
                registrant_id=row.registrant_id,
                name=row.holder_name,
                amount=row.amount,
                currency=row.currency,
            )
            for row in rows
        )
        cash.write_cash_list_html(
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
        return []
    except PaymentFileError as error:
        return [str(error)]


def write_batch_file(batch: PaymentBatch, part, msg_id: str, folder: Path) -> WrittenFile:
    """Write, check and name one file of the batch. A file that fails its checks is removed and the release fails
    with the line and the reason: it is never released."""
    fmt = batch.fsp.file_format
    name = f"{msg_id}.{EXTENSIONS[fmt]}"
    final = folder / name
    temporary = folder / f".{name}.partial"
    rows = payment_rows(batch.pk, part.first_id, part.last_id)
    try:
        findings = write_for_format(fmt, temporary, batch=batch, msg_id=msg_id, part=part, rows=rows)
        if findings:
            shown = "; ".join(str(finding) for finding in findings[:3])
            raise ValidationError({"file": f"{name} is not valid {fmt} and was not released: {shown}"})
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    return WrittenFile(name=name, path=final, sha256=_sha256(final), size_bytes=final.stat().st_size)
