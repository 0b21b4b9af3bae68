"""The issuer's signing keys: where they come from, which one signs, and the public JWKS that verifiers cache.

Keys come, in this order, from
- settings.SPMIS_CREDENTIAL_KEYS_FILE: a JSON Web Key Set of private keys (Ed25519 `OKP` or P-256 `EC`, each with a
  `kid`), the first key of each algorithm signs, every key in the file verifies (rotation: `manage.py
  credential_keys rotate` puts a new key first and keeps the old ones, so cards signed before still verify; a key
  removed from the file stops verifying, which is how a compromised key is withdrawn);
- otherwise, a development key derived from SECRET_KEY (spmis.settings.production refuses to start without a file).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .claim169 import SigningKey, VerificationKey

ALGORITHMS = ("EdDSA", "ES256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_jwk(key: SigningKey | VerificationKey) -> dict[str, Any]:
    public = key.public_key
    if isinstance(public, ed25519.Ed25519PublicKey):
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64(public.public_bytes_raw())}
    else:
        numbers = public.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64(numbers.x.to_bytes(32, "big")),
            "y": _b64(numbers.y.to_bytes(32, "big")),
        }
    return {**jwk, "kid": key.kid, "alg": key.alg, "use": "sig"}


def private_jwk(key: SigningKey) -> dict[str, Any]:
    jwk = public_jwk(key)
    if key.alg == "EdDSA":
        jwk["d"] = _b64(key.private_key.private_bytes_raw())
    else:
        jwk["d"] = _b64(key.private_key.private_numbers().private_value.to_bytes(32, "big"))
    return jwk


def key_from_jwk(jwk: dict[str, Any]) -> SigningKey:
    """A private JWK (as the key file holds it) to a SigningKey; refuses anything but Ed25519 and P-256."""
    kid = jwk.get("kid")
    if not kid or not isinstance(kid, str):
        raise ImproperlyConfigured("Every credential key needs a kid.")
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        return SigningKey(kid, "EdDSA", ed25519.Ed25519PrivateKey.from_private_bytes(_unb64(jwk["d"])))
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        return SigningKey(kid, "ES256", ec.derive_private_key(int.from_bytes(_unb64(jwk["d"]), "big"), ec.SECP256R1()))
    raise ImproperlyConfigured(f"Credential key {kid}: only Ed25519 (OKP) and P-256 (EC) keys are supported.")


def generate_key(kid: str, alg: str = "EdDSA") -> SigningKey:
    if alg == "EdDSA":
        return SigningKey(kid, alg, ed25519.Ed25519PrivateKey.generate())
    if alg == "ES256":
        return SigningKey(kid, alg, ec.generate_private_key(ec.SECP256R1()))
    raise ValueError(f"alg must be one of {', '.join(ALGORITHMS)}")


def read_key_file(path: str | Path) -> list[SigningKey]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"The credential key file {path} cannot be read: {exc}") from None
    keys = [key_from_jwk(jwk) for jwk in data.get("keys", [])]
    if not keys:
        raise ImproperlyConfigured(f"The credential key file {path} holds no keys.")
    if len({k.kid for k in keys}) != len(keys):
        raise ImproperlyConfigured(f"The credential key file {path} repeats a kid.")
    return keys


def write_key_file(path: str | Path, keys: list[SigningKey]) -> None:
    """Written to a temporary file then renamed, readable by the owner only: a half-written key file never exists."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"keys": [private_jwk(k) for k in keys]}, out, indent=1)
    os.replace(tmp, path)


def rotate_key_file(path: str | Path, *, kid: str, alg: str = "EdDSA") -> SigningKey:
    """Put a new key first (it signs from now on); the others stay to verify what they signed."""
    path = Path(path)
    keys = read_key_file(path) if path.exists() else []
    if any(k.kid == kid for k in keys):
        raise ValueError(f"key id {kid} is already in {path}")
    new = generate_key(kid, alg)
    write_key_file(path, [new, *keys])
    return new


def _development_keys() -> list[SigningKey]:
    seed = hmac.new(settings.SECRET_KEY.encode(), b"spmis.credential.ed25519", hashlib.sha256).digest()
    kid = "dev-" + hashlib.sha256(seed).hexdigest()[:8]
    return [SigningKey(kid, "EdDSA", ed25519.Ed25519PrivateKey.from_private_bytes(seed))]


_lock = threading.Lock()
_cache: dict[tuple, list[SigningKey]] = {}


def issuer_keys() -> list[SigningKey]:
    """Every key of the issuer, current first. Cached per key file and its modification time, so a rotation is
    picked up without a restart."""
    path = getattr(settings, "SPMIS_CREDENTIAL_KEYS_FILE", None)
    if path:
        try:
            stamp = (str(path), os.stat(path).st_mtime_ns)
        except OSError as exc:
            raise ImproperlyConfigured(f"The credential key file {path} cannot be read: {exc}") from None
    else:
        stamp = ("dev", settings.SECRET_KEY)
    with _lock:
        if stamp not in _cache:
            _cache.clear()
            _cache[stamp] = read_key_file(path) if path else _development_keys()
        return _cache[stamp]


def signing_key(alg: str | None = None) -> SigningKey:
    """The current key: the first of the file (or the first of `alg`)."""
    keys = issuer_keys()
    for key in keys:
        if alg is None or key.alg == alg:
            return key
    raise ImproperlyConfigured(f"No {alg} credential key is configured.")


def verification_keys() -> list[VerificationKey]:
    return [VerificationKey(k.kid, k.alg, k.public_key) for k in issuer_keys()]


def jwks() -> dict[str, Any]:
    """The public keys, as served at /.well-known/jwks.json."""
    return {"keys": [public_jwk(k) for k in issuer_keys()]}


def public_pem(key: SigningKey) -> str:
    return key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
