"""Mobile money status files: the CSV a wallet provider returns after paying a payout file.

The format (docs/payments.md, "Status files from mobile money providers"):

    reference,status,reason,amount,currency,date
    SPMIS-000123-0001,paid,,1500.00,BDT,2026-10-01
    SPMIS-000123-0002,failed,AC04,2500.00,BDT,
    SPMIS-000123-0003,failed,Wallet not registered,800.00,BDT,

UTF-8 (a byte-order mark is allowed), comma-separated, one header row naming the columns (any order, any case;
`date` may be left out), one row per payment. `reference` is the EndToEndId spmis sent; `status` is paid, failed,
returned, pending or accepted; `reason` is required for failed and returned: an ISO 20022 reason code (four capitals
or digits, such as AC04) or the provider's own words; `amount` is digits with a point and at most three decimals
(no thousands separators, no sign); `currency` is ISO 4217; `date` is YYYY-MM-DD, the day the provider booked it.

Read in two streamed passes like the ISO files: every row is checked first, and a bad row refuses the whole file,
naming the row and its line; then the rows are read again and yielded.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import os
import re
from collections.abc import Iterator
from decimal import Decimal

from .reasons import reason_words
from .records import ENTRY_STATUSES, FAILED, RETURNED, ReportInfo, StatusEntry, StatusFileError

KIND = "status.csv"
COLUMNS = ("reference", "status", "reason", "amount", "currency")
OPTIONAL_COLUMNS = ("date",)
REFERENCE = re.compile(r"^[A-Za-z0-9/\-?:().,'+ ]{1,35}$")  # what an ISO 20022 Max35Text identifier carries
AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,3})?$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
REASON_CODE = re.compile(r"^[A-Z0-9]{4}$")


class _Hashing(io.RawIOBase):
    def __init__(self, raw, digest) -> None:
        self.raw, self.digest = raw, digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        if self.digest is not None:
            self.digest.update(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


def _text_stream(source: bytes | str | os.PathLike, digest):
    """The file as text, hashed on the way when `digest` is given (the same file twice has the same digest)."""
    raw = io.BytesIO(source) if isinstance(source, bytes | bytearray) else open(source, "rb")  # noqa: SIM115
    return io.TextIOWrapper(io.BufferedReader(_Hashing(raw, digest)), encoding="utf-8-sig", newline="")


class CsvStatusFile:
    """A validated mobile money status file: `info` at once, `entries()` streamed."""

    sunk = False  # read through entries(), whatever the caller asked

    def __init__(self, source: bytes | str | os.PathLike, *, name: str = "") -> None:
        self.source = source
        self.name = name or (os.path.basename(source) if not isinstance(source, bytes | bytearray) else "")
        count, digest = 0, hashlib.sha256()
        for _entry in self._rows(digest):
            count += 1
        self.info = ReportInfo(
            kind=KIND,
            msg_id=None,
            original_msg_id=None,
            group_status=None,
            created_at=None,
            entries=count,
            name=self.name,
            sha256=digest.hexdigest(),
        )

    def entries(self) -> Iterator[StatusEntry]:
        yield from self._rows(None)

    def close(self) -> None:
        return None  # nothing held open between passes; here for the same interface as the ISO files

    def confirm(self) -> None:
        return None  # every row was checked before the constructor returned

    def __enter__(self) -> CsvStatusFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _error(self, problem: str, line: int) -> StatusFileError:
        return StatusFileError(problem, line=line, name=self.name)

    def _rows(self, digest) -> Iterator[StatusEntry]:
        with _text_stream(self.source, digest) as handle:
            reader = csv.reader(handle, strict=True)
            try:
                header = next(reader, None)
                if header is None:
                    raise self._error("the file is empty: it needs a header row", 1)
                columns = self._columns(header)
                number = 0
                for row in reader:
                    if not any(cell.strip() for cell in row):
                        continue  # a blank line, often the last one
                    number += 1
                    yield self._entry(row, columns, number, reader.line_num)
            except UnicodeDecodeError as error:
                raise self._error(f"not UTF-8 text ({error.reason} at byte {error.start})", 0)
            except csv.Error as error:
                raise self._error(f"not readable CSV: {error}", reader.line_num)

    def _columns(self, header: list[str]) -> dict[str, int]:
        names = [name.strip().lower() for name in header]
        unknown = [name for name in names if name not in COLUMNS + OPTIONAL_COLUMNS]
        if unknown:
            raise self._error(
                f"unknown column {unknown[0]!r}; the columns are {', '.join(COLUMNS + OPTIONAL_COLUMNS)}", 1
            )
        missing = [name for name in COLUMNS if name not in names]
        if missing:
            raise self._error(f"column {missing[0]!r} is missing from the header row", 1)
        if len(set(names)) != len(names):
            raise self._error("a column is named twice in the header row", 1)
        return {name: index for index, name in enumerate(names)}

    def _entry(self, row: list[str], columns: dict[str, int], number: int, line: int) -> StatusEntry:
        def fail(column: str, problem: str) -> StatusFileError:
            return self._error(f"row {number}, {column}: {problem}", line)

        if len(row) != len(columns):
            raise self._error(f"row {number} has {len(row)} values for {len(columns)} columns", line)
        value = {name: row[index].strip() for name, index in columns.items()}
        reference = value["reference"]
        if not REFERENCE.match(reference):
            raise fail("reference", f"{reference!r} is not a payment reference (1 to 35 letters, digits, - / . :)")
        status = value["status"].lower()
        if status not in ENTRY_STATUSES:
            raise fail("status", f"{value['status']!r} is not one of {', '.join(ENTRY_STATUSES)}")
        reason = value["reason"] or None
        if status in (FAILED, RETURNED) and reason is None:
            raise fail("reason", f"a {status} payment needs a reason (an ISO code such as AC04, or words)")
        if reason is not None and len(reason) > 140:
            raise fail("reason", "longer than 140 characters")
        if not AMOUNT.match(value["amount"]):
            raise fail("amount", f"{value['amount']!r} is not an amount such as 1500.00")
        amount = Decimal(value["amount"])
        if amount <= 0:
            raise fail("amount", "must be more than zero")
        if not CURRENCY.match(value["currency"]):
            raise fail("currency", f"{value['currency']!r} is not an ISO 4217 code such as BDT")
        booking_date = None
        if value.get("date"):
            try:
                booking_date = datetime.date.fromisoformat(value["date"])
            except ValueError:
                raise fail("date", f"{value['date']!r} is not a date written YYYY-MM-DD")
        code = reason if reason and REASON_CODE.match(reason) else None
        bank_text = None if code else reason
        return StatusEntry(
            line=line,
            end_to_end_id=reference,
            status=status,
            reason_code=code,
            reason_text=reason_words(code, bank_text),
            amount=amount,
            currency=value["currency"],
            booking_date=booking_date,
            bank_text=bank_text,
        )
