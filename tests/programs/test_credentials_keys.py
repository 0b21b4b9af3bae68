"""Issuer keys: from a key file with key ids, rotated without breaking old cards, published as JWKS that an
independent JOSE stack (joserfc) reads and verifies with."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from joserfc import jws
from joserfc.jwk import KeySet

from programs.credentials import claim169 as c169
from programs.credentials import keys

NOW = 1_770_000_000


def test_development_key_without_a_file(settings):
    settings.SPMIS_CREDENTIAL_KEYS_FILE = None
    key = keys.signing_key()
    assert key.alg == "EdDSA" and key.kid.startswith("dev-")
    assert keys.signing_key() is key  # cached


def test_rotation_keeps_old_cards_verifiable_and_jwks_lists_both(settings, tmp_path):
    path = tmp_path / "keys.json"
    call_command("credential_keys", "rotate", "--file", str(path), "--kid", "k-2025")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    settings.SPMIS_CREDENTIAL_KEYS_FILE = str(path)
    old = keys.signing_key()
    assert old.kid == "k-2025"
    card = c169.encode({"id": "I-1"}, old, issuer="x", issued_at=NOW, expires_at=NOW + 60)

    call_command("credential_keys", "rotate", "--kid", "k-2026", "--alg", "ES256")
    assert [k.kid for k in keys.issuer_keys()] == ["k-2026", "k-2025"]  # picked up without restart
    assert keys.signing_key().kid == "k-2026"
    assert keys.signing_key("EdDSA").kid == "k-2025"
    assert c169.decode(card, keys.verification_keys(), now=NOW).kid == "k-2025"

    with pytest.raises(Exception, match="already"):
        call_command("credential_keys", "rotate", "--kid", "k-2026")

    # Withdrawing a key (removing it from the file) stops its cards verifying, with the reason "unknown key".
    data = json.loads(path.read_text())
    data["keys"] = [k for k in data["keys"] if k["kid"] != "k-2025"]
    path.write_text(json.dumps(data))
    with pytest.raises(c169.Claim169Error) as err:
        c169.decode(card, keys.verification_keys(), now=NOW)
    assert err.value.reason == "unknown_key"


def test_jwks_endpoint_public_cacheable_without_private_parts(client, settings, tmp_path):
    path = tmp_path / "keys.json"
    keys.write_key_file(path, [keys.generate_key("ed", "EdDSA"), keys.generate_key("p", "ES256")])
    settings.SPMIS_CREDENTIAL_KEYS_FILE = str(path)
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "max-age" in response["Cache-Control"] and "public" in response["Cache-Control"]
    body = response.json()
    assert [k["kid"] for k in body["keys"]] == ["ed", "p"]
    assert all("d" not in k for k in body["keys"])
    assert client.post("/.well-known/jwks.json").status_code == 405

    # joserfc (not our stack) imports the published keys and verifies a JWS we sign with the private key.
    keyset = KeySet.import_key_set(body)
    private = keys.issuer_keys()[0]
    from jwcrypto import jwk as jwcrypto_jwk
    from jwcrypto import jws as jwcrypto_jws

    signer = jwcrypto_jws.JWS(b"hello")
    signer.add_signature(
        jwcrypto_jwk.JWK(**keys.private_jwk(private)), alg="EdDSA", protected=json.dumps({"alg": "EdDSA", "kid": "ed"})
    )
    compact = signer.serialize(compact=True)
    assert jws.deserialize_compact(compact, keyset, algorithms=["EdDSA"]).payload == b"hello"


def test_bad_key_file_refused_clearly(settings, tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [{"kty": "RSA", "kid": "r", "n": "x", "e": "AQAB", "d": "x"}]}))
    settings.SPMIS_CREDENTIAL_KEYS_FILE = str(path)
    with pytest.raises(Exception, match="only Ed25519"):
        keys.issuer_keys()
    settings.SPMIS_CREDENTIAL_KEYS_FILE = str(tmp_path / "missing.json")
    with pytest.raises(Exception, match="cannot be read"):
        keys.issuer_keys()
