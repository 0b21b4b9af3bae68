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

ROWS_SQL = """
SELECT p.id, p.end_to_end_id, p.amount, p.currency, a.kind, a.holder_name, a.routing_number, a.bic,
       a.number_ciphertext, h.registrant_id, e.code
  FROM programs_payment p
  JOIN programs_paymentaccount a ON a.id = p.account_id
  JOIN programs_entitlement e ON e.id = p.entitlement_id
  JOIN registry_household h ON h.id = p.household_id
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
                yield PaymentRow(*head, crypto.decrypt(ciphertext), registrant_id, code)


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


def write_batch_file(batch: PaymentBatch, part, msg_id: str, folder: Path) -> WrittenFile:
    """Write, check and name one file of the batch. A file that fails its checks is removed and the release fails
    with the line and the reason: it is never released."""
    from programs.payments.files import write_for_format

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
