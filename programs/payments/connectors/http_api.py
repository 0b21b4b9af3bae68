"""An FSP's HTTP file API, as mock-bank 0.9 speaks it (POST the file, a mailbox of status messages).

    POST {base}/payments                   the pain.001; 202 with the file status, 422 when refused outright
                                           (reason DUPL: a MsgId the bank already has)
    GET  {base}/_mock/messages?type=…      every message the bank has sent, collected or not (status lookups)
    GET  {base}/_mock/payments             every payment the bank holds, with its file's MsgId
    GET  {base}/_mock/mailbox?leave&type=… status messages not yet collected, left in place
    GET  {base}/_mock/mailbox?type=…       the same, collected
    POST {base}/_mock/mailbox/<id>/unread  put one back

Every request has a connect and a read timeout, and is never retried by the HTTP library: a POST that timed out
is not sent again behind the caller's back (urllib3 `retries=False`); the caller gets `SubmitUnknown` and asks
`status()`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import urllib3
from lxml import etree

from ..reports.iso import ISO_NS
from .base import (
    ConnectorConfig,
    ConnectorError,
    DuplicateSubmission,
    Report,
    StatusAnswer,
    SubmitReceipt,
    SubmitUnknown,
    check_msg_id,
    digest_of,
    now,
)

DUPLICATE_CODES = ("DUPL", "DU01")


class HttpApiConnector:
    transport = "api"

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.base = config.base_url.rstrip("/")
        self.headers: dict[str, str] = {}
        if config.username:
            self.headers.update(urllib3.make_headers(basic_auth=f"{config.username}:{config.secret()}"))
        options: dict[str, Any] = {}
        if self.base.startswith("https://"):
            options["cert_reqs"] = "CERT_REQUIRED" if config.verify_tls else "CERT_NONE"
            if config.ca_file:
                options["ca_certs"] = config.ca_file
        self.pool = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=config.connect_timeout_seconds, read=config.timeout_seconds),
            retries=False,
            **options,
        )

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs) -> urllib3.BaseHTTPResponse:
        headers = dict(self.headers, **kwargs.pop("headers", {}))
        return self.pool.request(method, self.base + path, headers=headers, **kwargs)

    def _json(self, method: str, path: str) -> Any:
        try:
            response = self._request(method, path)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise ConnectorError(f"{method} {path}: the FSP could not be reached ({error})") from error
        self._refuse_credentials(response)
        if response.status >= 400:
            raise ConnectorError(f"{method} {path}: the FSP answered HTTP {response.status}")
        try:
            return json.loads(response.data)
        except ValueError as error:
            raise ConnectorError(f"{method} {path}: the FSP's answer is not JSON") from error

    @staticmethod
    def _refuse_credentials(response) -> None:
        if response.status in (401, 403):
            raise ConnectorError(f"the FSP refused our credentials (HTTP {response.status}): check username/password")

    # -- the interface --------------------------------------------------------------------------------------------

    def submit(self, file_name: str, content: bytes | str | os.PathLike, msg_id: str) -> SubmitReceipt:
        check_msg_id(content, msg_id)
        digest = digest_of(content)
        headers = {"Content-Type": "application/xml", "X-File-Name": quote(file_name)}
        try:
            if isinstance(content, bytes | bytearray):
                response = self._request("POST", "/payments", body=bytes(content), headers=headers)
            else:
                with open(content, "rb") as body:
                    headers["Content-Length"] = str(os.fstat(body.fileno()).st_size)
                    response = self._request("POST", "/payments", body=body, headers=headers)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            # Whether the bank has the file is unknown from here: connection refused is the only case that
            # surely sent nothing, and even that is left to status() to say, so that there is one rule.
            raise SubmitUnknown(msg_id, type(error).__name__ + (f": {error}" if str(error) else "")) from error
        self._refuse_credentials(response)
        if response.status >= 500:
            raise SubmitUnknown(msg_id, f"HTTP {response.status}")
        try:
            answer = json.loads(response.data)
        except ValueError:
            answer = None
        if response.status not in (202, 422) or not isinstance(answer, dict):
            raise ConnectorError(f"file {msg_id}: the FSP answered HTTP {response.status}, which is not a file answer")
        receipt = {
            "msg_id": msg_id,
            "file_name": file_name,
            "transport": self.transport,
            "submitted_at": now(),
            "sha256": digest,
            "status": answer.get("status"),
            "reason_code": answer.get("reason"),
            "reason_text": answer.get("reason_text"),
            "reference": answer.get("msg_id"),
            "detail": answer,
        }
        if response.status == 422:
            if answer.get("reason") in DUPLICATE_CODES:
                raise DuplicateSubmission(msg_id, answer.get("reason"), answer.get("reason_text"), answer)
            return SubmitReceipt(accepted=False, **receipt)  # rejected outright: its pain.002 says the same
        return SubmitReceipt(accepted=True, **receipt)

    def status(self, msg_id: str) -> StatusAnswer | None:
        """The bank's status report for the file (its first pain.002 that is not a duplicate refusal), else the
        payments it holds under that MsgId (a file it took and has not answered), else None."""
        for message in self._json("GET", "/_mock/messages?type=pain.002"):
            group = _group_status(message.get("body") or "")
            if not group or group.get("OrgnlMsgId") != msg_id or not group.get("GrpSts"):
                continue
            if group.get("Cd") in DUPLICATE_CODES:
                continue
            return StatusAnswer(
                msg_id=msg_id,
                status=group["GrpSts"],
                reason_code=group.get("Cd"),
                reason_text=group.get("AddtlInf"),
                payments=int(group["OrgnlNbOfTxs"]) if group.get("OrgnlNbOfTxs") else None,
                detail={"message_id": message.get("id")},
            )
        held = [p for p in self._json("GET", "/_mock/payments") if p.get("msg_id") == msg_id]
        if held:
            return StatusAnswer(msg_id=msg_id, status="RCVD", payments=len(held), detail={"payments": len(held)})
        return None

    def fetch_reports(self) -> Iterable[Report]:
        found = []
        for kind in self.config.report_types:
            if kind == "csv":
                continue
            for message in self._json("GET", f"/_mock/mailbox?leave&type={quote(kind)}"):
                found.append(
                    Report(
                        id=str(message["id"]),
                        name=f"{message['type']}-{message.get('account') or 'bank'}-{message['id']}.xml",
                        kind=kind,
                        content=(message.get("body") or "").encode("utf-8"),
                    )
                )
        return sorted(found, key=lambda report: int(report.id))

    def acknowledge(self, report_ids: Iterable[str]) -> None:
        """Collect the imported messages. The mailbox is collected a type at a time, so anything that arrived since
        fetch_reports() is collected too; it is put straight back (unread), to be fetched next time."""
        wanted = {str(report_id) for report_id in report_ids}
        if not wanted:
            return
        for kind in self.config.report_types:
            if kind == "csv":
                continue
            for message in self._json("GET", f"/_mock/mailbox?type={quote(kind)}"):
                if str(message["id"]) not in wanted:
                    self._json("POST", f"/_mock/mailbox/{message['id']}/unread")


def _group_status(body: str) -> dict[str, str] | None:
    """OrgnlGrpInfAndSts of a pain.002 body as {local name: first text} (GrpSts, OrgnlMsgId, Cd, AddtlInf, ...)."""
    try:
        root = etree.fromstring(body.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    if not (etree.QName(root).namespace or "").startswith(ISO_NS):
        return None
    for element in root.iter("{*}OrgnlGrpInfAndSts"):
        values: dict[str, str] = {}
        for child in element.iter():
            name = etree.QName(child).localname
            if child.text and child.text.strip() and name not in values:
                values[name] = child.text.strip()
        return values
    return None
