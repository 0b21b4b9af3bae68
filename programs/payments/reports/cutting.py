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
# An entry (or comment) not closed within this much is refused rather than read on into memory: a file cut short or
# malformed must not fill it. lxml would hold such an entry as a tree of ten times its size.
MAX_PIECE = 64 << 20


class TooLarge(ValueError):
    """An entry or construct that does not end within MAX_PIECE bytes."""


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
        self.start = re.compile(rb"<" + name + rb"[\s/>]")
        # An entry's start or end tag (written any way), or a construct that could hide one: the careful walk's steps.
        self.step = re.compile(rb"<(?:[!?]|/?" + name + rb"[\s/>])")
        self.start_tag = re.compile(rb"<" + name + rb"""(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(/?)>""")
        self.end_tag = re.compile(rb"</" + name + rb"\s*>")


def _entry_end(data: bytes, start: int, marks: _Marks) -> int | None:
    """Past the end tag of the entry element starting at `start`, stepping over what could hide a tag and over
    nested entries; None when the buffer does not hold the entry whole."""
    depth, at = 0, start
    while True:
        found = marks.step.search(data, at)
        if found is None:
            return None
        at = found.start()
        if data.startswith(b"</", at):
            tag = marks.end_tag.match(data, at)
            if tag is None:
                return None
            at, depth = tag.end(), depth - 1
            if depth == 0:
                return at
        elif data.startswith((b"<!", b"<?"), at):
            at = _hidden_end(data, at)
            if at is None:
                return None
        else:
            tag = marks.start_tag.match(data, at)
            if tag is None:
                return None
            at = tag.end()
            if not tag.group(1):
                depth += 1
            elif depth == 0:
                return at  # an empty <Ntry/>


_HIDING_START = re.compile(rb"<[!?]")


def pieces(stream, name: str) -> Iterator[tuple[bytes, int, int, int, bool]]:
    """(buffer, start, end, line, plain) in file order: buffer[start:end] is one entry element (unprefixed tag
    `name`) that starts on line `line`, `plain` when nothing in it could hide a tag (no comment, CDATA section or
    processing instruction, no nested entry); or, with line 0, a piece of the skeleton. Line -1 says the document
    declares a DOCTYPE, and nothing follows. Whitespace alone between two marks is not handed out. A buffer stays
    valid only until the next piece is asked for. Raises TooLarge for an entry or construct over MAX_PIECE."""
    marks = _Marks(name.encode())
    keep = len(b"<![CDATA[") + len(marks.opening)  # a tail that may hold the start of a tag cut by the block's end
    data = stream.read(BLOCK)
    eof = not data
    find_start = marks.start.search if _utf8(data[:256]) else None
    find_hiding = _HIDING_START.search
    pos = counted = 0  # handed out up to pos; lines counted up to counted
    line = 1
    # Where the next entry start and the next construct that could hide a tag are (-1: none in the buffer), each
    # found once and used until pos passes it: a file without comments is searched for them once a block.
    starts = hiding = -2
    while True:
        if -1 != hiding < pos:
            found = find_hiding(data, pos)
            hiding = found.start() if found is not None else -1
        if find_start is None:
            starts = -1
        elif -1 != starts < pos:
            found = find_start(data, pos)
            starts = found.start() if found is not None else -1
        at = starts if hiding == -1 or -1 != starts < hiding else hiding
        if at != -1 and (eof or at + keep <= len(data)):
            if at > pos and not data[pos:at].isspace():
                yield data, pos, at, 0, True
            pos = at
            if at == hiding:
                if data.startswith(DOCTYPE, at):
                    yield DOCTYPE, 0, 0, -1, True
                    return
                end = _hidden_end(data, at)
                if end is not None:
                    yield data, at, end, 0, True
                    pos = end
                    continue
            else:
                inner = at + len(marks.opening)
                end, plain = None, False
                if data.startswith(b">", inner):
                    # The common case: <Ntry>, its end tag before the next entry starts and before anything that
                    # could hide a tag. Finding the next start here serves the next round too.
                    first = data.find(marks.end, inner)
                    if first != -1:
                        found = find_start(data, inner)
                        starts = found.start() if found is not None else -1
                        if (starts == -1 or starts > first) and (hiding == -1 or hiding > first):
                            end, plain = first + len(marks.end), True
                if end is None:
                    end = _entry_end(data, at, marks)
                if end is not None:
                    line += data.count(b"\n", counted, at)
                    counted = at
                    yield data, at, end, line, plain
                    pos = end
                    continue
        else:  # nothing more in this buffer: hand it out but for a tail that may hold the start of a mark
            stop = len(data) if eof else max(pos, len(data) - keep if at == -1 else at)
            if stop > pos:
                yield data, pos, stop, 0, True
                pos = stop
        if eof:  # what is left is a construct or an entry the file ends inside: the skeleton parser refuses it
            if pos < len(data):
                yield data, pos, len(data), 0, True
            return
        if len(data) - pos > MAX_PIECE:
            raise TooLarge(f"an element of more than {MAX_PIECE >> 20} MiB that does not end (line {line})")
        line += data.count(b"\n", counted, pos)
        # Doubling when a piece outgrows a block keeps even a huge entry linear to read.
        block = stream.read(max(BLOCK, len(data) - pos))
        eof = not block
        data = data[pos:] + block
        pos = counted = 0
        starts = hiding = -2
