"""Typed access to environment variables: the only place settings read the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"The environment variable {name} is required in this configuration.")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_floats(name: str, default: list[float] | None) -> list[float] | None:
    """A comma-separated list of numbers, e.g. a bounding box `88.0,20.59,92.69,26.64`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return [float(item) for item in raw.split(",")]
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a comma-separated list of numbers.") from None


def env_keys(name: str) -> list[tuple[str, bytes]] | None:
    """A comma-separated list of `keyid:base64key` (AES keys of 16, 24 or 32 bytes), the first the current one; None
    when unset. Used for the payment account keys (programs.payments.crypto)."""
    import base64
    import binascii
    import re

    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    keys: list[tuple[str, bytes]] = []
    for position, item in enumerate((part.strip() for part in raw.split(",") if part.strip()), start=1):
        key_id, sep, encoded = item.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", key_id):
            raise ImproperlyConfigured(f"{name}: entry {position} is not keyid:base64key (key id of 1-32 letters).")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"{name}: key {key_id!r} is not valid base64.") from None
        if len(key) not in (16, 24, 32):
            raise ImproperlyConfigured(f"{name}: key {key_id!r} is {len(key)} bytes; AES needs 16, 24 or 32.")
        if key_id in {known for known, _ in keys}:
            raise ImproperlyConfigured(f"{name}: key id {key_id!r} appears twice.")
        keys.append((key_id, key))
    return keys


def env_secret_bytes(name: str, *, minimum: int = 32) -> bytes | None:
    """A base64 secret of at least `minimum` bytes; None when unset."""
    import base64
    import binascii

    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{name} is not valid base64.") from None
    if len(value) < minimum:
        raise ImproperlyConfigured(f"{name} is {len(value)} bytes; at least {minimum} are needed.")
    return value
