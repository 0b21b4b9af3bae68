"""Status files from FSPs, read into plain records for reconciliation (no models, no database).

    report = read_status_file(path_or_bytes, name="pain.002-....xml")   # validates the WHOLE file first
    report.info          -> ReportInfo (kind, msg_id, original_msg_id, group_status, created_at, ...)
    report.entries()     -> Iterator[StatusEntry], streamed, constant memory

A file that is not valid (XSD, unreadable, a bad CSV row) raises StatusFileError naming the line and the problem
before anything is yielded, so a caller never applies half a file. ISO 20022 files are checked against the XSDs
shipped in programs/payments/xsd/ (`xsd_dir=` to use others, as tests do).

What each message means (records.py has the statuses):
- pain.002 (.001.10, .001.03): per payment RJCT -> failed (with reason), ACCP/ACSP/ACSC/ACTC/... -> accepted,
  PDNG/RCVD -> pending. A group-level RJCT with no payment listed is `info.file_rejected`: every payment of the file
  `info.original_msg_id` failed; `file_rejection_entries()` makes their entries from the EndToEndIds the caller
  sent. A DUPL refusal (`info.duplicate_refusal`) concerns a resent file only: never fail anything on it.
- camt.054: a booked debit entry of the programme account -> paid, with booking date, amount and currency; a booked
  credit with return information -> returned; other entries (money arriving, INFO) are skipped (`info.skipped`).
- pacs.004: each returned payment -> returned, with the return reason and the return's settlement date.
- CSV (mobile money): csv_status.py describes the format.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from .csv_status import CsvStatusFile
from .iso import KINDS, IsoStatusFile
from .reasons import REASONS, reason_words
from .records import (
    ACCEPTED,
    ENTRY_STATUSES,
    FAILED,
    PAID,
    PENDING,
    RETURNED,
    ReportInfo,
    StatusEntry,
    StatusFileError,
)

__all__ = [
    "ACCEPTED",
    "ENTRY_STATUSES",
    "FAILED",
    "KINDS",
    "PAID",
    "PENDING",
    "REASONS",
    "RETURNED",
    "ReportInfo",
    "StatusEntry",
    "StatusFile",
    "StatusFileError",
    "file_rejection_entries",
    "read_status_file",
    "reason_words",
]

StatusFile = IsoStatusFile | CsvStatusFile


def _looks_like_xml(source: bytes | str | os.PathLike) -> bool:
    if isinstance(source, bytes | bytearray):
        head = bytes(source[:512])
    else:
        with open(source, "rb") as handle:
            head = handle.read(512)
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")


def read_status_file(
    source: bytes | str | os.PathLike,
    *,
    name: str = "",
    xsd_dir: str | os.PathLike | None = None,
    sink: Callable[[StatusEntry], None] | None = None,
    verdict_later: bool = False,
) -> StatusFile:
    """Validate a status file whole (ISO 20022 XML by its namespace, else the mobile money CSV) and return it, ready
    to stream. Raises StatusFileError (with .line, .problem, .name) when the file is refused.

    `sink`, for a caller that stages the entries where it can throw them all away (a temporary table in its own
    transaction): an ISO 20022 file's entries are handed to it as they are read, instead of being kept for entries(),
    and when this raises the caller must discard everything the sink received. `file.sunk` says whether it was used
    (a CSV file is always read through entries()).

    `verdict_later` (with a sink): a large file's XSD verdict, which a second process gives while this one reads
    (iso._Beside), is not waited for; the caller works on the entries meanwhile and must call `file.confirm()`,
    which raises StatusFileError if the file is refused, before keeping anything of them."""
    if _looks_like_xml(source):
        return IsoStatusFile(source, name=name, xsd_dir=xsd_dir, sink=sink, verdict_later=verdict_later)
    return CsvStatusFile(source, name=name)


def file_rejection_entries(info: ReportInfo, end_to_end_ids: Iterable[str], *, pmt_inf_id: str | None = None):
    """The `failed` entries for a file (or one batch, `pmt_inf_id`) the bank rejected whole without listing its
    payments: one per EndToEndId the caller sent in it, with the group's (or the batch's) reason."""
    if pmt_inf_id is None:
        if not info.file_rejected:
            raise ValueError("this report does not reject a whole file")
        code, words = info.group_reason_code, info.group_reason_text
    else:
        match = [batch for batch in info.rejected_batches if batch[0] == pmt_inf_id]
        if not match:
            raise ValueError(f"this report does not reject batch {pmt_inf_id} whole")
        _id, code, words = match[0]
    return _rejections(info, end_to_end_ids, code, words, pmt_inf_id)


def _rejections(info, end_to_end_ids, code, words, pmt_inf_id) -> Iterator[StatusEntry]:
    for end_to_end_id in end_to_end_ids:
        yield StatusEntry(
            line=0,
            end_to_end_id=end_to_end_id,
            status=FAILED,
            reason_code=code,
            reason_text=words,
            amount=None,
            currency=None,
            booking_date=None,
            bank_text=info.group_bank_text,
            original_msg_id=info.original_msg_id,
            pmt_inf_id=pmt_inf_id,
        )
