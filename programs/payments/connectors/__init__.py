"""Connectors: how spmis hands a payment file to an FSP and collects its status files, behind one interface.

    connector = connector_for(ConnectorConfig.from_dict(fsp.connector_config) | {"transport": fsp.transport})
    receipt = connector.submit(file_name, content_or_path, msg_id)   # SubmitUnknown -> connector.status(msg_id)
    for report in connector.fetch_reports(): ...import report.source (programs.payments.reports)...
    connector.acknowledge([report.id, ...])

No models and no database here: the caller records receipts, answers and imported reports (base.py explains the
one rule: never resend on a timeout, ask the status).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import (
    REPORT_TYPES,
    TRANSPORTS,
    Connector,
    ConnectorConfig,
    ConnectorConfigError,
    ConnectorError,
    DuplicateSubmission,
    Report,
    StatusAnswer,
    SubmitReceipt,
    SubmitUnknown,
)
from .download import DownloadConnector
from .folder import FolderDropConnector
from .http_api import HttpApiConnector

__all__ = [
    "REPORT_TYPES",
    "TRANSPORTS",
    "Connector",
    "ConnectorConfig",
    "ConnectorConfigError",
    "ConnectorError",
    "DownloadConnector",
    "DuplicateSubmission",
    "FolderDropConnector",
    "HttpApiConnector",
    "Report",
    "StatusAnswer",
    "SubmitReceipt",
    "SubmitUnknown",
    "connector_for",
]


def connector_for(config: ConnectorConfig | Mapping[str, Any]) -> Connector:
    """The connector for an FSP's transport: download, sftp/https (a mounted drop folder), api."""
    if not isinstance(config, ConnectorConfig):
        config = ConnectorConfig.from_dict(config)
    config.check()
    if config.transport == "download":
        return DownloadConnector(config)
    if config.transport in ("sftp", "https"):
        return FolderDropConnector(config)
    return HttpApiConnector(config)
