"""Account numbers at rest: AES-GCM under a named key, plus a keyed blind index for finding the same account twice.

Stored format (bytea), version 1:  0x01 | len(key id) (1 byte) | key id (ASCII) | nonce (12 bytes) | ciphertext+tag.
The header is the associated data, so a ciphertext cannot be relabelled with another key id. Keys come from
settings.SPMIS_ACCOUNT_KEYS ([(key id, key)], the first encrypts, all decrypt); the blind index is HMAC-SHA256 under
the separate settings.SPMIS_ACCOUNT_INDEX_KEY, so an index value reveals nothing without that key and cannot be
tested against guesses by someone holding only the database.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

VERSION = 1
NONCE_BYTES = 12
PURPOSE = b"spmis.payment-account-number"


class AccountKeyError(Exception):
    """A ciphertext names a key the settings no longer hold, or fails authentication."""


def _keys() -> list[tuple[str, bytes]]:
    return list(settings.SPMIS_ACCOUNT_KEYS)


@functools.lru_cache(maxsize=16)
def _cipher(key: bytes) -> AESGCM:
    """One AESGCM object per key: building it costs more than decrypting an account number (1.4 of 5 µs), and a
    release decrypts a million of them. Keyed by the key's bytes, so a changed setting gets its own."""
    return AESGCM(key)


def current_key_id() -> str:
    return _keys()[0][0]


def _header(key_id: str) -> bytes:
    encoded = key_id.encode("ascii")
    return bytes([VERSION, len(encoded)]) + encoded


def encrypt(plain: str) -> tuple[bytes, str]:
    """(stored bytes, key id) of `plain` under the current key, with a fresh random nonce."""
    key_id, key = _keys()[0]
    header = _header(key_id)
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + _cipher(key).encrypt(nonce, plain.encode(), header + PURPOSE), key_id


def key_id_of(stored: bytes) -> str:
    stored = bytes(stored)
    if not stored or stored[0] != VERSION:
        raise AccountKeyError("Unknown account ciphertext version.")
    return stored[2 : 2 + stored[1]].decode("ascii")


def decrypt(stored: bytes) -> str:
    return decrypter()(stored)


def decrypter() -> Callable[[bytes], str]:
    """decrypt() for many ciphertexts at a time: the keys of the settings at this moment, each cipher made once and
    found by its key id from the ciphertext's header (a release decrypts a million account numbers)."""
    ciphers: dict[bytes, AESGCM] = {}
    keys = dict(settings.SPMIS_ACCOUNT_KEYS)

    def one(stored: bytes) -> str:
        stored = bytes(stored)
        if not stored or stored[0] != VERSION:
            raise AccountKeyError("Unknown account ciphertext version.")
        header_end = 2 + stored[1]
        header = stored[:header_end]
        cipher = ciphers.get(header)
        if cipher is None:
            key_id = header[2:].decode("ascii")
            if key_id not in keys:
                raise AccountKeyError(f"Key {key_id!r} is not in SPMIS_ACCOUNT_KEYS; add it back to read this account.")
            cipher = ciphers[header] = _cipher(keys[key_id])
        try:
            return cipher.decrypt(
                stored[header_end : header_end + NONCE_BYTES], stored[header_end + NONCE_BYTES :], header + PURPOSE
            ).decode()
        except InvalidTag:
            raise AccountKeyError(f"Account ciphertext fails authentication under key {key_id_of(stored)!r}.") from None

    return one


def blind_index(normalised: str) -> str:
    """Hex HMAC-SHA256 of a normalised account (programs.payments.validation.Normalised.index_input)."""
    return hmac.new(settings.SPMIS_ACCOUNT_INDEX_KEY, normalised.encode(), hashlib.sha256).hexdigest()


def mask(plain: str) -> str:
    """The last four characters of the number, the rest hidden."""
    digits = plain.replace(" ", "")
    return "•••• " + digits[-4:]
