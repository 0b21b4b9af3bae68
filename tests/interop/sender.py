"""A DCI sender written for the tests on another stack than the server's: keys and Ed25519 signatures from joserfc,
the digest and signing string built here from the spec's description, not by importing interop.dci.envelope."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid

from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

ED25519 = JWSRegistry.algorithms["Ed25519"]


class Sender:
    def __init__(self, sender_id: str = "sp-system", kid: str = "k1"):
        self.sender_id = sender_id
        self.kid = kid
        self.key = OKPKey.generate_key("Ed25519")

    def jwks(self) -> dict:
        return {"keys": [{**self.key.as_dict(private=False), "kid": self.kid}]}

    def signature(self, header: dict, message, *, created: int | None = None, validity: int = 600, kid=None) -> str:
        created = int(time.time()) if created is None else created
        expires = created + validity

        def canonical(value) -> bytes:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

        digest = base64.b64encode(hashlib.blake2b(canonical(header) + canonical(message), digest_size=64).digest())
        text = f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={digest.decode()}"
        value = base64.b64encode(ED25519.sign(text.encode(), self.key)).decode()
        return (
            f'Signature: namespace="dci", kidId="{self.sender_id}|{kid or self.kid}|ed25519", algorithm="ed25519", '
            f'created="{created}", expires="{expires}", headers="(created) (expires) digest", signature="{value}"'
        )

    def header(self, action: str = "search", **extra) -> dict:
        return {
            "version": "1.0.0",
            "message_id": uuid.uuid4().hex,
            "message_ts": "2026-12-03T12:15:04.555Z",
            "action": action,
            "sender_id": self.sender_id,
            "receiver_id": "spmis",
            "total_count": 1,
            "is_msg_encrypted": False,
            **extra,
        }

    def envelope(self, message: dict, *, action: str = "search", header: dict | None = None, **kwargs) -> dict:
        header = header or self.header(action)
        return {"signature": self.signature(header, message, **kwargs), "header": header, "message": message}


def verify_ours(body: dict, jwks: dict) -> bool:
    """Checks an envelope the registry signed, with its published JWKS, on joserfc."""
    params = dict(part.strip().split("=", 1) for part in body["signature"].split(":", 1)[1].split(","))
    params = {k.strip(): v.strip().strip('"') for k, v in params.items()}
    sender_id, kid, _ = params["kidId"].split("|")
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    key = OKPKey.import_key(jwk)

    def canonical(value) -> bytes:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    digest = base64.b64encode(
        hashlib.blake2b(canonical(body["header"]) + canonical(body["message"]), digest_size=64).digest()
    )
    text = f"(created): {params['created']}\n(expires): {params['expires']}\ndigest: BLAKE-512={digest.decode()}"
    return sender_id == body["header"]["sender_id"] and ED25519.verify(
        text.encode(), base64.b64decode(params["signature"]), key
    )


def search_message(query, *, query_type="expression", entity=None, reference_id="r1", **criteria) -> dict:
    search_criteria = {"version": "1.0.0", "query_type": query_type, "query": query, **criteria}
    if entity:
        search_criteria["response_entity"] = entity
    return {
        "transaction_id": uuid.uuid4().hex[:20],
        "search_request": [
            {"reference_id": reference_id, "timestamp": "2026-12-03T12:15:04Z", "search_criteria": search_criteria}
        ],
    }


def expression(name, operator, value, *more) -> list:
    item = {"seq_num": 1, "expression1": {"attribute_name": name, "operator": operator, "attribute_value": value}}
    for index, (n, o, v) in enumerate(more, start=2):
        item[f"expression{index}"] = {"attribute_name": n, "operator": o, "attribute_value": v}
        item["condition"] = "and"
    return [item]
