"""Uploaded files: one size rule and one zip inspection for every upload (areas, layers, registry imports).

Zip archives are inspected from their directory before anything is decompressed: too many members, too many bytes
once unpacked, or a compression ratio no real data set has (a zip bomb) are refused with plain words.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

# Real vector and registry files compress 3 to 30 times; a thousand times is a bomb, not data.
MAX_COMPRESSION_RATIO = 1000


def human_size(size: int) -> str:
    return f"{size / 2**20:,.0f} MB" if size >= 2**20 else f"{size:,} bytes"


def upload_size_check(size: int, limit: int, *, field: str = "file") -> None:
    """Refuse a file larger than `limit` bytes, saying both sizes."""
    if size > limit:
        raise ValidationError({field: f"The file is {human_size(size)}; the limit is {human_size(limit)}."})


def zip_members(path: str | Path, *, field: str = "file", what: str = "The zip archive") -> list[str]:
    """The file members of a zip archive after checking that it is safe and sound to unpack: at most
    SPMIS['ZIP_MAX_MEMBERS'] members and SPMIS['ZIP_MAX_UNPACKED_BYTES'] unpacked, no absurd compression ratio, and
    every member's checksum right. Raises ValidationError naming `field`."""
    limits = settings.SPMIS
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > limits["ZIP_MAX_MEMBERS"]:
                raise ValidationError(
                    {field: f"{what} has {len(infos):,} members; at most {limits['ZIP_MAX_MEMBERS']:,} are accepted."}
                )
            unpacked = sum(info.file_size for info in infos)
            packed = sum(info.compress_size for info in infos)
            if unpacked > limits["ZIP_MAX_UNPACKED_BYTES"]:
                raise ValidationError(
                    {
                        field: f"{what} would unpack to {human_size(unpacked)}; "
                        f"the limit is {human_size(limits['ZIP_MAX_UNPACKED_BYTES'])}."
                    }
                )
            if unpacked > 2**20 and unpacked > MAX_COMPRESSION_RATIO * max(packed, 1):
                raise ValidationError({field: f"{what} is compressed beyond any real data set (a zip bomb?)."})
            bad = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError):
        raise ValidationError({field: f"{what} is damaged or truncated."}) from None
    if bad is not None:
        raise ValidationError({field: f"{what} is damaged: {bad} fails its checksum."})
    return [info.filename for info in infos if not info.is_dir()]
