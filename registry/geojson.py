"""Streaming GeoJSON for the registry import: the features of a FeatureCollection one at a time, with memory bounded
by the read chunk and the largest single feature, not by the file.

The standard library's decoder parses each value (`raw_decode`); only the FeatureCollection's outer object and
its `features` array are walked here, so every feature is decoded exactly as `json.loads` would decode it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError

READ_CHARS = 1 << 16
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")
_LONGEST_TOKEN = len("-Infinity")
# Names a GeoJSON file may give its CRS when coordinates are already longitude/latitude on WGS 84.
WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "ogc:crs84",
    "crs84",
    "epsg:4326",
    "urn:ogc:def:crs:epsg::4326",
    "urn:ogc:def:crs:epsg:6.6:4326",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    "http://www.opengis.net/def/crs/epsg/0/4326",
}


def _invalid(message: str) -> ValidationError:
    return ValidationError({"file": f"The file is not valid GeoJSON ({message})."})


class _JsonReader:
    """A window on a JSON text file: whitespace and punctuation are stepped over here, values are decoded by the
    standard library. Text already consumed is dropped when more is read."""

    def __init__(self, handle, read_chars: int = READ_CHARS) -> None:
        self.handle = handle
        self.read_chars = read_chars
        self.buffer = ""
        self.pos = 0
        self.eof = False
        # Where the buffer starts in the file, so errors give the file's own line, column and character.
        self.offset = 0
        self.line = 1
        self.column = 1
        self.decoder = json.JSONDecoder()

    def _read_more(self) -> bool:
        if self.eof:
            return False
        # Read at least as much as is still buffered, so a value larger than a chunk is re-decoded a logarithmic
        # number of times, not once per chunk.
        try:
            data = self.handle.read(max(self.read_chars, len(self.buffer) - self.pos))
        except UnicodeDecodeError as error:
            raise _invalid(f"not UTF-8 text: {error}") from None
        if not data:
            self.eof = True
            return False
        consumed = self.buffer[: self.pos]
        newlines = consumed.count("\n")
        if newlines:
            self.line += newlines
            self.column = len(consumed) - consumed.rfind("\n")
        else:
            self.column += len(consumed)
        self.offset += self.pos
        self.buffer = self.buffer[self.pos :] + data
        self.pos = 0
        return True

    def where(self, pos: int | None = None) -> str:
        pos = self.pos if pos is None else pos
        before = self.buffer[:pos]
        newlines = before.count("\n")
        column = pos - before.rfind("\n") if newlines else self.column + pos
        return f"line {self.line + newlines} column {column} (char {self.offset + pos})"

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end of the file), without consuming it."""
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._read_more():
                return ""

    def take(self, expected: str, what: str) -> None:
        if self.peek() != expected:
            raise _invalid(f"Expecting {what}: {self.where()}")
        self.pos += 1

    def value(self) -> Any:
        """Decode the next value."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                # Only a value cut off by the end of the buffer can come right with more text: the decoder then
                # stops at an unterminated string or within a token's length of the end. Anything else is wrong
                # already, and reading on would only bring the rest of the file into memory.
                cut_off = error.msg.startswith("Unterminated string") or error.pos >= len(self.buffer) - _LONGEST_TOKEN
                if cut_off and self._read_more():
                    continue
                raise _invalid(f"{error.msg}: {self.where(error.pos)}") from None
            # A number followed by nothing but what could still belong to it ("1", "1.", "1e-") may go on in the
            # next chunk.
            if isinstance(value, int | float) and _NUMBER_TAIL.fullmatch(self.buffer, end) and self._read_more():
                continue
            self.pos = end
            return value


def _check_crs(crs: Any) -> None:
    name = ((crs or {}).get("properties") or {}).get("name") if isinstance(crs, dict) else None
    if crs is None or (isinstance(name, str) and name.strip().lower() in WGS84_NAMES):
        return
    raise ValidationError(
        {
            "file": f"The file's coordinates are in {name or json.dumps(crs)}; the import needs longitude/latitude "
            "in WGS 84 (EPSG:4326), as GeoJSON defines them. Reproject the file first, e.g. "
            "ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson."
        }
    )


def feature_collection(path: Path, read_chars: int = READ_CHARS) -> Iterator[dict]:
    """The features of the FeatureCollection in `path`, one at a time, each as decoded by `json.loads`.

    Raises ValidationError (field `file`) for invalid JSON (with the file's line and column), a top-level value
    that is not a FeatureCollection, or a `crs` other than WGS 84 longitude/latitude. Errors found late in the file
    are raised when the stream gets there, after the earlier features were yielded."""
    with path.open(encoding="utf-8-sig") as handle:
        reader = _JsonReader(handle, read_chars)
        first = reader.peek()
        if first != "{":
            if first and first in '["-0123456789tfn':
                raise ValidationError({"file": "Expected a GeoJSON FeatureCollection."})
            raise _invalid(f"Expecting value: {reader.where()}")
        reader.pos += 1
        seen_features = False
        while reader.peek() != "}":
            if reader.peek() != '"':
                raise _invalid(f"Expecting property name enclosed in double quotes: {reader.where()}")
            key = reader.value()
            reader.take(":", "':' delimiter")
            if key == "features" and reader.peek() == "[":
                if seen_features:
                    raise ValidationError({"file": 'The FeatureCollection has "features" twice.'})
                seen_features = True
                yield from _array_items(reader)
            else:
                value = reader.value()
                if key == "features":
                    raise ValidationError({"file": "Expected a GeoJSON FeatureCollection."})
                if key == "crs":
                    _check_crs(value)
            if reader.peek() == ",":
                reader.pos += 1
                if reader.peek() == "}":
                    raise _invalid(f"Expecting property name enclosed in double quotes: {reader.where()}")
            elif reader.peek() != "}":
                raise _invalid(f"Expecting ',' delimiter: {reader.where()}")
        reader.pos += 1
        if reader.peek():
            raise _invalid(f"Extra data: {reader.where()}")
        if not seen_features:
            raise ValidationError({"file": "Expected a GeoJSON FeatureCollection."})


def _array_items(reader: _JsonReader) -> Iterator[Any]:
    reader.take("[", "'['")
    if reader.peek() == "]":
        reader.pos += 1
        return
    while True:
        yield reader.value()
        if reader.peek() == ",":
            reader.pos += 1
            continue
        reader.take("]", "',' delimiter")
        return
