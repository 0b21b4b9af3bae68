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
import io
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


class StreamedValidation:
    """The elements of `tags` of a document streamed through libxml2's schema validator, as they end: iterate over
    it, and read `findings` (the XSD's, each with the line being fed when it was raised) and `root` afterwards.

    The document is fed a line at a time (see _Reported), so that a finding names its true line, past the 65,535
    lines libxml2 itself counts. Elements whose tag is in `clear` are cleared once the loop body is done with them,
    and the one before them dropped, so memory stays flat. Iteration stops at the first `stop_after` findings (the
    validator stops judging after the first in streaming mode; a reader refusing the file needs only that one). A
    DOCTYPE is a finding of its own (DTD_FINDING), found before the parser sees it, so no entity is ever declared.
    `stream` is a binary file object; with `schema=None` nothing is validated, only read."""

    def __init__(
        self,
        stream,
        xsd: etree.XMLSchema | None,
        ns: str,
        *,
        tags: Sequence[str],
        clear: Sequence[str] = (),
        stop_after: int = MAX_FINDINGS,
        **parser_options,
    ) -> None:
        self.stream, self.ns, self.clear, self.stop_after = stream, ns, frozenset(clear), stop_after
        etree.use_global_python_log(_REPORTED)
        self.root_tag = f"{{{ns}}}Document"
        self.parser = etree.XMLPullParser(
            events=("end",),
            tag=[*tags, self.root_tag],
            schema=xsd,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            collect_ids=False,
            **parser_options,
        )
        self.findings: list[Finding] = []
        self.root: etree._Element | None = None
        self.line = 0  # the line being fed
        self.unreadable: str | None = None  # why the document is not readable XML, when it is not

    def _reported(self, entry) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(self.line, _plain(entry.message, self.ns)))

    def __iter__(self) -> Iterator[etree._Element]:
        _REPORTED.active.sink = self._reported
        checked_dtd, clear, findings, root_tag = False, self.clear, self.findings, self.root_tag
        ended = False
        try:
            for line, piece in _lines(self.stream):
                self.line = line
                if not checked_dtd and b"<!DOCTYPE" in piece:
                    self.findings[:] = [DTD_FINDING]  # before the parser sees it, so no entity is even declared
                    return
                self.parser.feed(piece)
                for _event, element in self.parser.read_events():
                    if not checked_dtd:
                        checked_dtd = True
                        if _has_dtd(element.getroottree()):
                            self.findings[:] = [DTD_FINDING]
                            return
                    if element.tag == root_tag and element.getparent() is None:
                        ended = True
                        continue
                    yield element
                    if element.tag in clear:
                        element.clear(keep_tail=True)
                        previous = element.getprevious()
                        if previous is not None and previous.tag == element.tag:
                            element.getparent().remove(previous)
                if len(findings) >= self.stop_after:
                    return
            self.root = self.parser.close()
        except etree.XMLSyntaxError as error:
            if not findings:  # a message that did not pass through the hook (should not happen): lxml's own words
                findings += [_finding(e.line, _plain(e.message, self.ns)) for e in error.error_log][:MAX_FINDINGS]
            if not findings:
                findings.append(_finding(error.lineno, _plain(str(error), self.ns)))
            self.unreadable = error.msg
            return
        finally:
            _REPORTED.active.sink = None
        if not ended and not findings:
            # lxml's parser with a schema and resolve_entities=False closes a document cut short without a word
            # (lxml 6.1, libxml2 2.14): the root's own end is what says the file is whole.
            self.unreadable = "the file ends before its root element does (it was cut short)"
            findings.append(Finding(self.line, self.unreadable))
        elif not findings and _has_dtd(self.root.getroottree()):
            findings.append(DTD_FINDING)


def _repeated(ns: str) -> list[str]:
    """Elements cleared as the parse goes: a pain.001's transactions, a status report's transaction statuses, a
    notification's entries and their details, a return's transactions. Everything else is small and stays."""
    return [f"{{{ns}}}{tag}" for tag in ("CdtTrfTxInf", "TxInfAndSts", "TxDtls", "Ntry", "OrgnlPmtInfAndSts", "TxInf")]


# A pain.001 laid out as programs.payments.files.pain001 writes it (one PmtInf, each transaction on a line of its
# own) is validated in pieces of this many transactions: the file's lines before the first transaction and after the
# last, around each piece of transaction lines, parsed as a tree and validated whole. libxml2 validates a tree three
# times as fast as it validates while streaming, and a piece's tree is a few MB. The pieces together are the file:
# pain.001 has no identity constraint (xs:key, xs:unique, ID) linking one transaction to another, every piece is
# checked to add only transactions, one per line, to the one PmtInf, so the file is valid exactly when every piece
# is; and a finding's line is the file's own, past the 65,535 lines libxml2 counts.
PIECE_TRANSACTIONS = 2000
TRANSACTION_LINE = (b"<CdtTrfTxInf>", b"</CdtTrfTxInf>\n")
TAIL_BYTES = 1 << 16


class _NotInPieces(Exception):
    """The file is not laid out as the project writes pain.001: the streamed validator judges it."""


class _Pieces:
    """validate_file's way for pain.001 files laid out as the project writes them (see PIECE_TRANSACTIONS)."""

    def __init__(self, path: str | os.PathLike, name: str) -> None:
        self.path, self.name = path, name
        self.xsd, self.ns = schema(name), namespace(name)
        self.transaction, self.amount = f"{{{self.ns}}}CdtTrfTxInf", f"{{{self.ns}}}InstdAmt"
        self.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, collect_ids=False
        )
        self.findings: list[Finding] = []
        self.count, self.total = 0, Decimal(0)

    def _tail(self, size: int) -> bytes:
        """The lines after the last transaction."""
        with open(self.path, "rb") as handle:
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read()
        end = tail.rfind(TRANSACTION_LINE[1])
        if end == -1:
            raise _NotInPieces
        return tail[end + len(TRANSACTION_LINE[1]) :]

    def _payment_info(self, document: bytes) -> etree._Element:
        root = etree.fromstring(document, self.parser)
        found = root.findall(f"{{{self.ns}}}CstmrCdtTrfInitn/{{{self.ns}}}PmtInf")
        if len(found) != 1:
            raise _NotInPieces
        return found[0]

    def run(self) -> list[Finding]:
        size = os.path.getsize(self.path)
        epilogue = self._tail(size)
        with open(self.path, "rb") as handle:
            prologue_lines = []
            for line in handle:
                if line.startswith(TRANSACTION_LINE[0]):
                    break
                if b"<!DOCTYPE" in line or len(prologue_lines) >= 200:
                    raise _NotInPieces
                prologue_lines.append(line)
            else:
                raise _NotInPieces
            prologue = b"".join(prologue_lines)
            try:
                header_children = len(self._payment_info(prologue + epilogue))
            except etree.XMLSyntaxError:
                raise _NotInPieces from None
            self.prologue, self.epilogue = prologue, epilogue
            self.prologue_lines = len(prologue_lines)
            last_byte = size - len(epilogue)  # where the epilogue starts
            position = len(prologue) + len(line)
            piece, first_line = [line], self.prologue_lines + 1
            for line in handle:
                if position >= last_byte:
                    break
                position += len(line)
                if len(piece) == PIECE_TRANSACTIONS:
                    self._judge(piece, first_line, header_children)
                    first_line += len(piece)
                    piece = []
                    if len(self.findings) >= MAX_FINDINGS:
                        return self.findings[:MAX_FINDINGS]
                piece.append(line)
            self._judge(piece, first_line, header_children)
        self.epilogue_first_line = first_line + len(piece)
        return self.findings[:MAX_FINDINGS]

    def _file_line(self, line: int, first_line: int, lines: int) -> int:
        if line <= self.prologue_lines:
            return line
        if line <= self.prologue_lines + lines:
            return first_line + line - self.prologue_lines - 1
        return first_line + lines + line - self.prologue_lines - lines - 1

    def _judge(self, piece: list[bytes], first_line: int, header_children: int) -> None:
        start, end = TRANSACTION_LINE
        if not all(line.startswith(start) and line.endswith(end) for line in piece):
            raise _NotInPieces
        try:
            payment_info = self._payment_info(self.prologue + b"".join(piece) + self.epilogue)
        except etree.XMLSyntaxError as error:
            self.findings.append(
                Finding(self._file_line(error.lineno or 0, first_line, len(piece)), _plain(error.msg, self.ns))
            )
            return
        transactions = payment_info.findall(self.transaction)
        if len(transactions) != len(piece) or len(payment_info) != header_children + len(piece):
            raise _NotInPieces  # a line holding two transactions, or something else than a transaction
        if not self.xsd.validate(payment_info.getroottree()):
            seen = {(f.line, f.message) for f in self.findings}
            for error in self.xsd.error_log:
                finding = Finding(self._file_line(error.line, first_line, len(piece)), _plain(error.message, self.ns))
                if (finding.line, finding.message) not in seen:  # the lines around the pieces repeat their findings
                    seen.add((finding.line, finding.message))
                    self.findings.append(finding)
            return
        self.count += len(transactions)
        self.total += sum((Decimal(element.text) for element in payment_info.iter(self.amount)), Decimal(0))

    def totals(self) -> list[Finding]:
        """NbOfTxs and CtrlSum of the PmtInf and the GrpHdr against what the pieces held."""
        root = etree.fromstring(self.prologue + self.epilogue, self.parser)
        totals = _Totals(self.ns)
        totals.batch_count, totals.batch_total = self.count, self.total
        q = f"{{{self.ns}}}CstmrCdtTrfInitn/{{{self.ns}}}"
        totals.batch(root.find(q + "PmtInf"))
        totals.file(root.find(q + "GrpHdr"))
        return [Finding(self._header_line(f.line), f.message) for f in totals.findings]

    def _header_line(self, line: int | None) -> int | None:
        return (
            line
            if line is None or line <= self.prologue_lines
            else self.epilogue_first_line + line - 1 - self.prologue_lines
        )


def _validate_in_pieces(path: str | os.PathLike, name: str) -> list[Finding] | None:
    """validate_file's answer for a pain.001 laid out as the project writes it; None for any other layout."""
    pieces = _Pieces(path, name)
    try:
        findings = pieces.run()
    except (_NotInPieces, InvalidOperation):
        return None
    return findings or pieces.totals()


def validate_file(path: str | os.PathLike, name: str) -> list[Finding]:
    """Every finding about the file at `path` read as message `name` (one of SCHEMAS); an empty list when it is
    valid. Constant memory whatever the file's size. Never raises for a bad file, only for an unknown `name` or a
    file that cannot be opened."""
    pain001 = name.startswith("pain.001.")
    if pain001:
        answer = _validate_in_pieces(path, name)
        if answer is not None:
            return answer
    xsd = schema(name)
    ns = namespace(name)
    transaction, batch, header = f"{{{ns}}}CdtTrfTxInf", f"{{{ns}}}PmtInf", f"{{{ns}}}GrpHdr"
    amount = f"{{{ns}}}InstdAmt"
    repeated = _repeated(ns)
    totals = _Totals(ns)
    with open(path, "rb") as stream:
        validation = StreamedValidation(
            stream, xsd, ns, tags=[*repeated, batch, header, amount] if pain001 else list(repeated), clear=repeated
        )
        for element in validation:
            tag = element.tag
            if tag == amount:
                totals.amount(element.text)
            elif tag == transaction:
                totals.batch_count += 1
            elif tag == batch:
                totals.batch(element)
    if validation.findings:
        return validation.findings
    if pain001:
        totals.file(validation.root.find(f"{{{ns}}}CstmrCdtTrfInitn/{{{ns}}}GrpHdr"))
        return totals.findings
    return []


def verdict(
    source: str | os.PathLike | bytes, name: str, xsd_dir: str | None = None
) -> tuple[list[Finding], str | None]:
    """The XSD's first finding on the file at `source` (a path, or the file's bytes) read as message `name` ([] when
    it is valid), and why the file is not readable XML when that is the finding. Nothing is kept of the document:
    its elements are cleared as they end. What a status file reader runs beside its own pass (`python -m
    programs.payments.files.xsd`), or before it for bytes and small files."""
    ns = namespace(name)
    with io.BytesIO(source) if isinstance(source, bytes | bytearray) else open(source, "rb") as stream:
        repeated = _repeated(ns)
        validation = StreamedValidation(stream, schema(name, xsd_dir), ns, tags=repeated, clear=repeated, stop_after=1)
        for _element in validation:
            pass
    return validation.findings[:1], validation.unreadable


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


VERDICT_NICENESS = 10  # of the process giving verdict() beside a status file's reader (reports/iso.py, _Beside)

if __name__ == "__main__":  # python -m programs.payments.files.xsd PATH NAME [XSD_DIR]: verdict() as JSON
    import json
    import sys

    # Run beside a reader that needs the verdict only once it has read the file and written what it read: its own
    # work (and the database's) comes first on a shared core, and this takes what they leave.
    os.nice(VERDICT_NICENESS)

    found, unreadable = verdict(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    json.dump({"findings": [[f.line, f.message] for f in found], "unreadable": unreadable}, sys.stdout)
