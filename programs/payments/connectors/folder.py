"""A drop folder: the file is written into the FSP's outbox folder, status files are read from its inbox folder.

This is what an SFTP or HTTPS drop looks like once mounted locally (sshfs, rclone mount, a synced share): the
transport itself is the mount's business. Files are written under a temporary dot-name in the same folder and then
linked into place, so the FSP never collects half a file and a second submission under the same name never
replaces the first.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from lxml import etree

from ..reports.iso import ISO_NS, sniff
from .base import (
    ConnectorConfig,
    ConnectorError,
    DuplicateSubmission,
    Report,
    StatusAnswer,
    SubmitReceipt,
    check_file_name,
    check_msg_id,
    digest_of,
    file_head,
    now,
)

IGNORED_SUFFIXES = (".tmp", ".part", ".filepart", ".findings.txt")
KIND_BY_PREFIX = re.compile(r"^(pain\.002|camt\.054|camt\.053|camt\.052|pacs\.004)")


def _kind(path: Path) -> str:
    """The report type from the file name (mock-bank and most banks name files by message), else its namespace."""
    found = KIND_BY_PREFIX.match(path.name)
    if found:
        return found.group(1)
    if path.suffix.lower() == ".csv":
        return "csv"
    message = sniff(path) or ""
    return ".".join(message.split(".")[:2]) if message else "unknown"


def _copy_into(content: bytes | str | os.PathLike, target: Path) -> None:
    with open(target, "xb") as out:
        if isinstance(content, bytes | bytearray):
            out.write(content)
        else:
            with open(content, "rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some network mounts cannot fsync a directory; the rename is still atomic
    finally:
        os.close(handle)


class FolderDropConnector:
    transport = "folder"

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.outbox = Path(config.outbox_dir)
        self.inbox = Path(config.inbox_dir)
        self.archive = Path(config.archive_dir) if config.archive_dir else self.inbox / "imported"
        for name, folder in (("outbox_dir", self.outbox), ("inbox_dir", self.inbox)):
            if not folder.is_dir():
                raise ConnectorError(f"{name} {folder} is not a folder (is the drop mounted?)")

    def submit(self, file_name: str, content: bytes | str | os.PathLike, msg_id: str) -> SubmitReceipt:
        check_file_name(file_name)
        check_msg_id(content, msg_id)
        digest = digest_of(content)
        target = self.outbox / file_name
        temporary = self.outbox / f".{file_name}.{os.getpid()}.tmp"
        try:
            _copy_into(content, temporary)
            try:
                os.link(temporary, target)  # atomic, and refuses to replace a file already there
            except FileExistsError:
                self._already_there(target, digest, msg_id)
            except OSError as error:
                if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                # A mount without hard links: check, then rename (the window between the two is the mount's).
                if target.exists():
                    self._already_there(target, digest, msg_id)
                else:
                    os.replace(temporary, target)
        except OSError as error:
            raise ConnectorError(f"could not write {target}: {error.strerror or error}") from error
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_dir(self.outbox)
        return SubmitReceipt(
            msg_id=msg_id,
            file_name=file_name,
            transport=self.transport,
            submitted_at=now(),
            sha256=digest,
            reference=str(target),
        )

    def _already_there(self, target: Path, digest: str, msg_id: str) -> None:
        """The same bytes already in the outbox: this submission already happened (idempotent). Other bytes under
        the same name: refused, the first file stands."""
        if digest_of(target) != digest:
            raise DuplicateSubmission(
                msg_id, "DUPL", f"a different file named {target.name} is already in the outbox", str(target)
            )

    def status(self, msg_id: str) -> StatusAnswer | None:
        """The file still waiting in the outbox, or the FSP's pain.002 about it in the inbox (or the archive)."""
        pattern = re.compile(rb"<(?:[\w.-]+:)?MsgId>\s*" + re.escape(msg_id.encode()) + rb"\s*</")
        for path in self._files(self.outbox):
            if pattern.search(file_head(path, 1 << 14)):
                return StatusAnswer(msg_id=msg_id, status="waiting", detail={"path": str(path)})
        for folder in (self.inbox, self.archive):
            for path in self._files(folder):
                if _kind(path) != "pain.002":
                    continue
                group = _pain002_group(path)
                if group and group.get("OrgnlMsgId") == msg_id and group.get("GrpSts"):
                    if group.get("Cd") in ("DUPL", "DU01"):
                        continue  # the refusal of a resend, not the FSP's answer to the file
                    return StatusAnswer(
                        msg_id=msg_id,
                        status=group["GrpSts"],
                        reason_code=group.get("Cd"),
                        reason_text=group.get("AddtlInf"),
                        payments=int(group["OrgnlNbOfTxs"]) if group.get("OrgnlNbOfTxs") else None,
                        detail={"path": str(path)},
                    )
        return None

    def fetch_reports(self) -> Iterable[Report]:
        found = []
        for path in self._files(self.inbox):
            kind = _kind(path)
            if kind in self.config.report_types:
                found.append(Report(id=path.name, name=path.name, kind=kind, path=path))
        return found

    def acknowledge(self, report_ids: Iterable[str]) -> None:
        self.archive.mkdir(parents=True, exist_ok=True)
        for report_id in report_ids:
            check_file_name(report_id)
            source = self.inbox / report_id
            if not source.is_file():
                continue
            target = self.archive / report_id
            if target.exists() and digest_of(target) != digest_of(source):
                target = self.archive / f"{report_id}.{digest_of(source)[:12]}"
            os.replace(source, target)

    @staticmethod
    def _files(folder: Path) -> list[Path]:
        if not folder.is_dir():
            return []
        paths = [
            path
            for path in folder.iterdir()
            if path.is_file() and not path.name.startswith(".") and not path.name.endswith(IGNORED_SUFFIXES)
        ]
        return sorted(paths, key=lambda path: (path.stat().st_mtime_ns, path.name))


def _pain002_group(path: Path) -> dict[str, str] | None:
    """OrgnlGrpInfAndSts of a pain.002 as {local name: text}, reading no further than that element."""
    try:
        with open(path, "rb") as handle:
            for _event, element in etree.iterparse(
                handle, events=("end",), resolve_entities=False, no_network=True, load_dtd=False
            ):
                if etree.QName(element).localname == "OrgnlGrpInfAndSts":
                    if not (etree.QName(element).namespace or "").startswith(ISO_NS):
                        return None
                    values = {}
                    for child in element.iter():
                        name = etree.QName(child).localname
                        if child.text and child.text.strip() and name not in values:
                            values[name] = child.text.strip()
                    return values
    except (etree.XMLSyntaxError, OSError):
        return None
    return None
