"""No transport: the file is offered for download and a person uploads it to the FSP's portal."""

from __future__ import annotations

import os
from collections.abc import Iterable

from .base import ConnectorConfig, Report, StatusAnswer, SubmitReceipt, check_msg_id, digest_of, now


class DownloadConnector:
    """`submit` records that the file is ready and sends nothing. Status files come back by upload (the pages), so
    there is nothing to fetch, and no status to ask: spmis never sent anything, so there is no timeout to resolve."""

    transport = "download"

    def __init__(self, config: ConnectorConfig | None = None) -> None:
        self.config = config or ConnectorConfig()

    def submit(self, file_name: str, content: bytes | str | os.PathLike, msg_id: str) -> SubmitReceipt:
        check_msg_id(content, msg_id)
        return SubmitReceipt(
            msg_id=msg_id, file_name=file_name, transport=self.transport, submitted_at=now(), sha256=digest_of(content)
        )

    def status(self, msg_id: str) -> StatusAnswer | None:
        return None

    def fetch_reports(self) -> Iterable[Report]:
        return []

    def acknowledge(self, report_ids: Iterable[str]) -> None:
        return None
