"""Downloads of files written for one request (XLSX, GeoPackage): each lives in its own temporary folder, which
goes away once the response is closed — after its last byte is sent, or when the client leaves early."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from django.http import FileResponse


class _FolderRemovedOnClose(io.BufferedReader):
    """The file, opened for reading; closing it (FileResponse does, when the response is closed) removes its folder."""

    def __init__(self, path: Path):
        super().__init__(io.FileIO(path, "rb"))
        self._folder = path.parent

    def close(self) -> None:
        try:
            super().close()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


def temporary_folder(prefix: str = "spmis-export-") -> Path:
    """A new private folder for one download's file: hand the file to temporary_file_response, or remove_folder."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def temporary_file_response(path: Path, *, filename: str, content_type: str) -> FileResponse:
    """Stream `path` as an attachment and remove its folder (made by temporary_folder) after streaming."""
    return FileResponse(_FolderRemovedOnClose(path), as_attachment=True, filename=filename, content_type=content_type)
