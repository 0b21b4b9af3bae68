"""ISO 20022 status files (pain.002, camt.054, pacs.004): validated whole, then read, in constant memory.

The XSD judges the whole file (programs.payments.files.xsd.verdict: libxml2's streaming validator with the official
XSD unchanged); a file that fails is refused as a whole, with the line and the problem, before the caller keeps a
single entry. Bytes and a small file are judged here, before they are read; a file on disk of BESIDE_MIN_BYTES or
more by the same validator in a second process (`python -m programs.payments.files.xsd`, _Beside) while this one
reads it, so the machine's two cores share the work, and the constructor waits for the verdict, unless the caller
(reconciliation, with a sink) asks for it later with `verdict_later` and calls `confirm()` itself.

Reading: each entry element is cut out of the bytes with the line it starts on (cutting.py: libxml2 counts lines in
16 bits only), and lxml parses what lies around them (headers and batches). An entry of the common camt.054 shape
is read from its bytes by two regular expressions (_camt054_fast); any other is parsed by lxml alone, inside the
namespaces in scope where it stands, and read from that small tree. Entries go to a spool (an anonymous temporary
file, written in chunks) that entries() streams back, about 100 bytes of disk per entry for as long as the object is
open; a caller that stages entries where it can drop them all (reconciliation: a COPY into a temporary table of its
transaction) passes a `sink` instead, which gets each entry as it is read.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import io
import json
import logging
import os
import pickle
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import quoteattr

from lxml import etree

from ..files.validator import module_environment
from ..files.xsd import DTD_FINDING, XSD_DIR, Finding, schema, verdict
from .cutting import TooLarge, pieces
from .reasons import reason_words
from .records import ACCEPTED, FAILED, PAID, PENDING, RETURNED, ReportInfo, StatusEntry, StatusFileError

ISO_NS = "urn:iso:std:iso:20022:tech:xsd:"
logger = logging.getLogger(__name__)
SPOOL_CHUNK = 2048  # entries per pickled chunk of the spool: large enough to be cheap, small enough to be constant

# pain.002 transaction status -> ours. ACSC ("settlement completed") is still only `accepted`: money is `paid` when
# the programme account's debit is booked (camt.054), which is what reconciliation balances against.
TX_STATUS = {
    "ACCP": ACCEPTED,
    "ACSP": ACCEPTED,
    "ACSC": ACCEPTED,
    "ACTC": ACCEPTED,
    "ACWC": ACCEPTED,
    "ACWP": ACCEPTED,
    "ACCC": ACCEPTED,
    "ACFC": ACCEPTED,
    "PART": ACCEPTED,  # a group/batch status, never a transaction's; see _pain002_entry
    "RJCT": FAILED,
    "CANC": FAILED,
    "PDNG": PENDING,
    "RCVD": PENDING,
    "PATC": PENDING,
    "PRES": PENDING,
    "BLCK": PENDING,
}


@dataclass(frozen=True)
class _Spec:
    name: str  # pain.002.001.10
    entry: str  # the repeated element, validated and dropped one by one
    header: Callable[[etree._Element, Callable[[str], str]], dict]
    # (entry element, its parent, tags, header, line of an element) -> the entry's records (None: not ours)
    entries: Callable[[etree._Element, etree._Element, _Tags, dict, Callable], list[StatusEntry | None]]
    # The same from the entry's bytes, for the shapes it knows; None for any other, which lxml then reads.
    fast: Callable[[bytes, int, int, int, _Tags, dict], list[StatusEntry | None] | None] | None = None


def _q(ns: str) -> Callable[[str], str]:
    """'GrpHdr/MsgId' -> '{ns}GrpHdr/{ns}MsgId', memoised: the paths are few and used a million times."""

    @functools.cache
    def q(path: str) -> str:
        return "/".join(f"{{{ns}}}{part}" for part in path.split("/"))

    return q


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _date(element: etree._Element, q, path: str) -> datetime.date | None:
    """An ISO date choice (`<X><Dt>` or `<X><DtTm>`) or a plain ISODate element."""
    found = element.find(q(path))
    if found is None:
        return None
    text = (found.text or "").strip()
    if not text:
        text = _text(found, q("Dt")) or (_text(found, q("DtTm")) or "")[:10]
    return datetime.date.fromisoformat(text[:10]) if text else None


def _datetime(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    moment = datetime.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _kids(element: etree._Element | None) -> dict:
    """{tag: first child with that tag}: one C-level pass over the children. `find()` goes through lxml's Python
    ElementPath and costs several times more, which matters a million entries at a time."""
    if element is None:
        return {}
    return {child.tag: child for child in reversed(element)}


def _leaf(kids: dict, tag: str) -> str | None:
    found = kids.get(tag)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _money(kids: dict, tag: str) -> tuple[Decimal | None, str | None]:
    found = kids.get(tag)
    if found is None or not found.text:
        return None, None
    return Decimal(found.text.strip()), found.get("Ccy")


def _day(kids: dict, tag: str) -> datetime.date | None:
    """An ISO date choice (`<X><Dt>` or `<X><DtTm>`: the first child either way) or a plain ISODate element."""
    found = kids.get(tag)
    if found is None:
        return None
    text = (found.text or "").strip()
    if not text and len(found):
        text = (found[0].text or "").strip()
    return datetime.date.fromisoformat(text[:10]) if text else None


def _choice(kids: dict, tag: str) -> str | None:
    """The text of a code choice (`<X><Cd>` or `<X><Prtry>`): its one child's."""
    found = kids.get(tag)
    if found is None or not len(found) or found[0].text is None:
        return None
    return found[0].text.strip() or None


def _reason_of(info: etree._Element | None, t) -> tuple[str | None, str | None, str | None]:
    """(code, plain words, the bank's own text) of a reason element (StsRsnInf, RtrRsnInf, RtrInf)."""
    if info is None:
        return None, None, None
    kids = _kids(info)
    code = _choice(kids, t.Rsn)
    bank_text = None
    if t.AddtlInf in kids:
        lines = [line.text.strip() for line in info.iterchildren(t.AddtlInf) if line.text and line.text.strip()]
        bank_text = " ".join(lines) or None
    return code, reason_words(code, bank_text), bank_text


def _reason(element: etree._Element | None, q, path: str) -> tuple[str | None, str | None, str | None]:
    """The first reason under `path`, for headers (not on the hot path)."""
    if element is None:
        return None, None, None
    return _reason_of(element.find(q(path)), _Tags(etree.QName(element).namespace))


class _Tags:
    """t.TxSts -> '{namespace}TxSts', computed once per name."""

    def __init__(self, ns: str) -> None:
        self._ns = ns

    def __getattr__(self, name: str) -> str:
        tag = f"{{{self._ns}}}{name}"
        setattr(self, name, tag)
        return tag


# -- pain.002 ---------------------------------------------------------------------------------------------------


def _pain002_header(root, q) -> dict:
    report = root.find(q("CstmrPmtStsRpt"))
    group = report.find(q("OrgnlGrpInfAndSts"))
    code, words, bank_text = _reason(group, q, "StsRsnInf")
    return {
        "msg_id": _text(report, q("GrpHdr/MsgId")),
        "created_at": _datetime(_text(report, q("GrpHdr/CreDtTm"))),
        "original_msg_id": _text(group, q("OrgnlMsgId")),
        "original_message_name": _text(group, q("OrgnlMsgNmId")),
        "group_status": _text(group, q("GrpSts")),
        "group_reason_code": code,
        "group_reason_text": words,
        "group_bank_text": bank_text,
    }


def _pain002_batch(batch, t, header) -> dict:
    """What every payment of a batch shares; read once per batch, not once per payment."""
    kids = _kids(batch)
    return {
        "pmt_inf_id": _leaf(kids, t.OrgnlPmtInfId),
        "status": _leaf(kids, t.PmtInfSts) or header["group_status"],
        "reason": _reason_of(kids.get(t.StsRsnInf), t),
    }


def _pain002_entries(tx, batch_element, t, header, line_of) -> list[StatusEntry]:
    batch = header["_batches"].get(batch_element)
    if batch is None:
        batch = header["_batches"][batch_element] = _pain002_batch(batch_element, t, header)
    kids = _kids(tx)
    code = _leaf(kids, t.TxSts) or batch["status"]
    if code is None:
        raise StatusFileError("the payment has no status (no TxSts, PmtInfSts or GrpSts)", line=line_of(tx))
    status = TX_STATUS.get(code)
    if status is None or code == "PART":
        raise StatusFileError(f"transaction status {code!r} is not one spmis knows", line=line_of(tx))
    reason_code, words, bank_text = _reason_of(kids.get(t.StsRsnInf), t)
    if status == FAILED and reason_code is None:
        reason_code, words, bank_text = batch["reason"]  # a rejection whose reason is given for the batch
    amount = currency = None
    if t.OrgnlTxRef in kids:
        amount, currency = _money(_kids(_kids(kids[t.OrgnlTxRef]).get(t.Amt)), t.InstdAmt)
    return [
        StatusEntry(
            line=line_of(tx),
            end_to_end_id=_leaf(kids, t.OrgnlEndToEndId),
            status=status,
            reason_code=reason_code,
            reason_text=words,
            amount=amount,
            currency=currency,
            booking_date=None,
            bank_text=bank_text,
            original_msg_id=header["original_msg_id"],
            pmt_inf_id=batch["pmt_inf_id"],
        )
    ]


# -- camt.054 ---------------------------------------------------------------------------------------------------


def _camt054_header(root, q) -> dict:
    notification = root.find(q("BkToCstmrDbtCdtNtfctn"))
    return {
        "msg_id": _text(notification, q("GrpHdr/MsgId")),
        "created_at": _datetime(_text(notification, q("GrpHdr/CreDtTm"))),
        "original_msg_id": None,
        "original_message_name": None,
        "group_status": None,
    }


def _camt054_status(side: str | None, booking_status: str | None, reversal: bool, returned: bool) -> str | None:
    """A booked debit of the programme account is a payment `paid`; a credit carrying return information is one
    `returned`. Anything else (money arriving, an INFO entry) is not about our payments: None, counted as skipped."""
    if side == "DBIT" and not reversal:
        return PAID if booking_status == "BOOK" else PENDING if booking_status == "PDNG" else None
    if side == "CRDT" and returned and booking_status == "BOOK":
        return RETURNED
    return None


def _camt054_entries(entry, parent, t, header, line_of) -> list[StatusEntry | None]:
    kids = _kids(entry)
    side = _leaf(kids, t.CdtDbtInd)
    booking_status = _choice(kids, t.Sts)
    reversal = _leaf(kids, t.RvslInd) in ("true", "1")
    details_element = kids.get(t.NtryDtls)
    details = list(details_element.iterchildren(t.TxDtls)) if details_element is not None else []
    if not details:
        details = [None]  # an entry without details: reported once, with no EndToEndId, for the caller to list
    booking_date = None
    found: list[StatusEntry | None] = []
    for tx in details:
        tx_kids = _kids(tx)
        return_code, return_words, return_text = _reason_of(tx_kids.get(t.RtrInf), t)
        status = _camt054_status(side, booking_status, reversal, bool(return_code or reversal))
        if status is None:
            found.append(None)
            continue
        amount, currency = _money(tx_kids, t.Amt)
        if amount is None:
            if len(details) > 1:
                raise StatusFileError("a transaction of a batched entry has no amount of its own", line=line_of(tx))
            amount, currency = _money(kids, t.Amt)
        if booking_date is None:
            booking_date = _day(kids, t.BookgDt)
        refs = _kids(tx_kids.get(t.Refs))
        found.append(
            StatusEntry(
                line=line_of(entry),
                end_to_end_id=_leaf(refs, t.EndToEndId),
                status=status,
                reason_code=return_code,
                reason_text=return_words,
                amount=amount,
                currency=currency,
                booking_date=booking_date,
                bank_text=return_text,
                original_msg_id=_leaf(refs, t.MsgId),
                pmt_inf_id=_leaf(refs, t.PmtInfId),
                bank_reference=_leaf(refs, t.AcctSvcrRef) or _leaf(kids, t.AcctSvcrRef),
            )
        )
    return found


# The common camt.054 entry, read from its bytes by two regular expressions instead of a tree of ~25 elements and
# a dozen lookups (a third of the time of the lxml reading): one transaction, no return information, no comment,
# entity or character reference in what is read (`[^<&\r]`: lxml would turn those into other text). Everything the
# expressions do not capture is skipped, and each optional element they capture is followed by a look-ahead that
# fails the match if the element is there in a form they do not read, so that such an entry goes to lxml rather than
# being read without it. The file is valid against the XSD when its entries are used (it is refused whole otherwise),
# so the order of the elements is the schema's.
_VALUE = rb"([^<&\r]*)"
_CAMT054_HEAD = re.compile(
    rb"<Ntry>\s*(?:<NtryRef>[^<]*</NtryRef>\s*)?"
    rb'<Amt Ccy="([A-Z]{3})">' + _VALUE + rb"</Amt>\s*"
    rb"<CdtDbtInd>" + _VALUE + rb"</CdtDbtInd>\s*"
    rb"(?:<RvslInd>" + _VALUE + rb"</RvslInd>\s*)?"
    rb"<Sts>\s*<(?:Cd|Prtry)>" + _VALUE + rb"</(?:Cd|Prtry)>\s*</Sts>\s*"
    rb"(?:<BookgDt>\s*<(?:Dt|DtTm)>" + _VALUE + rb"</(?:Dt|DtTm)>\s*</BookgDt>\s*)?"
    rb"(?:<ValDt>\s*<(?:Dt|DtTm)>[^<]*</(?:Dt|DtTm)>\s*</ValDt>\s*)?"
    rb"(?:<AcctSvcrRef>" + _VALUE + rb"</AcctSvcrRef>\s*)?"
    rb"(?=<(?:Avlbty|BkTxCd)>)"
)
_CAMT054_TX = re.compile(
    rb"<TxDtls>\s*(?:(<Refs>)\s*"
    rb"(?:<MsgId>" + _VALUE + rb"</MsgId>\s*)?"
    rb"(?:<AcctSvcrRef>" + _VALUE + rb"</AcctSvcrRef>\s*)?"
    rb"(?:<PmtInfId>" + _VALUE + rb"</PmtInfId>\s*)?"
    rb"(?:<InstrId>[^<]*</InstrId>\s*)?"
    rb"(?:<EndToEndId>" + _VALUE + rb"</EndToEndId>\s*)?"
    rb"(?!<(?:MsgId|AcctSvcrRef|PmtInfId|InstrId|EndToEndId)[\s>/])"
    rb"[^<]*(?:<(?!/Refs>)[^<]*)*</Refs>\s*)?(?!<Refs[\s>/])"
    rb'(?:<Amt Ccy="([A-Z]{3})">' + _VALUE + rb"</Amt>\s*)?(?!<Amt[\s>/])"
)
_CAMT054_DETAILS = re.compile(rb"<TxDtls>")
_CAMT054_NOT_FAST = re.compile(rb"<(?:TxDtls|RtrInf)[\s/>]")  # another transaction, or a return: lxml reads it


def _camt054_fast(data: bytes, start: int, end: int, line: int, t, header) -> list[StatusEntry | None] | None:
    """The entry at data[start:end] (which holds no comment, CDATA section or processing instruction: see
    cutting.pieces) if it has the common shape, else None."""
    head = _CAMT054_HEAD.match(data, start, end)
    if head is None:
        return None
    details = _CAMT054_DETAILS.search(data, head.end(), end)
    if details is None or _CAMT054_NOT_FAST.search(data, details.end(), end) is not None:
        return None
    tx = _CAMT054_TX.match(data, details.start(), end)
    if tx is None:
        return None
    currency, amount = tx.group(6, 7) if tx.group(6) is not None else head.group(1, 2)
    if not amount:
        return None  # lxml reads an empty amount as none at all
    # As lxml reads them: UTF-8, stripped, None when absent or blank.
    side, reversal, booking_status, day, entry_ref = [
        value.decode().strip() or None if value else None for value in head.group(3, 4, 5, 6, 7)
    ]
    reversed_ = reversal in ("true", "1")
    status = _camt054_status(side, booking_status, reversed_, reversed_)
    if status is None:
        return [None]
    msg_id, tx_ref, pmt_inf_id, end_to_end_id = [
        value.decode().strip() or None if value else None for value in tx.group(2, 3, 4, 5)
    ]
    day = _iso_day(day[:10]) if day else None
    bank_reference = tx_ref or entry_ref
    # Positional (a keyword call costs twice as much): line, end_to_end_id, status, reason_code, reason_text,
    # amount, currency, booking_date, bank_text, original_msg_id, pmt_inf_id, bank_reference.
    amount = Decimal(amount.decode().strip())
    entry = StatusEntry(
        line,
        end_to_end_id,
        status,
        None,
        None,
        amount,
        currency.decode(),
        day,
        None,
        msg_id,
        pmt_inf_id,
        bank_reference,
    )
    return [entry]


@functools.lru_cache(maxsize=64)
def _iso_day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)  # the few booking days of a file, parsed once each


# -- pacs.004 ---------------------------------------------------------------------------------------------------


def _pacs004_header(root, q) -> dict:
    message = root.find(q("PmtRtr"))
    return {
        "msg_id": _text(message, q("GrpHdr/MsgId")),
        "created_at": _datetime(_text(message, q("GrpHdr/CreDtTm"))),
        "original_msg_id": _text(message, q("OrgnlGrpInf/OrgnlMsgId")),
        "original_message_name": _text(message, q("OrgnlGrpInf/OrgnlMsgNmId")),
        "group_status": None,
        "settlement_date": _date(message, q, "GrpHdr/IntrBkSttlmDt"),
    }


def _pacs004_entries(tx, parent, t, header, line_of) -> list[StatusEntry]:
    kids = _kids(tx)
    code, words, bank_text = _reason_of(kids.get(t.RtrRsnInf), t)
    amount, currency = _money(kids, t.RtrdIntrBkSttlmAmt)
    if amount is None:
        amount, currency = _money(kids, t.RtrdInstdAmt)
    return [
        StatusEntry(
            line=line_of(tx),
            end_to_end_id=_leaf(kids, t.OrgnlEndToEndId),
            status=RETURNED,
            reason_code=code,
            reason_text=words,
            amount=amount,
            currency=currency,
            booking_date=_day(kids, t.IntrBkSttlmDt) or header.get("settlement_date"),
            bank_text=bank_text,
            original_msg_id=_leaf(_kids(kids.get(t.OrgnlGrpInf)), t.OrgnlMsgId) or header["original_msg_id"],
            bank_reference=_leaf(kids, t.RtrId),
        )
    ]


SPECS = {
    spec.name: spec
    for spec in (
        _Spec("pain.002.001.10", "TxInfAndSts", _pain002_header, _pain002_entries),
        _Spec("pain.002.001.03", "TxInfAndSts", _pain002_header, _pain002_entries),
        _Spec("camt.054.001.08", "Ntry", _camt054_header, _camt054_entries, _camt054_fast),
        _Spec("pacs.004.001.09", "TxInf", _pacs004_header, _pacs004_entries),
    )
}
KINDS = tuple(SPECS)


def _schema(xsd_dir: str, name: str) -> etree.XMLSchema:
    try:
        return schema(name, xsd_dir)
    except FileNotFoundError as error:
        raise StatusFileError(str(error)) from None


class _Hashing(io.RawIOBase):
    """A file read through, hashed on the way (pass 1 gives the digest without a third read)."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        return data


def _open(source: bytes | str | os.PathLike):
    return io.BytesIO(source) if isinstance(source, bytes | bytearray) else open(source, "rb")


def sniff(source: bytes | str | os.PathLike) -> str | None:
    """The ISO message a file holds, from its root element's namespace; None when it is not an XML document."""
    with _open(source) as handle:
        try:
            for _event, element in etree.iterparse(
                handle, events=("start",), resolve_entities=False, no_network=True, load_dtd=False
            ):
                namespace = etree.QName(element).namespace or ""
                return namespace.removeprefix(ISO_NS) if namespace.startswith(ISO_NS) else namespace or "(none)"
        except etree.XMLSyntaxError:
            return None
    return None


# A file at least this large is validated by a second process while this one reads its entries (the machine's
# other core does the XSD's half of the work); a smaller one in the same pass, as starting a process costs more.
BESIDE_MIN_BYTES = 4 << 20


class _Beside:
    """The XSD's verdict on a file on disk, from `python -m programs.payments.files.xsd` running beside the reader:
    the same streamed validator, with the unchanged XSD, the same findings and lines. `running` is False for bytes and
    small files, which the reader validates itself; verdict() waits for the answer (None when nothing runs)."""

    def __init__(self, process: subprocess.Popen | None, path=None, name: str = "", xsd_dir: str = "") -> None:
        self.process, self.path, self.name, self.xsd_dir = process, path, name, xsd_dir
        self.running = process is not None
        self._answer: tuple[list[Finding], str | None] | None = None

    @classmethod
    def start(cls, source, name: str, xsd_dir: str) -> _Beside:
        if isinstance(source, bytes | bytearray) or os.path.getsize(source) < BESIDE_MIN_BYTES:
            return cls(None)
        command = [sys.executable, "-m", "programs.payments.files.xsd", os.fspath(source), name, xsd_dir]
        try:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=module_environment()
            )
        except OSError as error:  # no second process: the reader validates in its own pass
            logger.warning("XSD validator process not started: %s", error)
            return cls(None)
        return cls(process, source, name, xsd_dir)

    def verdict(self) -> tuple[list[Finding], str | None] | None:
        if self.process is None or self._answer is not None:
            return self._answer
        out, err = self.process.communicate()
        if self.process.returncode != 0:
            # The second process could not judge (it could not start, or was killed): the file is judged here, late
            # but never skipped.
            logger.warning("XSD validator process stopped (%s): %s", self.process.returncode, err.decode()[-500:])
            self._answer = verdict(self.path, self.name, self.xsd_dir)
            return self._answer
        answer = json.loads(out)
        self._answer = ([Finding(line, message) for line, message in answer["findings"]], answer["unreadable"])
        return self._answer

    def stop(self) -> None:
        """End the process if it is still judging (the reader failed first, or the file was closed unconfirmed)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_SAFE = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False, "collect_ids": False}


def _sourceline(element: etree._Element) -> int:
    return element.sourceline


def _line_in(first: int, element: etree._Element) -> int:
    """The true line of an element of an entry parsed alone, the entry starting on line `first`."""
    return first - 1 + element.sourceline


@functools.cache
def _fragment_parser() -> etree.XMLParser:
    return etree.XMLParser(**_SAFE, remove_comments=True, remove_pis=True)


class IsoStatusFile:
    """A validated ISO 20022 status file: `info` at once, `entries()` streamed (it can be read more than once)."""

    def __init__(
        self,
        source: bytes | str | os.PathLike,
        *,
        name: str = "",
        xsd_dir: str | os.PathLike | None = None,
        sink: Callable[[StatusEntry], None] | None = None,
        verdict_later: bool = False,
    ) -> None:
        self.source, self.sink = source, sink
        self.verdict_later = verdict_later and sink is not None
        self._wrappers: dict[etree._Element, bytes] = {}
        self.sunk = sink is not None  # the entries go to the sink, not to entries()
        self.name = name or (os.path.basename(source) if not isinstance(source, bytes | bytearray) else "")
        kind = sniff(source)
        if kind is None:
            self._refuse_unreadable()
        if kind not in SPECS:
            raise StatusFileError(
                f"{kind} is not a status file spmis reads; it reads {', '.join(KINDS)} and CSV", name=self.name
            )
        self.spec = SPECS[kind]
        self.ns = ISO_NS + kind
        self.q = _q(self.ns)
        self.t = _Tags(self.ns)
        self.xsd_dir = str(xsd_dir or XSD_DIR)
        self.xsd = _schema(self.xsd_dir, kind)
        # Pass 1 keeps what it read in an anonymous temporary file (gone when closed, or if the process dies), so
        # that pass 2 streams it back instead of parsing the XML a second time: constant memory, half the work.
        self._spool = tempfile.TemporaryFile(prefix="spmis-status-")  # noqa: SIM115 (closed by close()/__del__)
        try:
            self.info, self._header = self._validate()
        except BaseException:
            self._spool.close()
            raise

    def _refuse_unreadable(self) -> None:
        with _open(self.source) as handle:
            try:
                for _ in etree.iterparse(handle, resolve_entities=False, no_network=True, load_dtd=False):
                    pass
            except etree.XMLSyntaxError as error:
                raise StatusFileError(f"not readable XML: {error.msg}", line=error.lineno or 0, name=self.name)
        raise StatusFileError("the file is empty", name=self.name)

    def _refuse(self, findings: list[Finding], unreadable: str | None) -> None:
        """The first thing the streaming validator found, as the refusal of the whole file."""
        first = findings[0]
        if first == DTD_FINDING:
            raise StatusFileError("a DOCTYPE is not allowed in a status file", line=1, name=self.name)
        if unreadable is not None:
            raise StatusFileError(f"not readable XML: {unreadable}", line=first.line or 0, name=self.name)
        raise StatusFileError(
            f"does not validate against {self.spec.name}.xsd: {first.message}", line=first.line or 0, name=self.name
        )

    def _refuse_if(self, verdict: tuple[list[Finding], str | None] | None) -> None:
        if verdict is not None and verdict[0]:
            self._refuse(*verdict)

    def _validate(self) -> tuple[ReportInfo, dict]:
        """The XSD's verdict (here first, or from the process beside) and the reading of every entry."""
        beside = self._beside = _Beside.start(self.source, self.spec.name, self.xsd_dir)
        judging_on = False  # the process beside is left to judge for confirm()
        try:
            if not beside.running:  # judged here, before anything is read from it
                self._refuse_if(verdict(self.source, self.spec.name, self.xsd_dir))
            read = self._read_entries()
            if not self.verdict_later:
                self.confirm()
            judging_on = True
            return read
        except StatusFileError as error:
            # The XSD judges first: an entry the reader cannot read is most often one the XSD refuses.
            self._refuse_if(beside.verdict())
            raise StatusFileError(error.problem, line=error.line, name=self.name) from None
        except Exception:
            self._refuse_if(beside.verdict())  # a file the reader fails on in its own way is still the XSD's to judge
            raise
        finally:
            if not judging_on:
                beside.stop()

    def confirm(self) -> None:
        """Wait for the XSD's verdict on the file and raise StatusFileError if it refuses it. With `verdict_later`
        the constructor returned before the process beside had finished: whatever was done with the entries must be
        undone (the caller's transaction rolled back) unless this returns."""
        try:
            self._refuse_if(self._beside.verdict())
        finally:
            self._beside.stop()

    def _read_entries(self) -> tuple[ReportInfo, dict]:
        """Every entry, cut out of the file's bytes with its true line (cutting.py) and read from them, or parsed by
        lxml alone with the namespaces in scope where it stands; the skeleton around them goes through lxml."""
        count = skipped = 0
        header = None
        batches_with_entries: set[etree._Element] = set()
        chunk: list[tuple] = []
        sink, spec = self.sink, self.spec
        fast = spec.fast
        tag = f"{{{self.ns}}}{spec.entry}"
        skeleton = etree.XMLPullParser(events=("start", "end"), **_SAFE, remove_comments=True, remove_pis=True)
        open_elements: list[etree._Element] = []  # the skeleton's, not yet ended: the last holds the next entry

        def keep(records: list[StatusEntry | None]) -> None:
            nonlocal count, skipped, chunk
            for entry in records:
                if entry is None:
                    skipped += 1
                    continue
                count += 1
                if sink is not None:
                    sink(entry)
                    continue
                chunk.append(tuple(entry))
                if len(chunk) >= SPOOL_CHUNK:
                    pickle.dump(chunk, self._spool, pickle.HIGHEST_PROTOCOL)
                    chunk = []

        with _open(self.source) as raw:
            handle = _Hashing(raw)
            try:
                for data, start, end, line, plain in pieces(handle, spec.entry):
                    if line < 0:
                        raise StatusFileError("a DOCTYPE is not allowed in a status file", line=1)
                    if line == 0:
                        skeleton.feed(data[start:end])
                        for event, element in skeleton.read_events():
                            if event == "start":
                                open_elements.append(element)
                                continue
                            open_elements.pop()
                            if element.tag == tag:  # an entry the cut could not take: read from the skeleton
                                parent = element.getparent()
                                header = header or self._read_header(element.getroottree().getroot())
                                batches_with_entries.add(parent)
                                keep(self._read(element, parent, header, _sourceline, element.sourceline))
                                element.clear(keep_tail=True)
                                previous = element.getprevious()
                                if previous is not None and previous.tag == tag:
                                    parent.remove(previous)
                        continue
                    if not open_elements:
                        raise StatusFileError("not readable XML: an entry outside the document", line=line)
                    parent = open_elements[-1]
                    if header is None:
                        header = self._read_header(open_elements[0])
                    records = self._read_fast(data, start, end, line, header) if plain and fast else None
                    if records is None:
                        element = self._fragment(data[start:end], parent, tag, line)
                        if element is None:  # an element of that name in another namespace: not an entry
                            continue
                        records = self._read(element, parent, header, functools.partial(_line_in, line), line)
                    batches_with_entries.add(parent)
                    keep(records)
                root = skeleton.close()
            except etree.XMLSyntaxError as error:
                raise StatusFileError(f"not readable XML: {error.msg}") from None
            except TooLarge as error:
                raise StatusFileError(f"not readable: {error}") from None
        if chunk:
            pickle.dump(chunk, self._spool, pickle.HIGHEST_PROTOCOL)
        if header is None:
            header = self._read_header(root)
        fields = {k: v for k, v in header.items() if k in ReportInfo.__dataclass_fields__}
        if spec.entry == "TxInfAndSts":
            fields["rejected_batches"] = self._rejected_batches(root, batches_with_entries)
        info = ReportInfo(
            kind=spec.name,
            entries=count,
            skipped=skipped,
            name=self.name,
            sha256=handle.digest.hexdigest(),
            **fields,
        )
        return info, header

    def _fragment(self, entry: bytes, parent: etree._Element, tag: str, line: int) -> etree._Element | None:
        """The entry parsed alone, inside an element declaring the namespaces in scope where it stands."""
        opening = self._wrappers.get(parent)
        if opening is None:
            declared = " ".join(
                f"xmlns{':' + prefix if prefix else ''}={quoteattr(uri)}" for prefix, uri in parent.nsmap.items()
            )
            opening = self._wrappers[parent] = f"<spmis-entry {declared}>".encode()
        try:
            wrapper = etree.fromstring(opening + entry + b"</spmis-entry>", _fragment_parser())
        except etree.XMLSyntaxError as error:
            raise StatusFileError(f"not readable XML: {error.msg}", line=line - 1 + (error.lineno or 1)) from None
        element = wrapper[0] if len(wrapper) else None
        return element if element is not None and element.tag == tag else None

    def _rejected_batches(
        self, root, batches_with_entries: set[etree._Element]
    ) -> tuple[tuple[str, str | None, str | None], ...]:
        """pain.002 batches rejected as a whole with no payment listed: (PmtInfId, reason code, reason words)."""
        q = self.q
        found = []
        for batch in root.iterfind(q("CstmrPmtStsRpt/OrgnlPmtInfAndSts")):
            if batch in batches_with_entries or _text(batch, q("PmtInfSts")) != "RJCT":
                continue
            code, words, _bank_text = _reason(batch, q, "StsRsnInf")
            found.append((_text(batch, q("OrgnlPmtInfId")) or "", code, words))
        return tuple(found)

    def _read_header(self, root) -> dict:
        try:
            return dict(self.spec.header(root, self.q), _batches={})
        except ValueError as error:
            raise StatusFileError(f"header unreadable: {error}", line=root.sourceline, name=self.name)

    def _read(self, element, parent, header, line_of, line: int) -> list[StatusEntry | None]:
        try:
            return self.spec.entries(element, parent, self.t, header, line_of)
        except StatusFileError:
            raise
        except (ValueError, ArithmeticError) as error:
            raise StatusFileError(str(error), line=line, name=self.name)

    def _read_fast(self, data: bytes, start: int, end: int, line: int, header) -> list[StatusEntry | None] | None:
        try:
            return self.spec.fast(data, start, end, line, self.t, header)
        except UnicodeDecodeError:
            return None  # lxml reads it, and says what is wrong
        except (ValueError, ArithmeticError) as error:
            raise StatusFileError(str(error), line=line, name=self.name)

    def entries(self) -> Iterator[StatusEntry]:
        """Pass 2: the entries pass 1 read, in file order, from the spool (it can be read again)."""
        if self.sink is not None:
            raise ValueError("this status file's entries went to its sink as they were read")
        if self._spool.closed:
            raise ValueError("this status file is closed")
        self._spool.flush()
        self._spool.seek(0)
        make = StatusEntry._make
        while True:
            try:
                chunk = pickle.load(self._spool)
            except EOFError:
                return
            for values in chunk:
                yield make(values)

    def close(self) -> None:
        self._spool.close()
        beside = getattr(self, "_beside", None)
        if beside is not None:
            beside.stop()

    def __enter__(self) -> IsoStatusFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        spool = getattr(self, "_spool", None)
        if spool is not None:
            spool.close()
