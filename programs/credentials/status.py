"""W3C Bitstring Status List (v1.0) credentials built from the issuer's status lists: `encodedList` is the
multibase (u = base64url, no padding) of the GZIP of the bitstring, bit 0 the left-most bit of the first byte."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
from typing import Any

from django.conf import settings

from programs.credentials import keys
from programs.credentials.models import StatusList

# Verifiers may use a list this old without asking again (docs/credentials.md: a revocation reaches an offline
# verifier at its next refresh).
MAX_AGE_S = 300


def encode_list(bits: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(gzip.compress(bits, mtime=0)).rstrip(b"=").decode()


def decode_list(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url (prefix u)")
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def bit(bits: bytes, index: int) -> int:
    return (bits[index // 8] >> (7 - index % 8)) & 1


def status_list_credential(status_list: StatusList, url: str) -> dict[str, Any]:
    updated = status_list.updated_at
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": settings.SPMIS_CREDENTIAL_ISSUER.rstrip("/"),
        "validFrom": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "id": url + "#list",
            "type": "BitstringStatusList",
            "statusPurpose": status_list.purpose,
            "ttl": MAX_AGE_S * 1000,
            "encodedList": encode_list(bytes(status_list.bits)),
        },
    }


def etag(body: dict[str, Any]) -> str:
    return '"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32] + '"'


def signed_status_list(body: dict[str, Any]) -> str:
    """The credential as a compact JWS (vc+jwt) under the issuer's current Ed25519 key, for verifiers that check
    the list's signature against the cached JWKS."""
    from jwcrypto import jwk, jws

    key = keys.signing_key("EdDSA")
    now = int(time.time())
    payload = {**body, "iss": body["issuer"], "iat": now, "exp": now + MAX_AGE_S * 12}
    token = jws.JWS(json.dumps(payload, separators=(",", ":")).encode())
    token.add_signature(
        jwk.JWK(**keys.private_jwk(key)),
        alg="EdDSA",
        protected=json.dumps({"alg": "EdDSA", "kid": key.kid, "typ": "vc+jwt"}),
    )
    return token.serialize(compact=True)
