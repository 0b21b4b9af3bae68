"""Pure classification code: no database."""

import struct

import numpy as np
import pytest

from response.classify import NO_CLASS, ClassSpec, classify_values, validate_bands
from spmis.core.binary_copy import COPY_HEADER, decode_tuple, encode_binary_copy

FLOOD = [
    ClassSpec(1, "low", "Low", 1, 0.1, 0.7),
    ClassSpec(2, "moderate", "Moderate", 2, 0.7, 1.5),
    ClassSpec(3, "high", "High", 3, 1.5, None),
]


def test_thresholds_are_half_open_and_skip_nodata():
    values = np.array([0.0, 0.0999, 0.1, 0.69, 0.7, 1.5, 12.0, np.nan, -9999.0])
    assert classify_values(values, FLOOD, nodata=-9999.0).tolist() == [
        NO_CLASS,
        NO_CLASS,
        0,
        0,
        1,
        2,
        2,
        NO_CLASS,
        NO_CLASS,
    ]


def test_overlapping_ranges_take_the_highest_rank():
    classes = [ClassSpec(1, "a", "A", 1, 0.0, 10.0), ClassSpec(2, "b", "B", 5, 5.0, None)]
    assert classify_values(np.array([1.0, 6.0]), classes).tolist() == [0, 1]


def test_bands_must_be_ordered_rings():
    assert validate_bands([(1000, 5000, "moderate"), (0, 1000, "severe")])[0] == (0, 1000, "severe")
    with pytest.raises(ValueError, match="overlaps"):
        validate_bands([(0, 2000, "severe"), (1000, 5000, "moderate")])
    with pytest.raises(ValueError, match="greater"):
        validate_bands([(500, 500, "severe")])


def test_binary_copy_round_trip_with_nulls_and_texts():
    ids = np.array([5, 6, 7], dtype=np.int64)
    values = np.array([1.5, np.nan, 3.0])
    payload = encode_binary_copy(
        [("int8", ids), ("float8", values), ("int8", np.array([1, 0, 2]))],
        ["alpha", "βeta"],
        np.array([0, 1, 0]),
        nulls={2: np.array([False, True, False])},
    )
    assert payload.startswith(COPY_HEADER) and payload.endswith(struct.pack(">h", -1))
    # Parse the tuples back by hand (the groups may come in any order).
    rows, offset = [], len(COPY_HEADER)
    while True:
        (count,) = struct.unpack_from(">h", payload, offset)
        offset += 2
        if count == -1:
            break
        row = []
        for kind in ("q", "d", "q", "text"):
            (length,) = struct.unpack_from(">i", payload, offset)
            offset += 4
            if length == -1:
                row.append(None)
                continue
            raw = payload[offset : offset + length]
            offset += length
            row.append(raw.decode() if kind == "text" else struct.unpack(">" + kind, raw)[0])
        rows.append(tuple(row))
    assert sorted(rows) == [(5, 1.5, 1, "alpha"), (6, None, None, "βeta"), (7, 3.0, 2, "alpha")]


def _array(values, pgtype):
    oid, code = {"int8": (20, "q"), "float8": (701, "d")}[pgtype]
    body = struct.pack(">iiiii", 1, 0, oid, len(values), 1)
    body += b"".join(struct.pack(">i" + code, 8, value) for value in values)
    return struct.pack(">i", len(body)) + body


def test_decoding_tuples_of_scalars_and_arrays():
    types = ["int8", "int8[]", "float8[]"]
    first = struct.pack(">h", 3) + struct.pack(">iq", 8, 42) + _array([1, 2, 3], "int8") + _array([0.5, 1, 2], "float8")
    empty = struct.pack(">h", 3) + struct.pack(">iq", 8, 7) + struct.pack(">i", -1) + struct.pack(">i", -1)
    stream = COPY_HEADER + first + empty + struct.pack(">h", -1)

    fields, offset = decode_tuple(stream, len(COPY_HEADER), types)
    assert fields[0] == 42 and fields[1].tolist() == [1, 2, 3] and fields[2].tolist() == [0.5, 1.0, 2.0]
    assert fields[1].dtype == np.int64 and fields[2].dtype == np.float64
    fields, offset = decode_tuple(stream, offset, types)
    assert fields == [7, None, None]
    assert decode_tuple(stream, offset, types) is None  # the trailer
    assert decode_tuple(stream[: len(COPY_HEADER) + len(first) - 1], len(COPY_HEADER), types) is None  # cut short
