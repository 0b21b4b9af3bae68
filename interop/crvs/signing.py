"""The DCI envelope signature for what we send to a CRVS and what it sends us: the DCI server's
(interop.dci.envelope, which documents the signed bytes), so both halves of interop sign and verify one way.

Kept as a module of its own so that the CRVS code names what it uses, and so that a malformed key in a source's
JWKS is refused with words rather than raising."""

from __future__ import annotations

import binascii
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from interop.dci import envelope
from interop.dci.envelope import DCIError as CrvsError
from interop.dci.envelope import SignatureParams as Signature
from interop.dci.envelope import canonical, digest, sign, signing_string

__all__ = ["CrvsError", "Signature", "canonical", "digest", "parse", "public_key", "sign", "signing_string", "verify"]


def parse(text: Any) -> Signature:
    """The parameters of a signature field; anything but the spec's form is refused."""
    return envelope.parse_signature(text)


def public_key(jwks: dict, kid: str, sender_id: str) -> ed25519.Ed25519PublicKey:
    try:
        return envelope.public_key_for(jwks, kid, sender_id)
    except (binascii.Error, ValueError):
        raise CrvsError("err.signature.invalid", f"Key {kid} of {sender_id} is not an Ed25519 key.", 401) from None


def verify(signature: Signature, header: dict, message: Any, key: ed25519.Ed25519PublicKey, *, now=None) -> None:
    """Checks the signature over header+message and its validity window."""
    envelope.verify(signature, header, message, key, now=now)
