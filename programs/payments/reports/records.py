"""What a status file says, as plain records: one `ReportInfo` per file, one `StatusEntry` per payment it reports."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

ACCEPTED = "accepted"  # the bank took the payment; no money has moved yet (pain.002 ACCP, ACSP, ACSC, ...)
PAID = "paid"  # the debit is booked: camt.054 DBIT entry, or the mobile money provider says paid
FAILED = "failed"  # rejected: pain.002 RJCT, or the provider says failed; never paid
RETURNED = "returned"  # paid, then came back (pacs.004, camt.054 credit with return information)
PENDING = "pending"  # the bank holds it and has not decided (PDNG, RCVD)
ENTRY_STATUSES = (ACCEPTED, PAID, FAILED, RETURNED, PENDING)


class StatusFileError(ValueError):
    """A status file refused as a whole: nothing of it may be applied. `line` is 0 when no line is to blame."""

    def __init__(self, problem: str, *, line: int = 0, name: str = "") -> None:
        self.problem = problem
        self.line = line
        self.name = name
        where = ", ".join(part for part in (name, f"line {line}" if line else "") if part)
        super().__init__(f"{where}: {problem}" if where else problem)


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """The file as a whole. Known before the first entry is read, since the whole file is validated first.

    kind: the message with its version (`pain.002.001.10`, `pain.002.001.03`, `camt.054.001.08`, `pacs.004.001.09`)
      or `status.csv` for a mobile money status file.
    msg_id: the report's own MsgId (None for CSV). With the FSP it identifies the report: the same MsgId twice is the
      same report.
    original_msg_id: the MsgId of our pain.001 the report is about (pain.002, pacs.004); None for camt.054, whose
      entries each carry theirs (`StatusEntry.original_msg_id`).
    group_status: pain.002 GrpSts as the bank wrote it (ACCP, ACTC, PART, RJCT, ...); None when absent.
    created_at: the report's CreDtTm, timezone-aware (a time written without an offset is taken as UTC).
    """

    kind: str
    msg_id: str | None
    original_msg_id: str | None
    group_status: str | None
    created_at: datetime.datetime | None
    group_reason_code: str | None = None
    group_reason_text: str | None = None  # plain words (reasons.REASONS), else the bank's text
    group_bank_text: str | None = None  # the bank's own AddtlInf, as written
    original_message_name: str | None = None  # OrgnlMsgNmId, e.g. pain.001.001.09
    # pain.002 batches (PmtInfId, reason code, reason words) rejected whole, without their payments listed: every
    # payment of that batch of the original file failed (file_rejection_entries gives them).
    rejected_batches: tuple[tuple[str, str | None, str | None], ...] = ()
    entries: int = 0  # how many StatusEntry records entries() yields
    skipped: int = 0  # entries of the file that are not about our payments (a camt.054 credit arriving, INFO)
    name: str = ""
    sha256: str = ""  # of the file's bytes: the same file imported twice has the same digest

    @property
    def duplicate_refusal(self) -> bool:
        """The bank refused a file because it had the MsgId already (DUPL). This says NOTHING about the payments of
        the file it already has: never fail them on this report."""
        return self.group_status == "RJCT" and self.group_reason_code in ("DUPL", "DU01", "AM05")

    @property
    def file_rejected(self) -> bool:
        """The whole original file was rejected at group level and no payment is listed: every payment of the file
        `original_msg_id` failed, for `group_reason_code`. Use `file_rejection_entries` to get their entries."""
        return self.group_status == "RJCT" and not self.duplicate_refusal and self.entries == 0


class StatusEntry(NamedTuple):
    """One payment's status as the file reports it (a NamedTuple: a million of them are made per large file, and a
    tuple is several times cheaper to make than a frozen dataclass).

    line: where the entry starts in the file (row's line for CSV), for messages that name it.
    end_to_end_id: our EndToEndId (None when the bank gave none: list it as unknown, never guess).
    status: one of ENTRY_STATUSES.
    reason_code: the ISO code (AC04, AM04, ...) or the provider's own code; None when there is no reason.
    reason_text: the reason in plain words (reasons.REASONS), else the bank's text.
    amount, currency: what the entry says moved (None in a pain.002 that does not repeat the amount).
    booking_date: camt.054 booking date, pacs.004 settlement date of the return, CSV date; None otherwise.
    """

    line: int
    end_to_end_id: str | None
    status: str
    reason_code: str | None
    reason_text: str | None
    amount: Decimal | None
    currency: str | None
    booking_date: datetime.date | None
    bank_text: str | None = None  # AddtlInf as the bank wrote it
    original_msg_id: str | None = None  # the pain.001 MsgId the entry belongs to, when the file says
    pmt_inf_id: str | None = None
    bank_reference: str | None = None  # AcctSvcrRef / RtrId: the bank's own id for the booking or return
