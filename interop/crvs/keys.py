"""Our signing key for what we send to a CRVS: the DCI key (settings.SPMIS_DCI_KEYS_FILE, a JWKS of private Ed25519
keys, the first Ed25519 one signs), or in development a key derived from SECRET_KEY with the same label the DCI
server uses, so both halves of interop sign with one key and publish one JWKS."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from programs.credentials.claim169 import SigningKey
from programs.credentials.keys import public_jwk, read_key_file


def signing_key() -> SigningKey:
    path = getattr(settings, "SPMIS_DCI_KEYS_FILE", None)
    if path:
        for key in read_key_file(path):
            if key.alg == "EdDSA":
                return key
        raise ImproperlyConfigured(f"No Ed25519 key in the DCI key file {path}.")
    seed = hmac.new(settings.SECRET_KEY.encode(), b"spmis.dci.ed25519", hashlib.sha256).digest()
    return SigningKey(
        "dci-dev-" + hashlib.sha256(seed).hexdigest()[:8], "EdDSA", ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    )


def our_jwks() -> dict:
    """What to give the CRVS operator so that it can verify us."""
    return {"keys": [public_jwk(signing_key())]}
