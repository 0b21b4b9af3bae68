"""The entries of an ISO 20022 status file cut out of its bytes, each with the line it starts on.

libxml2 keeps an element's line in 16 bits: past line 65,535 lxml's `sourceline` is a guess (the line of the first
text inside the element, one too many when the file is indented), and a status file of a million entries has millions
of lines, while an issue must name its entry's true line. So the reader finds each entry element in the bytes itself,
counting lines as it goes (a few C-level regular expression scans and a `bytes.count` per entry), and lxml parses only
what lies around the entries (headers and batches, "the skeleton"); each entry is then read from its own bytes.

Only what could hide a tag is looked into: comments, CDATA sections and processing instructions are stepped over
whole, an entry nested in an entry (possible only inside a SupplementaryData envelope) stays inside it, and a DOCTYPE
stops the cut (the file is refused for it). A document that is not in UTF-8, or whose entries carry a namespace
prefix, is not cut: it all goes to the skeleton parser, which then meets the entries itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

BLOCK = 1 << 20
DOCTYPE = b"<!DOCTYPE"  # yielded alone, with line -1: the document declares a DOCTYPE, and nothing follows
_UTF8 = (b"utf-8", b"utf8", b"us-ascii", b"ascii")
_DECLARED_ENCODING = re.compile(rb"""(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_HIDING = ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>"))


def _utf8(head: bytes) -> bool:
    """Whether the document is in UTF-8 (or ASCII): no UTF-16/32 byte-order mark or zero bytes, no other declared
    encoding."""
    if b"\x00" in head[:4] or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    declared = _DECLARED_ENCODING.match(head)
    return declared is None or declared.group(1).lower() in _UTF8


def _hidden_end(data: bytes, at: int) -> int | None:
    """Past the end of the comment, CDATA section or processing instruction at `at` (None: not in the buffer yet);
    at + 2 for any other `<!`, which the skeleton parser will refuse."""
    for opening, closing in _HIDING:
        if data.startswith(opening, at):
            end = data.find(closing, at + len(opening))
            return None if end == -1 else end + len(closing)
    return at + 2


class _Marks:
    """What finds an entry's tags and what could hide one, for one entry name: regular expressions that start with a
    literal (SRE scans for it in C, as fast as bytes.find) and the plain end tag."""

    def __init__(self, name: bytes) -> None:
        self.opening, self.end = b"<" + name, b"</" + name + b">"
        # An entry's start tag, or a construct that could hide one.
        self.next = re.compile(rb"<(?:[!?]|" + name + rb"[\s/>])")
        # The same, or an entry's end tag (written any way): the careful walk's steps.
        self.step = re.compile(rb"<(?:[!?]|/?" + name + rb"[\s/>])")
        self.start_tag = re.compile(rb"<" + name + rb"""(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(/?)>""")
        self.end_tag = re.compile(rb"</" + name + rb"\s*>")


def _entry_end(data: bytes, start: int, marks: _Marks) -> tuple[int | None, bool]:
    """(past the end tag of the entry element starting at `start`, whether nothing in it could hide a tag); the end
    is None when the buffer does not hold the entry whole."""
    inner = start + len(marks.opening)
    if data.startswith(b">", inner):
        # The common case: <Ntry>, then up to the first </Ntry> nothing that could hide a tag or start an entry.
        first = data.find(marks.end, inner)
        if first == -1:
            return None, True
        if marks.next.search(data, inner, first) is None:
            return first + len(marks.end), True
    depth, at = 0, start
    while True:
        found = marks.step.search(data, at)
        if found is None:
            return None, False
        at = found.start()
        if data.startswith(b"</", at):
            tag = marks.end_tag.match(data, at)
            if tag is None:
                return None, False
            at, depth = tag.end(), depth - 1
            if depth == 0:
                return at, False
        elif data.startswith((b"<!", b"<?"), at):
            at = _hidden_end(data, at)
            if at is None:
                return None, False
        else:
            tag = marks.start_tag.match(data, at)
            if tag is None:
                return None, False
            at = tag.end()
            if not tag.group(1):
                depth += 1
            elif depth == 0:
                return at, False  # an empty <Ntry/>


def pieces(stream, name: str) -> Iterator[tuple[bytes, int, int, int, bool]]:
    """(buffer, start, end, line, plain) in file order: buffer[start:end] is one entry element (unprefixed tag
    `name`) that starts on line `line`, `plain` when nothing in it could hide a tag (no comment, CDATA section or
    processing instruction, no nested entry); or, with line 0, a piece of the skeleton. Line -1 says the document
    declares a DOCTYPE, and nothing follows. Whitespace alone between two marks is not handed out. A buffer stays
    valid only until the next piece is asked for."""
    marks = _Marks(name.encode())
    keep = len(b"<![CDATA[") + len(marks.opening)  # a tail that may hold the start of a tag cut by the block's end
    data = stream.read(BLOCK)
    eof = not data
    find_next = marks.next.search if _utf8(data[:256]) else re.compile(rb"<[!?]").search
    pos = counted = 0  # handed out up to pos; lines counted up to counted
    line = 1
    while True:
        found = find_next(data, pos)
        if found is not None and (eof or found.start() + keep <= len(data)):
            at = found.start()
            if at > pos and not data[pos:at].isspace():
                yield data, pos, at, 0, True
            pos = at
            if data.startswith((b"<!", b"<?"), at):
                if data.startswith(DOCTYPE, at):
                    yield DOCTYPE, 0, 0, -1, True
                    return
                end = _hidden_end(data, at)
                if end is not None:
                    yield data, at, end, 0, True
                    pos = end
                    continue
            else:
                end, plain = _entry_end(data, at, marks)
                if end is not None:
                    line += data.count(b"\n", counted, at)
                    counted = at
                    yield data, at, end, line, plain
                    pos = end
                    continue
        else:  # nothing more in this buffer: hand it out but for a tail that may hold the start of a mark
            stop = len(data) if eof else max(pos, len(data) - keep if found is None else found.start())
            if stop > pos:
                yield data, pos, stop, 0, True
                pos = stop
        if eof:  # what is left is a construct or an entry the file ends inside: the skeleton parser refuses it
            if pos < len(data):
                yield data, pos, len(data), 0, True
            return
        line += data.count(b"\n", counted, pos)
        # Doubling when a piece outgrows a block keeps even a huge entry linear to read.
        block = stream.read(max(BLOCK, len(data) - pos))
        eof = not block
        data = data[pos:] + block
        pos = counted = 0
