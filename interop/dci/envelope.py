"""The DCI message envelope: {signature, header, message}, and its signature.

The SPDCI specification (MsgSignature) describes the signature as "Signature of {header}+{message} body verified
using sender's signing public key", in the HTTP-signature form it inherited from Beckn:

    Signature: namespace="dci", kidId="{sender_id}|{unique_key_id}|{algorithm}", algorithm="ed25519",
    created="1606970629", expires="1607030629", headers="(created) (expires) digest", signature="Base64(...)"

The specification does not spell out the signed bytes; we follow the form it cites, exactly:

- digest = BLAKE2b-512 over canonical(header) + canonical(message), base64 (standard alphabet, padded), where
  canonical is JSON with keys sorted, no whitespace (separators "," and ":") and UTF-8 characters unescaped;
- the signing string is three lines joined by "\\n" (no trailing newline):

      (created): {created}
      (expires): {expires}
      digest: BLAKE-512={digest}

- signature = base64(Ed25519(signing string as UTF-8)).

The header and message are canonicalised rather than hashed as received, because they travel inside one JSON body
whose own bytes are not theirs alone; any JSON library can reproduce the canonical form (docs/interoperability.md
gives a worked example).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

# Seconds a signature may be dated ahead of our clock, and the longest validity we accept.
CLOCK_SKEW_S = 300
MAX_VALIDITY_S = 24 * 3600
NAMESPACES = ("dci", "spdci")
SIGNED_HEADERS = "(created) (expires) digest"
_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*"([^"]*)"?\s*(?:,|$)')


class DCIError(Exception):
    """A request refused: the spec's error code, words for the integrator and the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, reason: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.reason = reason  # the header's status_reason_code (MsgHeaderStatusReasonCode), when one fits


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(header: Any, message: Any) -> str:
    return base64.b64encode(hashlib.blake2b(canonical(header) + canonical(message), digest_size=64).digest()).decode()


def signing_string(created: int | str, expires: int | str, digest_b64: str) -> str:
    return f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={digest_b64}"


def sign(
    header: dict,
    message: Any,
    *,
    sender_id: str,
    kid: str,
    private_key: ed25519.Ed25519PrivateKey,
    created: int | None = None,
    validity_s: int = 3600,
) -> str:
    """The signature field for an envelope we send."""
    created = int(time.time()) if created is None else created
    expires = created + validity_s
    text = signing_string(created, expires, digest(header, message))
    value = base64.b64encode(private_key.sign(text.encode("utf-8"))).decode()
    return (
        f'Signature: namespace="dci", kidId="{sender_id}|{kid}|ed25519", algorithm="ed25519", '
        f'created="{created}", expires="{expires}", headers="{SIGNED_HEADERS}", signature="{value}"'
    )


@dataclass(frozen=True)
class SignatureParams:
    sender_id: str
    kid: str
    created: int
    expires: int
    signature: bytes


def parse_signature(text: Any) -> SignatureParams:
    """The parameters of a signature field; refuses anything that is not the spec's form."""
    if not isinstance(text, str) or not text.strip():
        raise DCIError("err.signature.missing", "The request carries no signature.", 401)
    body = text.strip()
    if body.lower().startswith("signature"):
        body = body[len("signature") :].lstrip(" :")
    params: dict[str, str] = {}
    position = 0
    while position < len(body):
        match = _PARAM.match(body, position)
        if not match or match.end() == position:
            raise DCIError("err.signature.invalid", 'The signature is not a list of name="value" parameters.', 401)
        params[match.group(1)] = match.group(2)
        position = match.end()
    missing = [
        name for name in ("kidId", "algorithm", "created", "expires", "headers", "signature") if name not in params
    ]
    if missing:
        raise DCIError("err.signature.invalid", f"The signature lacks {', '.join(missing)}.", 401)
    if params.get("namespace", "dci") not in NAMESPACES:
        raise DCIError(
            "err.signature.invalid", f"The signature's namespace must be one of {', '.join(NAMESPACES)}.", 401
        )
    if params["algorithm"].lower() != "ed25519":
        raise DCIError("err.signature.invalid", 'Only algorithm="ed25519" signatures are accepted.', 401)
    if " ".join(params["headers"].split()) != SIGNED_HEADERS:
        raise DCIError("err.signature.invalid", f'The signature must cover headers="{SIGNED_HEADERS}".', 401)
    parts = params["kidId"].split("|")
    if len(parts) != 3 or not parts[0] or not parts[1] or parts[2].lower() != "ed25519":
        raise DCIError("err.signature.invalid", 'kidId must read "{sender_id}|{key id}|ed25519".', 401)
    try:
        created, expires = int(params["created"]), int(params["expires"])
    except ValueError:
        raise DCIError("err.signature.invalid", "created and expires must be Unix times in seconds.", 401) from None
    try:
        value = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise DCIError("err.signature.invalid", "The signature value is not base64.", 401) from None
    if len(value) != 64:
        raise DCIError("err.signature.invalid", "The signature value is not an Ed25519 signature (64 bytes).", 401)
    return SignatureParams(parts[0], parts[1], created, expires, value)


def public_key_for(jwks: dict, kid: str, sender_id: str) -> ed25519.Ed25519PublicKey:
    for jwk in (jwks or {}).get("keys", []):
        if jwk.get("kid") == kid:
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
                raise DCIError("err.signature.invalid", f"Key {kid} of sender {sender_id} is not an Ed25519 key.", 401)
            raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    raise DCIError(
        "err.signature.invalid", f"Key id {kid} is not among the keys registered for sender {sender_id}.", 401
    )


def verify(
    params: SignatureParams,
    header: dict,
    message: Any,
    public_key: ed25519.Ed25519PublicKey,
    *,
    now: float | None = None,
) -> None:
    """Checks the signature over header+message and its validity window."""
    now = time.time() if now is None else now
    text = signing_string(params.created, params.expires, digest(header, message))
    try:
        public_key.verify(params.signature, text.encode("utf-8"))
    except InvalidSignature:
        raise DCIError(
            "err.signature.invalid", "The signature does not match the header and message with the sender's key.", 401
        ) from None
    if params.created > now + CLOCK_SKEW_S:
        raise DCIError("err.signature.invalid", "The signature's created time lies in the future.", 401)
    if params.expires < now - CLOCK_SKEW_S:
        raise DCIError("err.signature.invalid", "The signature has expired; sign the request again.", 401)
    if params.expires <= params.created or params.expires - params.created > MAX_VALIDITY_S:
        raise DCIError("err.signature.invalid", "The signature's validity must be positive and at most 24 hours.", 401)
