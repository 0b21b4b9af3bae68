"""Where a payment file goes: a binary stream or a path. Bytes are counted and hashed as they are written, so the
summary's SHA-256 is of exactly what left the writer, with no second read of the file.

A path is written as `<name>.part` and renamed when the writer finished without error; on any error the part file
is removed. A file at the final path is therefore always whole: a worker killed halfway leaves a `.part` behind,
never a truncated file that looks finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True)
class FileSummary:
    """What a writer wrote: the rows and their sum as counted while writing, and the bytes."""

    nb_of_txs: int
    ctrl_sum: Decimal
    sha256: str
    size_bytes: int
    path: Path | None = None  # set when the writer was given a path


class HashingWriter:
    """A write-only binary stream in front of another that hashes and counts every byte."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        self._raw.write(data)
        return len(data)

    def flush(self) -> None:
        self._raw.flush()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@contextlib.contextmanager
def open_output(out: BinaryIO | str | os.PathLike) -> Iterator[tuple[HashingWriter, Path | None]]:
    """A HashingWriter over `out`; for a path, the atomic part-file-then-rename described above."""
    if hasattr(out, "write"):
        writer = HashingWriter(out)  # type: ignore[arg-type]
        yield writer, None
        writer.flush()
        return
    final = Path(out)
    part = final.with_name(final.name + ".part")
    try:
        with open(part, "wb") as raw:
            writer = HashingWriter(raw)
            yield writer, final
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
