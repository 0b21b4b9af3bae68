"""ISO 20022 status files (pain.002, camt.054, pacs.004) read in two streamed passes, in constant memory.

Pass 1 validates the whole file against the official XSD and reads every entry (so that anything pass 2 could
trip on is found now), keeping nothing: a file that fails is refused as a whole, with the line and the problem,
before the caller has seen a single entry. Pass 2 reads it again and yields the entries.

Validation is streamed without losing line numbers: libxml2's streaming validator (lxml's `iterparse(schema=)`)
reports errors at the end of the file with line 0, so instead each repeated entry (TxInfAndSts, Ntry, TxInf) is
validated on its own as soon as it is parsed, against the same XSD with one global element added for the entry's
type, and then dropped; what is left of the document (its headers, the entries gone: they are optional in every
one of these schemas) is validated against the unchanged XSD at the end. The two together are the XSD's verdict on
the whole document.
"""

from __future__ import annotations

import copy
import datetime
import functools
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from lxml import etree

from .reasons import reason_words
from .records import ACCEPTED, FAILED, PAID, PENDING, RETURNED, ReportInfo, StatusEntry, StatusFileError

XSD_DIR = Path(__file__).resolve().parent.parent / "xsd"
ISO_NS = "urn:iso:std:iso:20022:tech:xsd:"
XS = "http://www.w3.org/2001/XMLSchema"

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
    entries: Callable[[etree._Element, Callable[[str], str], dict], Iterator[StatusEntry | None]]


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


def _amount(element: etree._Element, path: str) -> tuple[Decimal | None, str | None]:
    found = element.find(path)
    if found is None or not found.text:
        return None, None
    return Decimal(found.text.strip()), found.get("Ccy")


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


def _reason(element: etree._Element | None, q, path: str) -> tuple[str | None, str | None, str | None]:
    """(code, plain words, the bank's own text) of the first reason under `path` (StsRsnInf, RtrRsnInf, RtrInf)."""
    if element is None:
        return None, None, None
    info = element.find(q(path))
    if info is None:
        return None, None, None
    code = _text(info, q("Rsn/Cd")) or _text(info, q("Rsn/Prtry"))
    lines = [line.text.strip() for line in info.iterfind(q("AddtlInf")) if line.text and line.text.strip()]
    bank_text = " ".join(lines) or None
    return code, reason_words(code, bank_text), bank_text


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


def _pain002_entries(tx, q, header) -> Iterator[StatusEntry]:
    batch = tx.getparent()
    code = _text(tx, q("TxSts")) or _text(batch, q("PmtInfSts")) or header["group_status"]
    if code is None:
        raise StatusFileError("the payment has no status (no TxSts, PmtInfSts or GrpSts)", line=tx.sourceline)
    status = TX_STATUS.get(code)
    if status is None or code == "PART":
        raise StatusFileError(f"transaction status {code!r} is not one spmis knows", line=tx.sourceline)
    reason_code, words, bank_text = _reason(tx, q, "StsRsnInf")
    if status == FAILED and reason_code is None:
        # A rejection whose reason is given for the batch or the group only.
        reason_code, words, bank_text = _reason(batch, q, "StsRsnInf")
    amount, currency = _amount(tx, q("OrgnlTxRef/Amt/InstdAmt"))
    yield StatusEntry(
        line=tx.sourceline,
        end_to_end_id=_text(tx, q("OrgnlEndToEndId")),
        status=status,
        reason_code=reason_code,
        reason_text=words,
        amount=amount,
        currency=currency,
        booking_date=None,
        bank_text=bank_text,
        original_msg_id=header["original_msg_id"],
        pmt_inf_id=_text(batch, q("OrgnlPmtInfId")),
    )


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


def _camt054_entries(entry, q, header) -> Iterator[StatusEntry | None]:
    """A booked debit of the programme account is a payment `paid`; a credit carrying return information is one
    `returned`. Anything else (money arriving, an INFO entry) is not about our payments: None, counted as skipped."""
    side = _text(entry, q("CdtDbtInd"))
    booking_status = _text(entry, q("Sts/Cd")) or _text(entry, q("Sts/Prtry"))
    reversal = _text(entry, q("RvslInd")) in ("true", "1")
    booking_date = _date(entry, q, "BookgDt")
    entry_amount, entry_currency = _amount(entry, q("Amt"))
    entry_reference = _text(entry, q("AcctSvcrRef"))
    details = entry.findall(q("NtryDtls/TxDtls"))
    if not details:
        details = [None]  # an entry without details: reported once, with no EndToEndId, for the caller to list
    for tx in details:
        source = tx if tx is not None else entry
        return_code, return_words, return_text = _reason(tx, q, "RtrInf")
        if side == "DBIT" and not reversal:
            if booking_status == "BOOK":
                status = PAID
            elif booking_status == "PDNG":
                status = PENDING
            else:
                yield None
                continue
        elif side == "CRDT" and (return_code or reversal) and booking_status == "BOOK":
            status = RETURNED
        else:
            yield None
            continue
        amount, currency = _amount(tx, q("Amt")) if tx is not None else (None, None)
        if amount is None:
            if len(details) > 1:
                raise StatusFileError(
                    "a transaction of a batched entry has no amount of its own", line=source.sourceline
                )
            amount, currency = entry_amount, entry_currency
        yield StatusEntry(
            line=source.sourceline,
            end_to_end_id=_text(tx, q("Refs/EndToEndId")) if tx is not None else None,
            status=status,
            reason_code=return_code,
            reason_text=return_words,
            amount=amount,
            currency=currency,
            booking_date=booking_date,
            bank_text=return_text,
            original_msg_id=_text(tx, q("Refs/MsgId")) if tx is not None else None,
            pmt_inf_id=_text(tx, q("Refs/PmtInfId")) if tx is not None else None,
            bank_reference=(_text(tx, q("Refs/AcctSvcrRef")) if tx is not None else None) or entry_reference,
        )


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


def _pacs004_entries(tx, q, header) -> Iterator[StatusEntry]:
    code, words, bank_text = _reason(tx, q, "RtrRsnInf")
    amount, currency = _amount(tx, q("RtrdIntrBkSttlmAmt"))
    if amount is None:
        amount, currency = _amount(tx, q("RtrdInstdAmt"))
    yield StatusEntry(
        line=tx.sourceline,
        end_to_end_id=_text(tx, q("OrgnlEndToEndId")),
        status=RETURNED,
        reason_code=code,
        reason_text=words,
        amount=amount,
        currency=currency,
        booking_date=_date(tx, q, "IntrBkSttlmDt") or header.get("settlement_date"),
        bank_text=bank_text,
        original_msg_id=_text(tx, q("OrgnlGrpInf/OrgnlMsgId")) or header["original_msg_id"],
        bank_reference=_text(tx, q("RtrId")),
    )


SPECS = {
    spec.name: spec
    for spec in (
        _Spec("pain.002.001.10", "TxInfAndSts", _pain002_header, _pain002_entries),
        _Spec("pain.002.001.03", "TxInfAndSts", _pain002_header, _pain002_entries),
        _Spec("camt.054.001.08", "Ntry", _camt054_header, _camt054_entries),
        _Spec("pacs.004.001.09", "TxInf", _pacs004_header, _pacs004_entries),
    )
}
KINDS = tuple(SPECS)


@functools.cache
def _schemas(xsd_dir: str, name: str) -> tuple[etree.XMLSchema, etree.XMLSchema]:
    """The message's XSD, and the same XSD with the repeated entry declared globally so it validates on its own."""
    path = Path(xsd_dir) / f"{name}.xsd"
    if not path.is_file():
        raise StatusFileError(f"the XSD for {name} is not installed ({path})")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    document = etree.parse(str(path), parser)
    fragment = copy.deepcopy(document)
    declarations = fragment.getroot().xpath(f"//xs:element[@name='{SPECS[name].entry}']", namespaces={"xs": XS})
    types = {d.get("type") for d in declarations}
    if len(types) != 1:
        raise StatusFileError(f"the XSD for {name} does not declare {SPECS[name].entry} once")
    fragment.getroot().insert(0, etree.Element(f"{{{XS}}}element", name=SPECS[name].entry, type=types.pop()))
    return etree.XMLSchema(document), etree.XMLSchema(fragment)


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


def _stamp(path) -> tuple[int, int]:
    found = os.stat(path)
    return found.st_size, found.st_mtime_ns


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


def _events(handle, spec: _Spec, ns: str):
    return etree.iterparse(
        handle,
        events=("end",),
        tag=f"{{{ns}}}{spec.entry}",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )


class IsoStatusFile:
    """A validated ISO 20022 status file: `info` at once, `entries()` streamed (it can be read more than once)."""

    def __init__(
        self, source: bytes | str | os.PathLike, *, name: str = "", xsd_dir: str | os.PathLike | None = None
    ) -> None:
        self.source = source
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
        self.full, self.fragment = _schemas(str(xsd_dir or XSD_DIR), kind)
        self._stamp = None if isinstance(source, bytes | bytearray) else _stamp(source)
        self.info, self._header = self._validate()

    def _refuse_unreadable(self) -> None:
        with _open(self.source) as handle:
            try:
                for _ in etree.iterparse(handle, resolve_entities=False, no_network=True, load_dtd=False):
                    pass
            except etree.XMLSyntaxError as error:
                raise StatusFileError(f"not readable XML: {error.msg}", line=error.lineno or 0, name=self.name)
        raise StatusFileError("the file is empty", name=self.name)

    def _refuse(self, log, fallback_line: int) -> None:
        error = log.last_error if log.last_error is not None else None
        first = next(iter(log), error)
        message = first.message if first is not None else "does not validate"
        # Names like '{urn:iso:...:pain.002.001.10}TxSts' are noise for a reader: keep the local name.
        message = message.replace(f"{{{self.ns}}}", "")
        raise StatusFileError(
            f"does not validate against {self.spec.name}.xsd: {message}",
            line=(first.line if first is not None and first.line else fallback_line),
            name=self.name,
        )

    def _validate(self) -> tuple[ReportInfo, dict]:
        """Pass 1: the whole file against the XSD and through the readers, keeping only counts and the headers."""
        count = skipped = 0
        header = None
        batches_with_entries: set[int] = set()
        root = None
        with _open(self.source) as raw:
            handle = _Hashing(raw)
            try:
                for _event, element in _events(handle, self.spec, self.ns):
                    if not self.fragment(element):
                        self._refuse(self.fragment.error_log, element.sourceline)
                    if header is None:
                        root = element.getroottree().getroot()
                        header = self._read_header(root)
                    batches_with_entries.add(element.getparent().sourceline)
                    for entry in self._read(element, header):
                        if entry is None:
                            skipped += 1
                        else:
                            count += 1
                    element.getparent().remove(element)
            except etree.XMLSyntaxError as error:
                raise StatusFileError(f"not readable XML: {error.msg}", line=error.lineno or 0, name=self.name)
            except StatusFileError as error:
                error.name = error.name or self.name
                raise StatusFileError(error.problem, line=error.line, name=self.name) from None
            while handle.read(1 << 16):  # the digest covers trailing bytes too
                pass
        if root is None:
            with _open(self.source) as again:
                root = etree.parse(again, etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
        if root.getroottree().docinfo.doctype:
            raise StatusFileError("a DOCTYPE is not allowed in a status file", line=1, name=self.name)
        # What is left is the document without its entries: the headers, against the unchanged XSD.
        if not self.full(root.getroottree()):
            self._refuse(self.full.error_log, root.sourceline)
        if header is None:
            header = self._read_header(root)
        fields = {k: v for k, v in header.items() if k in ReportInfo.__dataclass_fields__}
        if self.spec.entry == "TxInfAndSts":
            fields["rejected_batches"] = self._rejected_batches(root, batches_with_entries)
        info = ReportInfo(
            kind=self.spec.name,
            entries=count,
            skipped=skipped,
            name=self.name,
            sha256=handle.digest.hexdigest(),
            **fields,
        )
        return info, header

    def _rejected_batches(self, root, batches_with_entries: set[int]) -> tuple[tuple[str, str | None, str | None], ...]:
        """pain.002 batches rejected as a whole with no payment listed: (PmtInfId, reason code, reason words)."""
        q = self.q
        found = []
        for batch in root.iterfind(q("CstmrPmtStsRpt/OrgnlPmtInfAndSts")):
            if batch.sourceline in batches_with_entries or _text(batch, q("PmtInfSts")) != "RJCT":
                continue
            code, words, _bank_text = _reason(batch, q, "StsRsnInf")
            found.append((_text(batch, q("OrgnlPmtInfId")) or "", code, words))
        return tuple(found)

    def _read_header(self, root) -> dict:
        try:
            return self.spec.header(root, self.q)
        except ValueError as error:
            raise StatusFileError(f"header unreadable: {error}", line=root.sourceline, name=self.name)

    def _read(self, element, header) -> Iterator[StatusEntry | None]:
        try:
            yield from self.spec.entries(element, self.q, header)
        except StatusFileError:
            raise
        except (ValueError, ArithmeticError) as error:
            raise StatusFileError(str(error), line=element.sourceline, name=self.name)

    def entries(self) -> Iterator[StatusEntry]:
        """Pass 2: the entries, in file order. Only ever runs on a file pass 1 accepted."""
        if self._stamp is not None and _stamp(self.source) != self._stamp:
            raise StatusFileError("the file changed after it was validated", name=self.name)
        with _open(self.source) as handle:
            for _event, element in _events(handle, self.spec, self.ns):
                for entry in self._read(element, self._header):
                    if entry is not None:
                        yield entry
                element.getparent().remove(element)
