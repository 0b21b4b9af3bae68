"""A CRVS stand-in on loopback, built from the SPDCI CRVS API's sample messages: it accepts a signed subscribe
(checking our signature with our JWKS), acknowledges it, answers on-subscribe to the sender_uri with a
subscription code, and sends signed notify messages whose person records are the spec's sample record."""

from __future__ import annotations

import base64
import copy
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import urllib3
from cryptography.hazmat.primitives.asymmetric import ed25519

from interop.crvs import signing

SAMPLES = Path("/work/shared/data/dci/spdci/samples/crvs")
if not SAMPLES.exists():  # the reference data beside the checkout (../shared/data), as its README says
    SAMPLES = Path(__file__).resolve().parents[3] / "shared/data/dci/spdci/samples/crvs"


def sample_record() -> dict:
    """The person record of the spec's process flow 3 (ceasing an allowance upon death notification)."""
    data = json.loads((SAMPLES / "processflow3res.json").read_text())
    return copy.deepcopy(data["message"]["search_response"][0]["data"]["reg_records"][0])


def sample_header(action: str) -> dict:
    """The spec's sample callback header, with our action."""
    data = json.loads((SAMPLES / "processflow3res.json").read_text())
    header = copy.deepcopy(data["header"])
    header.update(action=action, message_id=str(uuid.uuid4()), total_count=1, status="succ")
    return header


class CrvsStandIn:
    def __init__(self, *, sender_id: str = "crvs", our_jwks: dict | None = None):
        self.sender_id = sender_id
        self.kid = "crvs-key-1"
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.our_jwks = our_jwks or {}
        self.subscribes: list[dict] = []
        self.codes: dict[str, str] = {}
        self.refuse_subscribe = False
        self._threads: list[threading.Thread] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = standin._handle(self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def jwks(self) -> dict:
        x = base64.urlsafe_b64encode(self.key.public_key().public_bytes_raw()).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def close(self) -> None:
        for thread in self._threads:
            thread.join(timeout=10)
        self.server.shutdown()
        self.server.server_close()

    # -- what a CRVS does ------------------------------------------------------------------------------------------

    def _handle(self, path: str, body: bytes) -> tuple[int, dict]:
        if path != "/registry/subscribe":
            return 404, {"errors": [{"code": "err.request.not_found", "message": path}]}
        envelope = json.loads(body)
        try:
            parsed = signing.parse(envelope["signature"])
            key = signing.public_key(self.our_jwks, parsed.kid, parsed.sender_id)
            signing.verify(parsed, envelope["header"], envelope["message"], key)
        except signing.CrvsError as error:
            return 401, {"message": {"ack_status": "ERR", "error": {"code": error.code, "message": error.message}}}
        self.subscribes.append(envelope)
        if self.refuse_subscribe:
            error = {"code": "err.request.forbidden", "message": "Subscriptions are closed today."}
            return 403, {"message": {"ack_status": "ERR", "timestamp": "", "error": error}}
        thread = threading.Thread(target=self._on_subscribe, args=(envelope,), daemon=True)
        self._threads.append(thread)
        thread.start()
        message = envelope["message"]
        return 200, {"message": {"ack_status": "ACK", "timestamp": "", "correlation_id": message["transaction_id"]}}

    def _on_subscribe(self, envelope: dict) -> None:
        message = envelope["message"]
        answers = []
        for request in message["subscribe_request"]:
            code = f"SUB-{uuid.uuid4().hex[:8]}"
            self.codes[request["subscribe_criteria"]["reg_event_type"]] = code
            criteria = request["subscribe_criteria"]
            answers.append(
                {
                    "reference_id": request["reference_id"],
                    "timestamp": request["timestamp"],
                    "status": "succ",
                    "subscriptions": [
                        {"code": code, "status": "subscribe", "reg_event_type": criteria["reg_event_type"]}
                    ],
                }
            )
        reply = {
            "transaction_id": message["transaction_id"],
            "correlation_id": str(uuid.uuid4()),
            "subscribe_response": answers,
        }
        self.post(envelope["header"]["sender_uri"], self.envelope("on-subscribe", reply))

    def envelope(self, action: str, message: dict, *, sign_with=None, header: dict | None = None) -> dict:
        if header is None:
            header = sample_header(action)
            header.update(sender_id=self.sender_id, receiver_id="spmis")
        signature = signing.sign(
            header, message, sender_id=self.sender_id, kid=self.kid, private_key=sign_with or self.key
        )
        return {"signature": signature, "header": header, "message": message}

    def notify_message(self, events: list[tuple[str, dict]], *, subscription_code: str | None = None) -> dict:
        """A notify message of (event id, person record) pairs."""
        return {
            "transaction_id": str(uuid.uuid4()),
            "notify_event": [
                {
                    "reference_id": event_id,
                    "timestamp": "2026-11-03T08:00:00Z",
                    **({"subscription_code": subscription_code} if subscription_code else {}),
                    "data": {
                        "version": "1.0.0",
                        "reg_type": "ns:org:RegistryType:Civil",
                        "reg_record_type": "spdci-extensions-dci:Person",
                        "reg_records": [record],
                    },
                }
                for event_id, record in events
            ],
        }

    def post(self, url: str, envelope: dict) -> tuple[int, dict]:
        response = urllib3.PoolManager(retries=False, timeout=20).request(
            "POST", url, body=json.dumps(envelope).encode(), headers={"Content-Type": "application/json"}
        )
        return response.status, json.loads(response.data or b"null")
