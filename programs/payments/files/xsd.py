"""ISO 20022 XSD validation of payment files and status reports, in constant memory.

`validate_file` streams the file through libxml2's schema validator (an lxml XMLPullParser with the schema, fed a
line at a time so that each finding carries its true line), clearing each transaction as soon as it is read, so a
file of a million transactions is checked in a few MB. It only judges: a reader of status reports parses them
again for their content. For pain.001 it
also counts the transactions and sums their amounts, per PmtInf and for the file, and compares them with NbOfTxs
and CtrlSum (the XSD cannot). The answer is a list of findings, each with the line it is about; an empty list
means valid. `ensure_valid` raises `InvalidFile` instead, for the release path: a file that raised is never sent.

Files from outside (status reports, notifications) are untrusted: the parser resolves no entity, loads no DTD and
opens no network connection, and a file that carries a DTD at all is refused (ISO 20022 files have none).
The schemas are read once per process from programs/payments/xsd/ (see its README for their source).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree

XSD_DIR = Path(__file__).resolve().parent.parent / "xsd"
NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
SCHEMAS = (
    "pain.001.001.09",
    "pain.001.001.03",
    "pain.002.001.10",
    "pain.002.001.03",
    "camt.054.001.08",
    "pacs.004.001.09",
)

# At most this many schema errors are reported: libxml2 stops validating at the first one in streaming mode
# anyway, and a broken file must not fill memory with a million identical messages.
MAX_FINDINGS = 50


@dataclass(frozen=True)
class Finding:
    """Something wrong with a file: the line it is on (None when it is about the file as a whole) and what, in
    words."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class InvalidFile(ValueError):
    """A file that did not validate. Carries its findings; the caller must discard the file, never release it."""

    def __init__(self, name: str, findings: list[Finding]) -> None:
        self.findings = findings
        shown = "; ".join(str(f) for f in findings[:3])
        more = f" (and {len(findings) - 3} more)" if len(findings) > 3 else ""
        super().__init__(f"The file is not a valid {name}: {shown}{more}.")


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def schema_document(name: str, xsd_dir: str | Path | None = None) -> etree._ElementTree:
    """The XSD of message `name` as an XML document (from `xsd_dir`, by default the shipped ones), parsed with the
    safe parser. Raises FileNotFoundError when it is not there."""
    path = Path(xsd_dir or XSD_DIR) / f"{name}.xsd"
    if not path.is_file():
        raise FileNotFoundError(f"the XSD for {name} is not installed ({path})")
    return etree.parse(str(path), parser=_safe_parser())


@functools.cache
def schema(name: str, xsd_dir: str | None = None) -> etree.XMLSchema:
    """The XSD of message `name` (one of SCHEMAS), parsed once per process."""
    if name not in SCHEMAS:
        raise ValueError(f"No schema for {name!r}; the project ships {', '.join(SCHEMAS)}.")
    return etree.XMLSchema(schema_document(name, xsd_dir))


def namespace(name: str) -> str:
    return NAMESPACE_PREFIX + name


def _plain(message: str, ns: str) -> str:
    # libxml2 names elements as {urn:iso:std:iso:20022:tech:xsd:pain.001.001.09}Nm; the namespace says nothing
    # to a reader who already knows which message it is.
    return message.replace("{" + ns + "}", "")


def _decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal(text) if text is not None else None
    except InvalidOperation:
        return None


class _Totals:
    """NbOfTxs and CtrlSum as declared and as counted, for pain.001's GrpHdr and each PmtInf."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.count = 0
        self.total = Decimal(0)
        self.batch_count = 0
        self.batch_total = Decimal(0)
        self.findings: list[Finding] = []

    def amount(self, text: str | None) -> None:
        value = _decimal(text)
        if value is not None:  # an amount that is not a number is the XSD's finding already
            self.batch_total += value

    def batch(self, element: etree._Element) -> None:
        self._compare(
            element, self.batch_count, self.batch_total, f"PmtInf {element.findtext(f'{{{self.ns}}}PmtInfId')}"
        )
        self.count += self.batch_count
        self.total += self.batch_total
        self.batch_count, self.batch_total = 0, Decimal(0)

    def file(self, header: etree._Element | None) -> None:
        if header is not None:
            self._compare(header, self.count, self.total, "GrpHdr")

    def _compare(self, element: etree._Element, count: int, total: Decimal, where: str) -> None:
        declared_count = element.find(f"{{{self.ns}}}NbOfTxs")
        if declared_count is not None and declared_count.text != str(count):
            self.findings.append(
                Finding(
                    declared_count.sourceline,
                    f"{where}: NbOfTxs says {declared_count.text} but {count} transactions follow.",
                )
            )
        declared_sum = element.find(f"{{{self.ns}}}CtrlSum")
        if declared_sum is not None and _decimal(declared_sum.text) != total:
            self.findings.append(
                Finding(
                    declared_sum.sourceline,
                    f"{where}: CtrlSum says {declared_sum.text} but the amounts sum to {total}.",
                )
            )


# libxml2 stores an element's line in 16 bits: past line 65,535 the validator says 65535 or 0.
LINE_LIMIT = 65535


def _finding(line: int | None, message: str) -> Finding:
    if line is not None and (line == 0 or line >= LINE_LIMIT):
        return Finding(None, f"{message} (at or after line {LINE_LIMIT:,}: the validator counts lines no further)")
    return Finding(line or None, message)


DTD_FINDING = Finding(1, "The file carries a DTD; ISO 20022 files have none, and it is not read.")


def _has_dtd(tree: etree._ElementTree) -> bool:
    return tree.docinfo.internalDTD is not None or bool(tree.docinfo.doctype)


class _Reported(etree.PyErrorLog):
    """lxml's global (per-thread) error log, which receives libxml2's messages the moment they are raised, while
    the parser's own log only fills when the parse ends, with line 0 for every schema error in streaming mode.
    validate_file feeds the parser a line at a time and takes the line it is feeding as the finding's line.
    Outside validate_file messages are dropped, as the default global log keeps them only in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.active = threading.local()

    def receive(self, entry) -> None:  # lxml calls this for every message of this thread
        sink = getattr(self.active, "sink", None)
        if sink is not None:
            sink(entry)

    def log(self, entry, message, *args) -> None:  # PyErrorLog's hook to the logging module: unused
        pass


_REPORTED = _Reported()
BLOCK = 1 << 16


def _lines(stream) -> Iterator[tuple[int, bytes]]:
    """(line number, piece) pieces of at most BLOCK bytes, each piece within one line: memory stays flat even for a
    file written on a single line."""
    number, rest = 1, b""
    while block := stream.read(BLOCK):
        start = 0
        data = rest + block if rest else block
        rest = b""
        while (end := data.find(b"\n", start)) != -1:
            yield number, data[start : end + 1]
            number += 1
            start = end + 1
        if start < len(data):
            if len(data) - start >= BLOCK:
                yield number, data[start:]
            else:
                rest = data[start:]
    if rest:
        yield number, rest


def validate_file(path: str | os.PathLike, name: str) -> list[Finding]:
    """Every finding about the file at `path` read as message `name` (one of SCHEMAS); an empty list when it is
    valid. Constant memory whatever the file's size. Never raises for a bad file, only for an unknown `name` or a
    file that cannot be opened."""
    xsd = schema(name)
    ns = namespace(name)
    pain001 = name.startswith("pain.001.")
    transaction, batch, header = f"{{{ns}}}CdtTrfTxInf", f"{{{ns}}}PmtInf", f"{{{ns}}}GrpHdr"
    amount = f"{{{ns}}}InstdAmt"
    # Elements cleared as the parse goes: a pain.001's transactions, a status report's transaction statuses, a
    # notification's entries and their details. Everything else is small and stays until the end.
    repeated = {transaction, f"{{{ns}}}TxInfAndSts", f"{{{ns}}}TxDtls", f"{{{ns}}}Ntry", f"{{{ns}}}OrgnlPmtInfAndSts"}
    totals = _Totals(ns)
    parser = etree.XMLPullParser(
        events=("end",),
        tag=[*repeated, batch, header, amount] if pain001 else list(repeated),
        schema=xsd,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        collect_ids=False,
    )
    findings: list[Finding] = []
    at_line = [0]  # the line being fed, read by the hook

    def reported(entry) -> None:
        if len(findings) < MAX_FINDINGS:
            findings.append(Finding(at_line[0], _plain(entry.message, ns)))

    etree.use_global_python_log(_REPORTED)
    _REPORTED.active.sink = reported
    checked_dtd = False
    try:
        with open(path, "rb") as stream:
            for at_line[0], piece in _lines(stream):
                if not checked_dtd and b"<!DOCTYPE" in piece:
                    return [DTD_FINDING]  # before the parser sees it, so no entity is even declared
                parser.feed(piece)
                for _event, element in parser.read_events():
                    if not checked_dtd:
                        checked_dtd = True
                        if _has_dtd(element.getroottree()):
                            return [DTD_FINDING]
                    tag = element.tag
                    if tag == amount:
                        totals.amount(element.text)
                    elif tag in repeated:
                        if tag == transaction:
                            totals.batch_count += 1
                        element.clear(keep_tail=True)
                        previous = element.getprevious()
                        if previous is not None and previous.tag == tag:
                            element.getparent().remove(previous)
                    elif tag == batch:
                        totals.batch(element)
        root = parser.close()
    except etree.XMLSyntaxError as error:
        if not findings:  # a message that did not pass through the hook (should not happen): lxml's own words
            findings += [_finding(e.line, _plain(e.message, ns)) for e in error.error_log][:MAX_FINDINGS]
        return findings or [_finding(error.lineno, _plain(str(error), ns))]
    finally:
        _REPORTED.active.sink = None
    if findings:
        return findings
    if _has_dtd(root.getroottree()):
        return [DTD_FINDING]
    if pain001:
        totals.file(root.find(f"{{{ns}}}CstmrCdtTrfInitn/{{{ns}}}GrpHdr"))
        findings += totals.findings
    return findings


def validate_files(paths: Sequence[str | os.PathLike], name: str, *, processes: int = 1) -> list[list[Finding]]:
    """validate_file for each of `paths` (the files a large batch was split into), the findings in the same order.
    With `processes` > 1 the files are validated side by side in that many worker processes (spawned: they import
    this module and lxml, not Django), for when validation, about half as fast as writing, bounds a batch's time."""
    if processes <= 1 or len(paths) <= 1:
        return [validate_file(path, name) for path in paths]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(processes, len(paths)), mp_context=context) as pool:
        return list(pool.map(validate_file, [str(p) for p in paths], [name] * len(paths)))


def ensure_valid(path: str | os.PathLike, name: str) -> None:
    """Nothing when the file is valid; InvalidFile (with every finding) when not."""
    findings = validate_file(path, name)
    if findings:
        raise InvalidFile(name, findings)


def message_name(path: str | os.PathLike) -> str | None:
    """The ISO 20022 message a file holds, from its root's namespace (`pain.002.001.10`), reading only the start
    of the file; None when it is not an ISO 20022 document."""
    try:
        for _event, element in etree.iterparse(
            str(path), events=("start",), resolve_entities=False, no_network=True, load_dtd=False
        ):
            ns = etree.QName(element).namespace or ""
            return ns[len(NAMESPACE_PREFIX) :] if ns.startswith(NAMESPACE_PREFIX) else None
    except etree.XMLSyntaxError:
        return None
    return None
