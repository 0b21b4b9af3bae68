"""Cash agent lists: who the agent pays, how much, under which reference, and where the recipient signs.

Two forms of the same rows, both streamed:

- a printable HTML document (A4, print CSS; no script, no external resource): pages of `rows_per_page` recipients,
  each page with the list's heading, its page number, a table (row number, household/registrant ID, name, amount,
  reference, an empty signature or thumbprint column), the page's total and the total up to and including
  the page; the last page ends with the list's total and lines for the agent's and the witness's signatures. Every
  text is HTML-escaped.
- a CSV of the same columns (without the signature), for the agent's own system.

As for the other writers, the caller states the count and sum of the rows (`nb_of_txs`, `ctrl_sum`) and the writer
raises TotalsMismatch when what it wrote differs: the page count printed on every page is computed from them.
"""

from __future__ import annotations

import csv
import html
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import BinaryIO

from programs.payments.files.output import FileSummary, open_output
from programs.payments.files.text import (
    PaymentFileError,
    TotalsMismatch,
    amount_formatter,
    check_identifier,
    fit_text,
    format_total,
    spreadsheet_safe,
)

CSV_COLUMNS = ("number", "registrant_id", "name", "amount", "currency", "reference")

_STYLE = """
@page { size: A4; margin: 12mm 10mm 14mm 10mm; }
body { font-family: "Noto Sans", "Noto Sans Bengali", Arial, sans-serif; font-size: 10pt; color: #000; margin: 0; }
section.page { page-break-after: always; break-after: page; }
section.page:last-child { page-break-after: auto; break-after: auto; }
header h1 { font-size: 13pt; margin: 0 0 2mm 0; }
header p { margin: 0 0 1mm 0; }
table { width: 100%; border-collapse: collapse; margin-top: 3mm; }
th, td { border: 0.3mm solid #000; padding: 1.5mm 2mm; text-align: left; vertical-align: top; }
th { background: #eee; }
td.amount, th.amount, td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.signature { width: 38mm; height: 10mm; }
tfoot td { font-weight: bold; }
.signatures { margin-top: 10mm; display: flex; gap: 20mm; }
.signatures div { border-top: 0.3mm solid #000; padding-top: 1mm; width: 70mm; }
@media screen { body { margin: 10mm; } section.page { border-bottom: 1px dashed #999; padding-bottom: 8mm; } }
""".strip()


@dataclass(frozen=True)
class CashRecipient:
    """One cash payment: the recipient's household or registrant ID, their name, the exact amount."""

    reference: str  # the payment's EndToEndId, which the agent writes back in its report
    registrant_id: str
    name: str
    amount: Decimal
    currency: str


class _Rows:
    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.format_amount = amount_formatter(currency)
        self.count = 0
        self.total = Decimal(0)

    def row(self, recipient: CashRecipient) -> tuple[str, str, str, str]:
        try:
            reference = check_identifier(recipient.reference, field="reference")
            if recipient.currency != self.currency:
                raise PaymentFileError(f"currency {recipient.currency} differs from the list's {self.currency}.")
            row = (
                check_identifier(recipient.registrant_id, field="registrant_id", max_length=64),
                fit_text(recipient.name, 140, field="name"),
                self.format_amount(recipient.amount, field="amount"),
                reference,
            )
        except PaymentFileError as error:
            raise PaymentFileError(f"payment {recipient.reference!r}: {error}") from None
        self.count += 1
        self.total += recipient.amount
        return row

    def finish(self, nb_of_txs: int, ctrl_sum: Decimal) -> None:
        if self.count != nb_of_txs or self.total != ctrl_sum:
            raise TotalsMismatch(
                f"The list was to hold {nb_of_txs} payments summing to {ctrl_sum} {self.currency} but {self.count} "
                f"payments summing to {self.total} were written; the list is discarded."
            )


def _check_count(nb_of_txs: int) -> None:
    if type(nb_of_txs) is not int or nb_of_txs < 1:
        raise PaymentFileError(f"nb_of_txs: {nb_of_txs!r} is not a number of payments (1 or more).")


def write_cash_list_html(
    out: BinaryIO | str | os.PathLike,
    recipients: Iterable[CashRecipient],
    *,
    title: str,
    agent: str,
    reference: str,
    currency: str,
    nb_of_txs: int,
    ctrl_sum: Decimal,
    created_at: datetime,
    rows_per_page: int = 25,
    language: str = "en",
) -> FileSummary:
    """The printable list (see the module's description). `title` (the program and cycle), `agent` (who pays, and
    where) and `reference` (the batch's file reference) head every page; `created_at` is printed, so the same
    rows and arguments give the same bytes."""
    _check_count(nb_of_txs)
    if type(rows_per_page) is not int or rows_per_page < 1:
        raise PaymentFileError(f"rows_per_page: {rows_per_page!r} must be 1 or more.")
    rows = _Rows(currency)
    total_text = format_total(ctrl_sum, currency, field="ctrl_sum")
    pages = -(-nb_of_txs // rows_per_page)
    e = html.escape
    heading = (
        f"<h1>{e(fit_text(title, 200, field='title'))}</h1>\n"
        f"<p>Cash agent: <strong>{e(fit_text(agent, 200, field='agent'))}</strong></p>\n"
        f"<p>List {e(check_identifier(reference, field='reference'))} · {nb_of_txs} recipients · "
        f"total {total_text} {e(currency)} · printed {e(created_at.strftime('%Y-%m-%d %H:%M'))}</p>\n"
    )
    table_head = (
        '<table>\n<thead><tr><th class="number">#</th><th>Household / registrant ID</th><th>Name</th>'
        f'<th class="amount">Amount ({e(currency)})</th><th>Reference</th><th>Signature or thumbprint</th>'
        "</tr></thead>\n<tbody>\n"
    )
    with open_output(out) as (sink, path):
        sink.write(
            f'<!DOCTYPE html>\n<html lang="{e(language)}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{e(title)} · {e(reference)}</title>\n<style>\n{_STYLE}\n</style>\n</head>\n<body>\n".encode()
        )
        page, on_page, page_total, carried = 0, 0, Decimal(0), Decimal(0)

        def close_page(last: bool) -> None:
            nonlocal carried, page_total
            carried += page_total
            noun = "recipient" if on_page == 1 else "recipients"
            foot = (
                f'</tbody>\n<tfoot><tr><td colspan="3">Page {page} total ({on_page} {noun})</td>'
                f'<td class="amount">{format_total(page_total, currency, field="page total")}</td>'
                f'<td colspan="2">Total to this page: {format_total(carried, currency, field="carried total")}'
                f"</td></tr></tfoot>\n</table>\n"
            )
            if last:
                foot += (
                    f"<p><strong>List total: {rows.count} recipients, "
                    f"{format_total(rows.total, currency, field='total')} {e(currency)}</strong></p>\n"
                    '<div class="signatures"><div>Cash agent: name, signature, date</div>'
                    "<div>Witness (program officer): name, signature, date</div></div>\n"
                )
            sink.write((foot + "</section>\n").encode())
            page_total = Decimal(0)

        for recipient in recipients:
            registrant, name, amount, ref = rows.row(recipient)
            if on_page == rows_per_page:
                close_page(last=False)
                on_page = 0
            if on_page == 0:
                page += 1
                sink.write(
                    f'<section class="page">\n<header>\n{heading}<p>Page {page} of {max(pages, page)}</p>\n'
                    f"</header>\n{table_head}".encode()
                )
            on_page += 1
            page_total += recipient.amount
            sink.write(
                f'<tr><td class="number">{rows.count}</td><td>{e(registrant)}</td><td>{e(name)}</td>'
                f'<td class="amount">{amount}</td><td>{e(ref)}</td><td class="signature"></td></tr>\n'.encode()
            )
        if page:
            close_page(last=True)
        sink.write(b"</body>\n</html>\n")
        rows.finish(nb_of_txs, ctrl_sum)
    return FileSummary(rows.count, rows.total, sink.hexdigest(), sink.size, path)


def write_cash_list_csv(
    out: BinaryIO | str | os.PathLike,
    recipients: Iterable[CashRecipient],
    *,
    currency: str,
    nb_of_txs: int,
    ctrl_sum: Decimal,
) -> FileSummary:
    """The same rows as CSV (CSV_COLUMNS; UTF-8, CRLF), streamed and checked against nb_of_txs/ctrl_sum."""
    _check_count(nb_of_txs)
    format_total(ctrl_sum, currency, field="ctrl_sum")
    rows = _Rows(currency)
    with open_output(out) as (sink, path):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for recipient in recipients:
            registrant, name, amount, ref = rows.row(recipient)
            writer.writerow((rows.count, spreadsheet_safe(registrant), spreadsheet_safe(name), amount, currency, ref))
            if rows.count % 1000 == 0:
                sink.write(buffer.getvalue().encode("utf-8"))
                buffer.seek(0)
                buffer.truncate()
        sink.write(buffer.getvalue().encode("utf-8"))
        rows.finish(nb_of_txs, ctrl_sum)
    return FileSummary(rows.count, rows.total, sink.hexdigest(), sink.size, path)
