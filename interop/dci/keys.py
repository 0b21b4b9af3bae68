"""The registry's own DCI signing keys: it signs every response and callback with them, and publishes their public
halves at /.well-known/dci/jwks.json for senders to verify.

Loaded as the credential issuer's keys are (programs.credentials.keys): from settings.SPMIS_DCI_KEYS_FILE, a JSON
Web Key Set of private Ed25519 keys with a kid each (the first signs, all are published, so a rotated key keeps
verifying what it signed until it is removed); without a file, a development key derived from SECRET_KEY.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from programs.credentials.claim169 import SigningKey
from programs.credentials.keys import public_jwk, read_key_file

_lock = threading.Lock()
_cache: dict[tuple, list[SigningKey]] = {}


def _development_keys() -> list[SigningKey]:
    # A different label from the credential issuer's, so the two never share a key even in development.
    seed = hmac.new(settings.SECRET_KEY.encode(), b"spmis.dci.ed25519", hashlib.sha256).digest()
    kid = "dci-dev-" + hashlib.sha256(seed).hexdigest()[:8]
    return [SigningKey(kid, "EdDSA", ed25519.Ed25519PrivateKey.from_private_bytes(seed))]


def dci_keys() -> list[SigningKey]:
    """Every DCI key, current first; cached per file and modification time, so a rotation needs no restart."""
    path = getattr(settings, "SPMIS_DCI_KEYS_FILE", None)
    if path:
        try:
            stamp = (str(path), os.stat(path).st_mtime_ns)
        except OSError as exc:
            raise ImproperlyConfigured(f"The DCI key file {path} cannot be read: {exc}") from None
    else:
        stamp = ("dev", settings.SECRET_KEY)
    with _lock:
        if stamp not in _cache:
            _cache.clear()
            _cache[stamp] = read_key_file(path) if path else _development_keys()
        return _cache[stamp]


def signing_key() -> SigningKey:
    """The current Ed25519 key (DCI signatures are ed25519)."""
    for key in dci_keys():
        if key.alg == "EdDSA":
            return key
    raise ImproperlyConfigured("No Ed25519 key is configured for DCI (SPMIS_DCI_KEYS_FILE).")


def jwks() -> dict[str, Any]:
    return {"keys": [public_jwk(k) for k in dci_keys() if k.alg == "EdDSA"]}


def receiver_id() -> str:
    """Our id in DCI headers: what senders put in receiver_id, and our sender_id in what we send back."""
    return getattr(settings, "SPMIS_DCI_SENDER_ID", "spmis")
