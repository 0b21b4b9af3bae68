"""Mobile money payout files, CSV or JSON, streamed: one row per payment with its reference (the EndToEndId the
FSP's status file answers with), the wallet's number in E.164, the exact amount and currency, the recipient's name
and the remittance text.

As for pain.001, the caller states the count and sum of the rows it will pass (`nb_of_txs`, `ctrl_sum`, from SQL)
and the writer raises TotalsMismatch at the end when what it wrote differs; the JSON file carries both in its
header, before the payments.

CSV: UTF-8 without BOM, comma separated, a header line with COLUMNS, CRLF line ends (RFC 4180), amounts as plain
decimals with the currency's minor unit (BDT 5000.00). A name or remittance text that a spreadsheet would run as
a formula (starting with = + - @) gets a leading apostrophe; the MSISDN is left as it is (E.164 starts with +,
and it is checked to be digits).

JSON: one object, `{"reference": ..., "currency": ..., "nb_of_txs": ..., "ctrl_sum": "...", "payments": [...]}`,
amounts as strings so that no JSON reader turns them into binary floats; one payment per line.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from programs.payments.files.output import FileSummary, open_output
from programs.payments.files.text import (
    PaymentFileError,
    TotalsMismatch,
    amount_formatter,
    check_identifier,
    check_msisdn,
    fit_text,
    format_total,
    spreadsheet_safe,
)

COLUMNS = ("reference", "msisdn", "amount", "currency", "name", "remittance")


@dataclass(frozen=True)
class MobilePayout:
    """One wallet payment: `amount` exact in `currency`, `msisdn` in E.164 (+8801712345678), decrypted."""

    reference: str  # the payment's EndToEndId
    msisdn: str
    amount: Decimal
    currency: str
    name: str
    remittance: str = ""


class _Checker:
    def __init__(self, currency: str, charset: str) -> None:
        self.currency = currency
        self.charset = charset
        self.format_amount = amount_formatter(currency)
        self.count = 0
        self.total = Decimal(0)

    def row(self, payout: MobilePayout) -> tuple[str, str, str, str, str, str]:
        try:
            reference = check_identifier(payout.reference, field="reference")
            if payout.currency != self.currency:
                raise PaymentFileError(f"currency {payout.currency} differs from the file's {self.currency}.")
            row = (
                reference,
                check_msisdn(payout.msisdn, field="msisdn"),
                self.format_amount(payout.amount, field="amount"),
                self.currency,
                fit_text(payout.name, 140, field="name", charset=self.charset),
                fit_text(payout.remittance, 140, field="remittance", charset=self.charset) if payout.remittance else "",
            )
        except PaymentFileError as error:
            raise PaymentFileError(f"payment {payout.reference!r}: {error}") from None
        self.count += 1
        self.total += payout.amount
        return row

    def finish(self, nb_of_txs: int, ctrl_sum: Decimal) -> None:
        if self.count != nb_of_txs or self.total != ctrl_sum:
            raise TotalsMismatch(
                f"The file was to hold {nb_of_txs} payments summing to {ctrl_sum} {self.currency} but {self.count} "
                f"payments summing to {self.total} were written; the file is discarded."
            )


def _drain(buffer: io.StringIO, sink) -> None:
    """Move what the csv writer buffered to the sink: memory holds a thousand rows at most."""
    sink.write(buffer.getvalue().encode("utf-8"))
    buffer.seek(0)
    buffer.truncate()


def write_mobile_csv(
    out: BinaryIO | str | os.PathLike,
    payouts: Iterable[MobilePayout],
    *,
    currency: str,
    nb_of_txs: int,
    ctrl_sum: Decimal,
    charset: str = "unicode",
) -> FileSummary:
    """The payouts as CSV (see the module's description); streamed, checked against nb_of_txs/ctrl_sum."""
    checker = _Checker(currency, charset)
    format_total(ctrl_sum, currency, field="ctrl_sum")
    with open_output(out) as (sink, path):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for payout in payouts:
            reference, msisdn, amount, code, name, remittance = checker.row(payout)
            writer.writerow((reference, msisdn, amount, code, spreadsheet_safe(name), spreadsheet_safe(remittance)))
            if checker.count % 1000 == 0:
                _drain(buffer, sink)
        _drain(buffer, sink)
        checker.finish(nb_of_txs, ctrl_sum)
    return FileSummary(checker.count, checker.total, sink.hexdigest(), sink.size, path)


def write_mobile_json(
    out: BinaryIO | str | os.PathLike,
    payouts: Iterable[MobilePayout],
    *,
    reference: str,
    currency: str,
    nb_of_txs: int,
    ctrl_sum: Decimal,
    charset: str = "unicode",
) -> FileSummary:
    """The payouts as one JSON document (see the module's description), written a payment at a time."""
    checker = _Checker(currency, charset)
    head = {
        "reference": check_identifier(reference, field="reference"),
        "currency": currency,
        "nb_of_txs": nb_of_txs,
        "ctrl_sum": format_total(ctrl_sum, currency, field="ctrl_sum"),
    }
    with open_output(out) as (sink, path):
        sink.write(json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "payments": [\n')
        separator = b""
        for payout in payouts:
            row = dict(zip(COLUMNS, checker.row(payout), strict=True))
            sink.write(separator + json.dumps(row, ensure_ascii=False).encode())
            separator = b",\n"
        sink.write(b"\n]}\n")
        checker.finish(nb_of_txs, ctrl_sum)
    return FileSummary(checker.count, checker.total, sink.hexdigest(), sink.size, path)
