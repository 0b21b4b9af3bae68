"""PostgreSQL binary COPY, encoded and decoded with numpy (pure code, no database): for bulk paths where a client
handling rows one by one in Python would cost more than the database takes to produce or store them."""

from __future__ import annotations

import struct

import numpy as np

# PostgreSQL binary COPY: a fixed header, tuples of (int16 field count, per field int32 length + big-endian data),
# and an int16 -1 trailer. Rows of the same shape (same NULLs, same text) have the same byte layout, so whole groups
# are written as one numpy structured array instead of row by row.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
_TYPES = {"int8": ">i8", "float8": ">f8", "int2": ">i2", "bool": "?"}


def encode_binary_copy(
    columns: list[tuple[str, np.ndarray]], texts: list[str], text_codes: np.ndarray, *, nulls: dict | None = None
) -> bytes:
    """Encode rows for COPY … (FORMAT binary). `columns` are (pg type, values); NaN is NULL for float8 and
    `nulls` maps a column position to a boolean mask of NULL rows for the others. The last field is text chosen
    per row by `text_codes` from `texts`."""
    count = len(text_codes)
    if count == 0:
        return COPY_HEADER + COPY_TRAILER
    null_bits = np.zeros(count, dtype=np.int64)
    for position, (pgtype, values) in enumerate(columns):
        if pgtype == "float8":
            null_bits |= np.isnan(values).astype(np.int64) << position
        if nulls and position in nulls:
            null_bits |= np.asarray(nulls[position], dtype=np.int64) << position
    key = null_bits * (len(texts) + 1) + (text_codes + 1)
    parts = [COPY_HEADER]
    for group in np.unique(key):
        rows = np.nonzero(key == group)[0]
        bits, code = divmod(int(group), len(texts) + 1)
        code -= 1  # codes were shifted by one so that the key is never negative
        fields = [("n", ">i2")]
        for position, (pgtype, _values) in enumerate(columns):
            if bits & (1 << position):
                fields.append((f"l{position}", ">i4"))
            else:
                fields += [(f"l{position}", ">i4"), (f"v{position}", _TYPES[pgtype])]
        text = texts[code].encode()
        fields.append(("lt", ">i4"))
        if text:
            fields.append(("t", f"S{len(text)}"))
        block = np.empty(len(rows), dtype=np.dtype(fields))
        block["n"] = len(columns) + 1
        for position, (pgtype, values) in enumerate(columns):
            if bits & (1 << position):
                block[f"l{position}"] = -1
            else:
                block[f"l{position}"] = np.dtype(_TYPES[pgtype]).itemsize
                block[f"v{position}"] = values[rows]
        block["lt"] = len(text)
        if text:
            block["t"] = text
        parts.append(block.tobytes())
    parts.append(COPY_TRAILER)
    return b"".join(parts)


ARRAY_HEADER_BYTES = 20  # ndim, flags, element oid, then (size, lower bound) of the one dimension


def decode_tuple(buffer: bytes | bytearray | memoryview, offset: int, types: list[str]) -> tuple[list, int] | None:
    """Decode one tuple of a binary COPY at `offset` whose fields are fixed-width scalars ("int8", "float8", …) or
    one-dimensional arrays of them ("int8[]", …) without NULL elements. Returns (fields, next offset); None when
    the buffer ends inside the tuple or at the trailer. A NULL field decodes to None, an array to a numpy array."""
    view = memoryview(buffer)
    if len(view) - offset < 2:
        return None
    (count,) = struct.unpack_from(">h", view, offset)
    if count == -1:
        return None
    position = offset + 2
    fields: list = []
    for pgtype in types:
        if len(view) - position < 4:
            return None
        (length,) = struct.unpack_from(">i", view, position)
        position += 4
        if length == -1:
            fields.append(None)
            continue
        if len(view) - position < length:
            return None
        if pgtype.endswith("[]"):
            element = _TYPES[pgtype[:-2]]
            (ndim,) = struct.unpack_from(">i", view, position)
            size = struct.unpack_from(">i", view, position + 12)[0] if ndim else 0
            items = np.frombuffer(
                view, dtype=np.dtype([("l", ">i4"), ("v", element)]), count=size, offset=position + ARRAY_HEADER_BYTES
            )
            fields.append(items["v"].astype(element.lstrip(">")))
        else:
            fields.append(np.frombuffer(view, dtype=_TYPES[pgtype], count=1, offset=position)[0].item())
        position += length
    return fields, position
