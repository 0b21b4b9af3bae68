"""Claim 169 codec: our verifier on the 18 official test vectors, our codes read by the independent Rust verifier
(PyPI `claim169`), and a QR rendered by segno read back by zxing-cpp. No database."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from pathlib import Path

import claim169 as rust
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from programs.credentials import claim169 as c169
from programs.credentials.base45 import b45decode, b45encode, b45encode_many
from programs.credentials.qr import qr_png

VECTORS = Path(os.environ.get("CLAIM169_VECTORS", "/work/shared/data/claim169/test-vectors"))
ALL = sorted(VECTORS.glob("*/*.json"))
NOW = 1_770_000_000  # inside every valid vector's validity window (nbf up to 1756376445, exp from 1787912445)

pytestmark = pytest.mark.skipif(not ALL, reason="Claim 169 test vectors not present")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def vector_keys(vector: dict) -> list[c169.VerificationKey]:
    key = vector.get("signing_key")
    if not key:
        return []
    raw = bytes.fromhex(key["public_key_hex"])
    if key["algorithm"] == "EdDSA":
        return [c169.VerificationKey(None, "EdDSA", c169.ed25519_public(raw))]
    return [c169.VerificationKey(None, "ES256", c169.p256_public(raw))]


def vector_decrypt(vector: dict) -> list[bytes]:
    key = vector.get("encryption_key")
    return [bytes.fromhex(key["symmetric_key_hex"])] if key else []


def expected_subset(actual: dict, expected: dict) -> None:
    """Every expected claim is there with its value; biometric data compared as bytes."""
    for name, value in expected.items():
        assert name in actual, name
        if isinstance(value, list) and value and isinstance(value[0], dict):
            assert len(actual[name]) == len(value)
            for got, want in zip(actual[name], value, strict=True):
                for part, v in want.items():
                    if part == "data":
                        assert isinstance(got["data"], bytes) and got["data"]
                    else:
                        assert got[part] == v, (name, part)
        else:
            assert actual[name] == value, name


def test_eighteen_vectors_present():
    assert len(ALL) == 18


@pytest.mark.parametrize("path", [p for p in ALL if p.parent.name == "valid"], ids=lambda p: p.stem)
def test_valid_vectors_decode_to_expected_claims(path):
    vector = load(path)
    keys = vector_keys(vector)
    decoded = c169.decode(
        vector["qr_data"], keys, decryption_keys=vector_decrypt(vector), require_signature=bool(keys), now=NOW
    )
    expected_subset(decoded.claims, vector["expected_claim169"])
    meta = vector["expected_cwt_meta"]
    assert decoded.issuer == meta["issuer"]
    assert decoded.issued_at == meta["issuedAt"]
    assert decoded.expires_at == meta["expiresAt"]
    assert decoded.not_before == meta.get("notBefore")
    assert decoded.subject == meta.get("subject")
    # A signed vector is verified with its key; the unsigned ones are read but never called verified.
    assert decoded.verified is bool(keys)
    assert decoded.encrypted is bool(vector.get("encryption_key"))


def test_signed_vector_refused_with_wrong_key():
    vector = load(VECTORS / "valid/ed25519-signed.json")
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    with pytest.raises(c169.Claim169Error) as err:
        c169.decode(vector["qr_data"], [c169.VerificationKey(None, "EdDSA", other)], now=NOW)
    assert err.value.reason == "bad_signature"


def test_unsigned_vector_refused_when_a_signature_is_required():
    with pytest.raises(c169.Claim169Error) as err:
        c169.decode(load(VECTORS / "valid/minimal.json")["qr_data"], [], now=NOW)
    assert err.value.reason == "unsigned"


def test_encrypted_vector_refused_without_the_key():
    vector = load(VECTORS / "valid/encrypted-aes256.json")
    with pytest.raises(c169.Claim169Error) as err:
        c169.decode(vector["qr_data"], [], decryption_keys=[bytes(32)], require_signature=False, now=NOW)
    assert err.value.reason == "decryption"


INVALID_REASON = {
    "Base45Decode": "base45",
    "Decompress": "decompress",
    "Claim169NotFound": "claim169_missing",
    "CoseParse": "cose",
}


@pytest.mark.parametrize("path", [p for p in ALL if p.parent.name == "invalid"], ids=lambda p: p.stem)
def test_invalid_vectors_refused_for_the_right_reason(path):
    vector = load(path)
    with pytest.raises(c169.Claim169Error) as err:
        c169.decode(vector["qr_data"], [], require_signature=False, now=NOW)
    assert err.value.reason == INVALID_REASON[vector["expected_error"]]


def test_edge_expired_refused():
    with pytest.raises(c169.Claim169Error) as err:
        c169.decode(load(VECTORS / "edge/expired.json")["qr_data"], [], require_signature=False, now=NOW)
    assert err.value.reason == "expired"
    assert "2021-01-01" in str(err.value)


def test_edge_not_yet_valid_refused():
    with pytest.raises(c169.Claim169Error) as err:
        c169.decode(load(VECTORS / "edge/not-yet-valid.json")["qr_data"], [], require_signature=False, now=NOW)
    assert err.value.reason == "not_yet_valid"


def test_edge_unknown_fields_kept_apart():
    vector = load(VECTORS / "edge/unknown-fields.json")
    decoded = c169.decode(vector["qr_data"], [], require_signature=False, now=NOW)
    expected_subset(decoded.claims, vector["expected_claim169"])
    assert decoded.unknown, "the unassigned attributes are preserved for forward compatibility"
    assert all(key not in c169.DEMOGRAPHICS for key in decoded.unknown)


def test_base45_round_trip_and_rfc_example():
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45decode("QED8WEX0") == b"ietf!"
    for n in range(0, 40):
        data = os.urandom(n)
        assert b45decode(b45encode(data)) == data


# ---- our codes, read by the independent implementation ----------------------------------------------------------

CLAIMS = {
    "id": "IND-000123",
    "fullName": "Amina Rahman",
    "dateOfBirth": "19840118",
    "gender": 2,
    "locationCode": "BD-30-26",
    "secondaryFullName": "আমিনা রহমান",
    "secondaryLanguage": "ben",
}


def test_our_ed25519_code_verified_by_rust_claim169():
    private = ed25519.Ed25519PrivateKey.generate()
    key = c169.SigningKey("k1", "EdDSA", private)
    text = c169.encode(CLAIMS, key, issuer="https://spmis.example", issued_at=NOW - 10, expires_at=NOW + 86400)
    raw_public = private.public_key().public_bytes_raw()
    result = rust.decode_with_ed25519(text, raw_public, validate_timestamps=False)
    assert result.is_verified()
    assert result.claim169.id == "IND-000123"
    assert result.claim169.full_name == "Amina Rahman"
    assert result.claim169.secondary_full_name == "আমিনা রহমান"
    assert result.claim169.gender == 2
    assert result.cwt_meta.issuer == "https://spmis.example"
    assert result.cwt_meta.expires_at == NOW + 86400
    # and by us, with the key id matched
    ours = c169.decode(text, [c169.VerificationKey("k1", "EdDSA", private.public_key())], now=NOW)
    assert ours.claims == CLAIMS and ours.kid == "k1" and ours.verified


def test_our_es256_code_verified_by_rust_claim169():
    from cryptography.hazmat.primitives import serialization

    private = ec.generate_private_key(ec.SECP256R1())
    key = c169.SigningKey("p1", "ES256", private)
    text = c169.encode(CLAIMS, key, issuer="https://spmis.example", issued_at=NOW, expires_at=NOW + 60)
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    result = rust.decode_with_ecdsa_p256(text, point, validate_timestamps=False)
    assert result.is_verified()
    assert result.claim169.full_name == "Amina Rahman"


def test_rust_signed_code_verified_by_us():
    private = ed25519.Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    claim = rust.Claim169Input(id="R-1", full_name="Rust Made")
    text = rust.encode_with_ed25519(claim, rust.CwtMetaInput(issuer="rust", expires_at=NOW + 100), seed)
    decoded = c169.decode(text, [c169.VerificationKey(None, "EdDSA", private.public_key())], now=NOW)
    assert decoded.claims == {"id": "R-1", "fullName": "Rust Made"} and decoded.verified


def test_tampered_code_refused_by_both():
    private = ed25519.Ed25519PrivateKey.generate()
    key = c169.SigningKey("k1", "EdDSA", private)
    payload = c169.cwt_payload(CLAIMS, issuer="x", issued_at=NOW, expires_at=NOW + 60)
    cose = c169.sign_payload(payload, key)
    forged = cose.replace(b"Amina", b"Ahmed")
    assert forged != cose
    text = c169.wrap(forged)
    with pytest.raises(c169.Claim169Error) as err:
        c169.decode(text, [c169.VerificationKey("k1", "EdDSA", private.public_key())], now=NOW)
    assert err.value.reason == "bad_signature"
    with pytest.raises(rust.SignatureError):
        rust.decode_with_ed25519(text, private.public_key().public_bytes_raw(), validate_timestamps=False)


def test_unknown_key_id_refused():
    key = c169.SigningKey("old-2024", "EdDSA", ed25519.Ed25519PrivateKey.generate())
    text = c169.encode(CLAIMS, key, issuer="x", issued_at=NOW, expires_at=NOW + 60)
    trusted = c169.VerificationKey("new-2026", "EdDSA", ed25519.Ed25519PrivateKey.generate().public_key())
    with pytest.raises(c169.Claim169Error) as err:
        c169.decode(text, [trusted], now=NOW)
    assert err.value.reason == "unknown_key"
    assert "old-2024" in str(err.value)


def test_encrypted_code_round_trip_and_rust_reads_it():
    private = ed25519.Ed25519PrivateKey.generate()
    key = c169.SigningKey("k1", "EdDSA", private)
    aes = os.urandom(32)
    now = int(time.time())  # the Rust reader checks times against the real clock here
    text = c169.encode(
        CLAIMS, key, issuer="x", issued_at=now, expires_at=now + 600, encryption_key=aes, iv=os.urandom(12)
    )
    decoded = c169.decode(text, [c169.VerificationKey("k1", "EdDSA", private.public_key())], decryption_keys=[aes])
    assert decoded.encrypted and decoded.verified and decoded.claims["fullName"] == "Amina Rahman"
    result = rust.decode_encrypted_aes256(text, aes, allow_unverified=True)
    assert result.claim169.full_name == "Amina Rahman"


def test_only_named_fields_enter_a_code():
    with pytest.raises(ValueError, match="phoneNumber"):
        c169.claims_to_map({"phoneNumber": "+880"})


def test_png_read_back_by_zxing_identically():
    import zxingcpp
    from PIL import Image

    key = c169.SigningKey("k1", "EdDSA", ed25519.Ed25519PrivateKey.generate())
    text = c169.encode(CLAIMS, key, issuer="https://spmis.example", issued_at=NOW, expires_at=NOW + 60)
    png = qr_png(text)
    assert png.startswith(b"\x89PNG")
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    assert results[0].text == text
    assert base64.b64encode(png)  # a data: URL for the card sheet


# ---- the batch path (print batches, the bench) ------------------------------------------------------------------

BATCH_FIELDS = ("id", "fullName", "locationCode", "programCode", "cardCode")


def batch_rows(n: int) -> list[tuple[tuple, int | None, int | None]]:
    rows = []
    for i in range(n):
        values = (f"I{i:010d}", "আমিনা রহমান" if i % 3 else f"Amina {i}", None if i % 5 == 0 else "BD-30", "P-1", "")
        rows.append((values, None if i % 7 == 0 else NOW + 86400 * (i + 1), None if i % 4 == 0 else i * 40503))
    return rows


def test_base45_many_equals_one_by_one():
    blobs = [os.urandom(n) for n in range(0, 300, 7)] + [b"", b"A", b"AB", b"\xff\xff\xff"]
    assert b45encode_many(blobs) == [b45encode(b) for b in blobs]
    assert b45encode_many([]) == []


def test_batch_signer_is_byte_identical_to_encode_and_rust_verifies_it():
    private = ed25519.Ed25519PrivateKey.generate()
    key = c169.SigningKey("k1", "EdDSA", private)
    uri = "https://spmis.example/.well-known/status-lists/1"
    signer = c169.BatchSigner(key, issuer="https://spmis.example", issued_at=NOW, fields=BATCH_FIELDS, status_uri=uri)
    rows = batch_rows(60)
    texts = signer.sign_many(rows)
    for (values, expires_at, index), text in zip(rows, texts, strict=True):
        claims = dict(zip(BATCH_FIELDS, values, strict=True))
        status = (index, uri) if index is not None else None
        one = c169.encode(
            claims, key, issuer="https://spmis.example", issued_at=NOW, expires_at=expires_at, status=status
        )
        assert text == one  # Ed25519 signatures are deterministic, so the whole text matches
    decoded = c169.decode(texts[1], [c169.VerificationKey("k1", "EdDSA", private.public_key())], now=NOW)
    assert decoded.claims["fullName"] == "আমিনা রহমান" and decoded.status_index == 40503 and decoded.status_uri == uri
    result = rust.decode_with_ed25519(texts[1], private.public_key().public_bytes_raw(), validate_timestamps=False)
    assert result.is_verified() and result.claim169.id == "I0000000001" and result.claim169.location_code == "BD-30"


def test_batch_signer_es256_and_typed_fields_verify():
    private = ec.generate_private_key(ec.SECP256R1())
    key = c169.SigningKey("p1", "ES256", private)
    signer = c169.BatchSigner(key, issuer="x", issued_at=NOW, fields=("id", "gender", "dateOfBirth"))
    (text,) = signer.sign_many([(("I1", 2, "19840118"), NOW + 60, None)])
    decoded = c169.decode(text, [c169.VerificationKey("p1", "ES256", private.public_key())], now=NOW)
    assert decoded.claims == {"id": "I1", "gender": 2, "dateOfBirth": "19840118"} and decoded.verified
    with pytest.raises(ValueError, match="phoneNumber"):
        c169.BatchSigner(key, issuer="x", issued_at=NOW, fields=("phoneNumber",))
