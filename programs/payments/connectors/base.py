"""The one interface every way of reaching an FSP implements, its records, its errors and its configuration.

The rule that shapes it: a payment file is sent once. When the answer to a submission is lost (a timeout, a dropped
connection), the caller does not know whether the FSP has the file, so `submit` raises `SubmitUnknown` and the caller
asks `status(msg_id)`; only when the FSP says it has nothing under that MsgId may the same file (same MsgId) be sent
again, and a bank that has it refuses the resend as a duplicate (`DuplicateSubmission`), so nothing is paid twice.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

TRANSPORTS = ("download", "sftp", "https", "api")
REPORT_TYPES = ("pain.002", "camt.054", "pacs.004", "csv")


class ConnectorError(Exception):
    """The FSP could not be reached or refused the request in a way that is not about the file's payments."""


class SubmitUnknown(ConnectorError):
    """The file may or may not have reached the FSP (timeout or connection lost after sending began).
    Never resend on this: ask `status(msg_id)`."""

    def __init__(self, msg_id: str, cause: str) -> None:
        self.msg_id = msg_id
        self.cause = cause
        super().__init__(f"file {msg_id}: no answer from the FSP ({cause}); ask for its status before anything else")


class DuplicateSubmission(ConnectorError):
    """The FSP already has a file with this MsgId and refused this one. The earlier file stands: nothing in this
    refusal says anything about its payments."""

    def __init__(self, msg_id: str, reason_code: str | None, reason_text: str | None, detail: Any = None) -> None:
        self.msg_id = msg_id
        self.reason_code = reason_code
        self.reason_text = reason_text
        self.detail = detail
        super().__init__(f"file {msg_id} refused as a duplicate: {reason_code or ''} {reason_text or ''}".strip())


class ConnectorConfigError(ValueError):
    """A configuration value that cannot work, naming the field (maps to a ValidationError on the FSP row)."""

    def __init__(self, field_name: str, problem: str) -> None:
        self.field = field_name
        self.problem = problem
        super().__init__(f"{field_name}: {problem}")


@dataclass(frozen=True)
class SubmitReceipt:
    """What happened to a submitted file as far as the transport knows.

    accepted: True when the FSP took the file, False when it rejected it outright (the reason is here and in the
      pain.002 that follows), None when the transport cannot know (download, folder drop: the answer comes later).
    status: the FSP's immediate file status (ISO group status: ACCP, PART, RJCT) when it gives one.
    reference: where the file went (the path written, the FSP's id); detail: the FSP's answer, JSON-able.
    """

    msg_id: str
    file_name: str
    transport: str
    submitted_at: datetime.datetime
    sha256: str
    accepted: bool | None = None
    status: str | None = None
    reason_code: str | None = None
    reason_text: str | None = None
    reference: str | None = None
    detail: Any = None


@dataclass(frozen=True)
class StatusAnswer:
    """What the FSP holds for a MsgId (it has the file: do NOT resend it).

    status: the file's status at the FSP: an ISO group status (ACCP, PART, RJCT) when it has answered the file,
      `RCVD` when it has the file and no answer yet, `waiting` when the file is still in the drop folder uncollected.
    """

    msg_id: str
    status: str
    reason_code: str | None = None
    reason_text: str | None = None
    payments: int | None = None
    detail: Any = None


@dataclass(frozen=True)
class Report:
    """A status file the FSP has for us. `id` is the transport's stable name for it (the mailbox message id, the
    inbox file name): acknowledge it by that id once imported. Import idempotently on `sha256` (and on the report's
    own MsgId once parsed): a report can be offered again after a crash between import and acknowledgement."""

    id: str
    name: str
    kind: str  # pain.002, camt.054, pacs.004, csv (or the FSP's own name for anything else)
    content: bytes | None = None
    path: Path | None = None

    @property
    def source(self) -> bytes | Path:
        """What programs.payments.reports.read_status_file takes."""
        return self.content if self.content is not None else self.path

    @property
    def sha256(self) -> str:
        if self.content is not None:
            return hashlib.sha256(self.content).hexdigest()
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


@runtime_checkable
class Connector(Protocol):
    """How spmis reaches one FSP."""

    transport: str

    def submit(self, file_name: str, content: bytes | str | os.PathLike, msg_id: str) -> SubmitReceipt:
        """Hand the file over. Raises SubmitUnknown (ask status()), DuplicateSubmission, ConnectorError."""
        ...

    def status(self, msg_id: str) -> StatusAnswer | None:
        """What the FSP holds under this MsgId; None when it has nothing (then, and only then, send it again)."""
        ...

    def fetch_reports(self) -> Iterable[Report]:
        """The status files waiting for us, oldest first. Reading them takes nothing: see acknowledge()."""
        ...

    def acknowledge(self, report_ids: Iterable[str]) -> None:
        """The reports imported (by Report.id): the FSP may forget them. Unknown ids are ignored."""
        ...


@dataclass(frozen=True)
class ConnectorConfig:
    """Everything a connector needs, from the FinancialServiceProvider row (`connector_config` JSON) and the
    environment (secrets never live in the database: `password_env` names the variable that holds it).

    transport: download | sftp | https (a drop folder mounted locally: outbox_dir, inbox_dir) | api (base_url).
    """

    transport: str = "download"
    base_url: str = ""
    outbox_dir: str = ""
    inbox_dir: str = ""
    archive_dir: str = ""  # where imported reports go; default <inbox_dir>/imported
    timeout_seconds: float = 30.0  # read timeout of one request
    connect_timeout_seconds: float = 5.0
    username: str = ""
    password_env: str = ""  # the environment variable holding the password
    password: str = field(default="", repr=False)  # tests only; production uses password_env
    verify_tls: bool = True
    ca_file: str = ""
    report_types: tuple[str, ...] = ("pain.002", "camt.054", "pacs.004")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ConnectorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConnectorConfigError(unknown[0], f"unknown setting; the settings are {', '.join(sorted(known))}")
        data = dict(values)
        if "report_types" in data:
            data["report_types"] = tuple(data["report_types"])
        config = cls(**data)
        config.check()
        return config

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, without the password (it never goes to the database)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "password"}
        out["report_types"] = list(self.report_types)
        return out

    def check(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ConnectorConfigError("transport", f"{self.transport!r} is not one of {', '.join(TRANSPORTS)}")
        for name in ("timeout_seconds", "connect_timeout_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 600:
                raise ConnectorConfigError(name, "must be a number of seconds above 0 and at most 600")
        for kind in self.report_types:
            if kind not in REPORT_TYPES:
                raise ConnectorConfigError("report_types", f"{kind!r} is not one of {', '.join(REPORT_TYPES)}")
        if self.transport == "api" and not self.base_url.startswith(("http://", "https://")):
            raise ConnectorConfigError("base_url", "an api connector needs the FSP's http:// or https:// address")
        if self.transport in ("sftp", "https"):
            for name in ("outbox_dir", "inbox_dir"):
                if not getattr(self, name):
                    raise ConnectorConfigError(name, "a drop-folder connector needs both folders")
                if not os.path.isabs(getattr(self, name)):
                    raise ConnectorConfigError(name, "must be an absolute path")

    def secret(self) -> str:
        """The password, read when a connector is built (in the worker that uses it, not where the row is saved)."""
        if not self.password_env:
            return self.password
        if self.password_env not in os.environ:
            raise ConnectorConfigError("password_env", f"the environment has no variable {self.password_env}")
        return os.environ[self.password_env]


_MSG_ID = re.compile(rb"<(?:[\w.-]+:)?MsgId>\s*([^<]*?)\s*</")


def file_head(content: bytes | str | os.PathLike, size: int = 1 << 16) -> bytes:
    if isinstance(content, bytes | bytearray):
        return bytes(content[:size])
    with open(content, "rb") as handle:
        return handle.read(size)


def check_msg_id(content: bytes | str | os.PathLike, msg_id: str) -> None:
    """Refuse, before sending, a file whose own MsgId (the first one: GrpHdr) is not the one the caller records."""
    found = _MSG_ID.search(file_head(content))
    written = found.group(1).decode("utf-8", "replace") if found else None
    if written != msg_id:
        raise ConnectorError(f"the file's MsgId is {written!r}, not {msg_id!r}: nothing was sent")


def check_file_name(file_name: str) -> None:
    if not file_name or "/" in file_name or "\\" in file_name or file_name.startswith(".") or "\0" in file_name:
        raise ConnectorError(f"{file_name!r} is not a plain file name")


def digest_of(content: bytes | str | os.PathLike) -> str:
    if isinstance(content, bytes | bytearray):
        return hashlib.sha256(content).hexdigest()
    digest = hashlib.sha256()
    with open(content, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
