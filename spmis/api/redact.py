"""Server file paths never leave the server: messages from GDAL, rasterio and the like name the file they failed
on, and job rows keep the paths they worked with. `redact_paths` keeps only each path's last part (the file's own
name, which the user chose or can recognise)."""

from __future__ import annotations

import re
from typing import Any

# An absolute path of two or more parts, not inside a URL ("https://host/a/b") or a longer word.
_PATH = re.compile(r"(?<![\w:/.~-])(?:/[\w.@+~-]+){2,}/?")


def _last_part(match: re.Match) -> str:
    return match.group(0).rstrip("/").rsplit("/", 1)[-1]


def redact_paths(value: Any) -> Any:
    """The value (a string, or dicts and lists of them) with every absolute file path cut to its last part."""
    if isinstance(value, str):
        return _PATH.sub(_last_part, value)
    if isinstance(value, dict):
        return {key: redact_paths(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_paths(item) for item in value)
    return value
