"""OpenID4VCI pre-authorized code flow, SD-JWT VC with selective disclosure and holder key binding, checked by a
wallet written on joserfc (the issuer uses sd-jwt on jwcrypto): our code never only verifies itself."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
from joserfc import jws, jwt
from joserfc.jwk import KeySet, OKPKey

from programs.credentials import oid4vci
from programs.credentials.models import CredentialOffer
from tests.programs.factories_credentials import request_card, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
ISSUER = "http://127.0.0.1:8000"


def b64url_sha256(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("ascii")).digest()).rstrip(b"=").decode()


class Wallet:
    """A minimal holder wallet on joserfc."""

    def __init__(self, client) -> None:
        self.client = client
        self.key = OKPKey.generate_key("Ed25519")

    def proof(self, nonce: str, *, aud: str = ISSUER, iat: int | None = None) -> str:
        header = {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "jwk": self.key.as_dict(private=False)}
        claims = {"aud": aud, "iat": int(time.time()) if iat is None else iat, "nonce": nonce}
        return jwt.encode(header, claims, self.key, algorithms=["EdDSA"])

    def token(self, code: str, tx_code: str | None):
        data = {"grant_type": oid4vci.PRE_AUTH_GRANT, "pre-authorized_code": code}
        if tx_code:
            data["tx_code"] = tx_code
        return self.client.post("/oid4vci/token", data)

    def credential(self, access_token: str, proof: str):
        return self.client.post(
            "/oid4vci/credential",
            {"credential_configuration_id": oid4vci.CONFIGURATION_ID, "proofs": {"jwt": [proof]}},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {access_token}",
        )

    def check_issuance(self, sd_jwt: str) -> tuple[dict, dict[str, tuple[str, object]]]:
        """Verify the issuer's JWT against the published keys and each disclosure against its digest."""
        issuer_jwt, *disclosures = sd_jwt.split("~")
        assert disclosures[-1] == ""  # issuance ends with "~"
        meta = self.client.get("/.well-known/jwt-vc-issuer").json()
        assert meta["issuer"] == ISSUER
        token = jws.deserialize_compact(issuer_jwt, KeySet.import_key_set(meta["jwks"]), algorithms=["EdDSA"])
        assert token.headers()["typ"] == "dc+sd-jwt"
        payload = json.loads(token.payload)
        opened = {}
        for disclosure in disclosures[:-1]:
            assert b64url_sha256(disclosure) in payload["_sd"]
            _salt, name, value = json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))
            opened[name] = (disclosure, value)
        return payload, opened

    def present(self, sd_jwt: str, names: list[str], opened: dict, *, aud: str, nonce: str) -> str:
        issuer_jwt = sd_jwt.split("~")[0]
        chosen = "".join(opened[n][0] + "~" for n in names)
        body = issuer_jwt + "~" + chosen
        kb = jwt.encode(
            {"typ": "kb+jwt", "alg": "EdDSA"},
            {"iat": int(time.time()), "aud": aud, "nonce": nonce, "sd_hash": b64url_sha256(body)},
            self.key,
            algorithms=["EdDSA"],
        )
        return body + kb


def make_offer(world, *, with_tx_code=True):  # noqa: F811
    program, household, _, requester, approver, _, _ = world
    card_id = request_card(requester, program, household).json()["id"]
    approver.post(f"/api/v1/programs/cards/{card_id}/approve/")
    offer = requester.post(f"/api/v1/programs/cards/{card_id}/offer/", {"with_tx_code": with_tx_code}, format="json")
    assert offer.status_code == 201, offer.content
    return card_id, offer.json()


@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")
def test_wallet_receives_and_presents_without_name_or_birth_date(world, client):  # noqa: F811
    _, offer = make_offer(world)
    assert offer["credential_offer_uri"].startswith("openid-credential-offer://?credential_offer=")
    assert len(offer["tx_code"]) == 6
    metadata = client.get("/.well-known/openid-credential-issuer").json()
    assert metadata["credential_issuer"] == ISSUER
    config = metadata["credential_configurations_supported"][oid4vci.CONFIGURATION_ID]
    assert config["format"] == "dc+sd-jwt"
    assert client.get("/.well-known/oauth-authorization-server").json()["token_endpoint"].endswith("/oid4vci/token")

    wallet = Wallet(client)
    code = offer["credential_offer"]["grants"][oid4vci.PRE_AUTH_GRANT]["pre-authorized_code"]
    token = wallet.token(code, offer["tx_code"])
    assert token.status_code == 200, token.content
    token = token.json()
    issued = wallet.credential(token["access_token"], wallet.proof(token["c_nonce"]))
    assert issued.status_code == 200, issued.content
    sd_jwt = issued.json()["credentials"][0]["credential"]

    payload, opened = wallet.check_issuance(sd_jwt)
    # Always visible: program and validity; hidden unless disclosed: registrant ID, names, birth date.
    assert payload["program"]["code"] == world[0].code and payload["enrolled"] is True and payload["valid_until"]
    assert not {"given_name", "family_name", "birthdate", "registrant_id"} & set(payload)
    assert {"given_name", "family_name", "registrant_id"} <= set(opened)
    assert opened["given_name"][1] == "Amina"
    # Holder binding: the credential is bound to the wallet's key.
    assert payload["cnf"]["jwk"]["x"] == wallet.key.as_dict(private=False)["x"]
    assert payload["status"]["status_list"]["uri"].startswith(ISSUER + "/.well-known/status-lists/")

    # Prove "enrolled in program X, valid until ..." with nothing else disclosed; the reference verifier checks it.
    minimal = wallet.present(sd_jwt, [], opened, aud="https://verifier.example", nonce="n-1")
    seen = oid4vci.verify_presentation(minimal, audience="https://verifier.example", nonce="n-1")
    assert seen["program"]["code"] == world[0].code and "given_name" not in seen and "birthdate" not in seen
    named = wallet.present(sd_jwt, ["given_name"], opened, aud="https://verifier.example", nonce="n-2")
    assert oid4vci.verify_presentation(named, audience="https://verifier.example", nonce="n-2")["given_name"] == "Amina"

    # Someone else's key cannot present it (key binding), nor a stale nonce.
    thief = Wallet(client)
    stolen = thief.present(sd_jwt, [], opened, aud="https://verifier.example", nonce="n-3")
    with pytest.raises(oid4vci.OAuthError):
        oid4vci.verify_presentation(stolen, audience="https://verifier.example", nonce="n-3")
    with pytest.raises(oid4vci.OAuthError):
        oid4vci.verify_presentation(minimal, audience="https://verifier.example", nonce="other")

    # Replays are refused with a reason.
    replay = wallet.token(code, offer["tx_code"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert "already been used" in replay.json()["error_description"]
    again = wallet.credential(token["access_token"], wallet.proof(token["c_nonce"]))
    assert again.status_code == 401


@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")
def test_bad_tx_code_proof_and_token_refused(world, client):  # noqa: F811
    _, offer = make_offer(world)
    wallet = Wallet(client)
    code = offer["credential_offer"]["grants"][oid4vci.PRE_AUTH_GRANT]["pre-authorized_code"]
    wrong = wallet.token(code, "000000" if offer["tx_code"] != "000000" else "111111")
    assert wrong.status_code == 400 and "transaction code" in wrong.json()["error_description"]
    assert CredentialOffer.objects.get().failed_tx_attempts == 1
    assert wallet.token("not-a-code", None).json()["error"] == "invalid_grant"
    token = wallet.token(code, offer["tx_code"]).json()
    bad_nonce = wallet.credential(token["access_token"], wallet.proof("stale"))
    assert bad_nonce.status_code == 400 and bad_nonce.json()["error"] == "invalid_nonce"
    wrong_aud = wallet.credential(token["access_token"], wallet.proof(token["c_nonce"], aud="https://evil"))
    assert wrong_aud.json()["error"] == "invalid_proof"
    old = wallet.credential(token["access_token"], wallet.proof(token["c_nonce"], iat=int(time.time()) - 3600))
    assert old.json()["error"] == "invalid_proof"
    assert wallet.credential("nope", wallet.proof(token["c_nonce"])).status_code == 401
    garbage = client.post(
        "/oid4vci/credential", "not json", content_type="application/json", HTTP_AUTHORIZATION="Bearer x"
    )
    assert garbage.status_code == 400
    # Still issuable after the refusals (nothing half-written)
    assert wallet.credential(token["access_token"], wallet.proof(token["c_nonce"])).status_code == 200


def test_offer_needs_approved_card_and_personal_data(world, client_for):  # noqa: F811
    program, household, _, requester, _, west, _ = world
    card_id = request_card(requester, program, household).json()["id"]
    refused = requester.post(f"/api/v1/programs/cards/{card_id}/offer/", {}, format="json")
    assert refused.status_code == 400 and "requested" in str(refused.json())
    auditor = client_for(roles=["auditor"], areas=[west])
    assert auditor.post(f"/api/v1/programs/cards/{card_id}/offer/", {}, format="json").status_code == 403
