"""The DCI envelope signature, for what we send to a CRVS and what it sends us.

The SPDCI CRVS API (MsgSignature) signs "{header}+{message}" in the HTTP-signature form it took from Beckn:

    Signature: namespace="dci", kidId="{sender_id}|{unique_key_id}|{algorithm}", algorithm="ed25519",
    created="1606970629", expires="1607030629", headers="(created) (expires) digest", signature="Base64(...)"

The signed bytes are not spelt out; we read them as the DCI server does (interop.dci.envelope, which this mirrors
until the two are one module):

- digest = base64(BLAKE2b-512(canonical(header) + canonical(message))), canonical being JSON with sorted keys, no
  whitespace and UTF-8 characters unescaped;
- signing string = "(created): {created}\\n(expires): {expires}\\ndigest: BLAKE-512={digest}";
- signature = base64(Ed25519(signing string)).
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

CLOCK_SKEW_S = 300
MAX_VALIDITY_S = 24 * 3600
SIGNED_HEADERS = "(created) (expires) digest"
_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


class CrvsError(Exception):
    """A message refused: the spec's error code, words for the integrator and the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(header: Any, message: Any) -> str:
    return base64.b64encode(hashlib.blake2b(canonical(header) + canonical(message), digest_size=64).digest()).decode()


def signing_string(created: int, expires: int, digest_b64: str) -> str:
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
    """The signature field of an envelope we send."""
    created = int(time.time()) if created is None else created
    expires = created + validity_s
    value = base64.b64encode(private_key.sign(signing_string(created, expires, digest(header, message)).encode()))
    return (
        f'Signature: namespace="dci", kidId="{sender_id}|{kid}|ed25519", algorithm="ed25519", '
        f'created="{created}", expires="{expires}", headers="{SIGNED_HEADERS}", signature="{value.decode()}"'
    )


@dataclass(frozen=True)
class Signature:
    sender_id: str
    kid: str
    created: int
    expires: int
    value: bytes


def _unauthorized(message: str) -> CrvsError:
    return CrvsError("err.signature.invalid", message, 401)


def parse(text: Any) -> Signature:
    """The parameters of a signature field; anything but the spec's form is refused."""
    if not isinstance(text, str) or not text.strip():
        raise CrvsError("err.signature.missing", "The message carries no signature.", 401)
    body = text.strip()
    if body.lower().startswith("signature"):
        body = body[len("signature") :].lstrip(" :")
    params: dict[str, str] = {}
    position = 0
    while position < len(body):
        match = _PARAM.match(body, position)
        if not match or match.end() == position:
            raise _unauthorized('The signature is not a list of name="value" parameters.')
        params[match.group(1)] = match.group(2)
        position = match.end()
    missing = [n for n in ("kidId", "algorithm", "created", "expires", "headers", "signature") if n not in params]
    if missing:
        raise _unauthorized(f"The signature lacks {', '.join(missing)}.")
    if params["algorithm"].lower() != "ed25519":
        raise _unauthorized('Only algorithm="ed25519" signatures are accepted.')
    if " ".join(params["headers"].split()) != SIGNED_HEADERS:
        raise _unauthorized(f'The signature must cover headers="{SIGNED_HEADERS}".')
    parts = params["kidId"].split("|")
    if len(parts) != 3 or not parts[0] or not parts[1] or parts[2].lower() != "ed25519":
        raise _unauthorized('kidId must read "{sender_id}|{key id}|ed25519".')
    try:
        created, expires = int(params["created"]), int(params["expires"])
    except ValueError:
        raise _unauthorized("created and expires must be Unix times in seconds.") from None
    try:
        value = base64.b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise _unauthorized("The signature value is not base64.") from None
    if len(value) != 64:
        raise _unauthorized("The signature value is not an Ed25519 signature (64 bytes).")
    return Signature(parts[0], parts[1], created, expires, value)


def public_key(jwks: dict, kid: str, sender_id: str) -> ed25519.Ed25519PublicKey:
    for jwk in (jwks or {}).get("keys", []):
        if jwk.get("kid") == kid:
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
                raise _unauthorized(f"Key {kid} of {sender_id} is not an Ed25519 key.")
            try:
                raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
                return ed25519.Ed25519PublicKey.from_public_bytes(raw)
            except (binascii.Error, ValueError):
                raise _unauthorized(f"Key {kid} of {sender_id} is not an Ed25519 key.") from None
    raise _unauthorized(f"Key id {kid} is not among the keys registered for {sender_id}.")


def verify(signature: Signature, header: dict, message: Any, key: ed25519.Ed25519PublicKey, *, now=None) -> None:
    """Checks the signature over header+message and its validity window."""
    now = time.time() if now is None else now
    text = signing_string(signature.created, signature.expires, digest(header, message))
    try:
        key.verify(signature.value, text.encode("utf-8"))
    except InvalidSignature:
        raise _unauthorized("The signature does not match the header and message with the sender's key.") from None
    if signature.created > now + CLOCK_SKEW_S:
        raise _unauthorized("The signature's created time lies in the future.")
    if signature.expires < now - CLOCK_SKEW_S:
        raise _unauthorized("The signature has expired.")
    if signature.expires <= signature.created or signature.expires - signature.created > MAX_VALIDITY_S:
        raise _unauthorized("The signature's validity must be positive and at most 24 hours.")
