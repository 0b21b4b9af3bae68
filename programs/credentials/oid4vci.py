"""OpenID for Verifiable Credential Issuance (1.0), pre-authorized code flow, issuing an SD-JWT VC (`dc+sd-jwt`)
of a card's program enrolment with the `sd-jwt` reference implementation (on jwcrypto).

An officer makes an offer for an approved card (shown as a QR, with an optional transaction code told to the person
separately); the wallet exchanges the pre-authorized code (once: a replay is refused) for a short-lived access token,
then asks for the credential with a proof of possession of its key (a JWT with the nonce), and that key is bound
into the credential (`cnf`). Always disclosed: the program, the validity and the status entry; selectively
disclosable: registrant ID, names, birth date — so a holder proves "enrolled in program X, valid until …" alone.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from programs.credentials import keys, selectors, services
from programs.credentials.models import Card, CredentialOffer
from registry.selectors import personal_data_allowed

CONFIGURATION_ID = "spmis_program_enrolment"
PRE_AUTH_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_TTL = datetime.timedelta(minutes=30)
TOKEN_TTL = datetime.timedelta(minutes=5)
PROOF_MAX_AGE_S = 300
MAX_TX_ATTEMPTS = 5
SD_CLAIMS = ("registrant_id", "given_name", "family_name", "birthdate")


class OAuthError(Exception):
    """An error answered in the OAuth / OpenID4VCI shape: {"error": code, "error_description": words}."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code, self.description, self.status = code, description, status

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issuer_url() -> str:
    return settings.SPMIS_CREDENTIAL_ISSUER.rstrip("/")


def vct() -> str:
    return issuer_url() + "/credentials/program-enrolment"


def issuer_metadata() -> dict[str, Any]:
    base = issuer_url()
    return {
        "credential_issuer": base,
        "authorization_servers": [base],
        "credential_endpoint": base + "/oid4vci/credential",
        "nonce_endpoint": base + "/oid4vci/nonce",
        "display": [{"name": "spmis", "locale": "en"}],
        "credential_configurations_supported": {
            CONFIGURATION_ID: {
                "format": "dc+sd-jwt",
                "vct": vct(),
                "scope": CONFIGURATION_ID,
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": ["EdDSA"],
                "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["EdDSA", "ES256"]}},
                "credential_metadata": {
                    "display": [{"name": "Program enrolment", "locale": "en"}],
                    "claims": [
                        {"path": ["program"], "display": [{"name": "Program", "locale": "en"}]},
                        {"path": ["valid_until"], "display": [{"name": "Valid until", "locale": "en"}]},
                        *({"path": [c]} for c in SD_CLAIMS),
                    ],
                },
            }
        },
    }


def authorization_server_metadata() -> dict[str, Any]:
    base = issuer_url()
    return {
        "issuer": base,
        "token_endpoint": base + "/oid4vci/token",
        "grant_types_supported": [PRE_AUTH_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
    }


def jwt_vc_issuer_metadata() -> dict[str, Any]:
    return {"issuer": issuer_url(), "jwks": keys.jwks()}


@dataclass(frozen=True)
class Offer:
    offer: CredentialOffer
    credential_offer: dict[str, Any]
    uri: str
    tx_code: str | None


@transaction.atomic(durable=True)
def offer_create(*, user, card: Card, with_tx_code: bool = True) -> Offer:
    if not user.has_perm("programs.add_credentialoffer"):
        raise PermissionDenied("Offering credentials needs the credential offer permission.")
    if not selectors.card_list(user=user).filter(pk=card.pk).exists():
        raise PermissionDenied("This card is outside your areas.")
    if not personal_data_allowed(user):
        raise PermissionDenied("A credential carries personal data; offering one needs the personal data permission.")
    if card.status not in ("approved", "printed", "distributed"):
        raise ValidationError({"card": f"Card {card.code} is {card.status}; only approved cards can be offered."})
    code = secrets.token_urlsafe(32)
    tx_code = f"{secrets.randbelow(10**6):06d}" if with_tx_code else None
    row = CredentialOffer.objects.create(
        card=card,
        code_hash=_hash(code),
        tx_code_hash=_hash(tx_code) if tx_code else "",
        created_by=user,
        expires_at=timezone.now() + OFFER_TTL,
    )
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if tx_code:
        grant["tx_code"] = {"length": 6, "input_mode": "numeric", "description": "The code the officer tells you"}
    credential_offer = {
        "credential_issuer": issuer_url(),
        "credential_configuration_ids": [CONFIGURATION_ID],
        "grants": {PRE_AUTH_GRANT: grant},
    }
    uri = "openid-credential-offer://?credential_offer=" + urllib.parse.quote(
        json.dumps(credential_offer, separators=(",", ":"))
    )
    services.credential_event(kind="offered", user=user, card=card, offer=row.pk, tx_code=bool(tx_code))
    return Offer(row, credential_offer, uri, tx_code)


@transaction.atomic
def token_exchange(*, grant_type: str, code: str, tx_code: str | None) -> dict[str, Any]:
    if grant_type != PRE_AUTH_GRANT:
        raise OAuthError("unsupported_grant_type", "Only the pre-authorized code grant is supported.")
    if not code:
        raise OAuthError("invalid_request", "pre-authorized_code is missing.")
    row = CredentialOffer.objects.select_for_update().filter(code_hash=_hash(code)).first()
    if row is None:
        raise OAuthError("invalid_grant", "Unknown pre-authorized code.")
    if row.redeemed_at is not None:
        raise OAuthError("invalid_grant", "This pre-authorized code has already been used.")
    if row.expires_at <= timezone.now():
        raise OAuthError("invalid_grant", "This offer has expired; ask for a new one.")
    if row.tx_code_hash:
        if row.failed_tx_attempts >= MAX_TX_ATTEMPTS:
            raise OAuthError("invalid_grant", "Too many wrong transaction codes; ask for a new offer.")
        if not tx_code or not hmac.compare_digest(_hash(tx_code), row.tx_code_hash):
            raise _WrongTxCode(row.pk)  # counted by token_exchange_counted, after this transaction rolls back
    token = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(16)
    CredentialOffer.objects.filter(pk=row.pk).update(
        redeemed_at=timezone.now(),
        token_hash=_hash(token),
        token_expires_at=timezone.now() + TOKEN_TTL,
        c_nonce=nonce,
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(TOKEN_TTL.total_seconds()),
        "c_nonce": nonce,
        "c_nonce_expires_in": int(TOKEN_TTL.total_seconds()),
    }


class _WrongTxCode(OAuthError):
    def __init__(self, offer_id: int) -> None:
        super().__init__("invalid_grant", "The transaction code is wrong.")
        self.offer_id = offer_id


def token_exchange_counted(*, grant_type: str, code: str, tx_code: str | None) -> dict[str, Any]:
    """token_exchange, with a wrong transaction code counted (the failed exchange's transaction rolls back)."""
    try:
        return token_exchange(grant_type=grant_type, code=code, tx_code=tx_code)
    except _WrongTxCode as exc:
        from django.db.models import F

        CredentialOffer.objects.filter(pk=exc.offer_id).update(failed_tx_attempts=F("failed_tx_attempts") + 1)
        raise


def nonce_new(*, access_token: str | None) -> dict[str, Any]:
    nonce = secrets.token_urlsafe(16)
    if access_token:
        CredentialOffer.objects.filter(token_hash=_hash(access_token), issued_at__isnull=True).update(c_nonce=nonce)
    return {"c_nonce": nonce}


def _offer_for_token(access_token: str) -> CredentialOffer:
    row = (
        CredentialOffer.objects.select_for_update().filter(token_hash=_hash(access_token)).first()
        if access_token
        else None
    )
    if row is None or row.token_expires_at is None or row.token_expires_at <= timezone.now():
        raise OAuthError("invalid_token", "The access token is unknown or expired.", status=401)
    return row


def _holder_key_from_proof(proof_jwt: str, nonce: str) -> Any:
    """Check the wallet's proof of possession (typ openid4vci-proof+jwt, its key in the header, our issuer as aud,
    our nonce, recent) and return its public key (a jwcrypto JWK)."""
    from jwcrypto import jwk, jws

    try:
        token = jws.JWS()
        token.deserialize(proof_jwt)
        header = token.jose_header
        if header.get("typ") != "openid4vci-proof+jwt":
            raise OAuthError("invalid_proof", "The proof must have typ openid4vci-proof+jwt.")
        if header.get("alg") not in ("EdDSA", "ES256"):
            raise OAuthError("invalid_proof", "The proof's algorithm is not accepted.")
        if "jwk" not in header or "d" in header["jwk"]:
            raise OAuthError("invalid_proof", "The proof must carry the wallet's public key as jwk.")
        holder = jwk.JWK(**header["jwk"])
        token.verify(holder, alg=header["alg"])
        claims = json.loads(token.payload)
    except OAuthError:
        raise
    except Exception as exc:  # jwcrypto raises several types for malformed input; all mean "not a valid proof"
        raise OAuthError("invalid_proof", f"The proof is not a valid signed JWT ({type(exc).__name__}).") from None
    if claims.get("aud") != issuer_url():
        raise OAuthError("invalid_proof", "The proof is not addressed to this issuer (aud).")
    if not nonce or claims.get("nonce") != nonce:
        raise OAuthError("invalid_nonce", "The proof's nonce is missing or stale; ask for a new nonce.")
    iat = claims.get("iat")
    if not isinstance(iat, int) or abs(time.time() - iat) > PROOF_MAX_AGE_S:
        raise OAuthError("invalid_proof", "The proof is too old or from the future (iat).")
    return holder


def _card_claims(card: Card) -> tuple[dict[str, Any], dict[str, Any]]:
    holder = selectors.card_holder(card)
    expires = datetime.datetime.combine(card.expires_on, datetime.time(23, 59, 59), tzinfo=datetime.UTC)
    always = {
        "program": {"code": card.program.code, "name": card.program.name},
        "enrolled": True,
        "valid_until": card.expires_on.isoformat(),
        "exp": int(expires.timestamp()),
        "status": {"status_list": {"idx": card.status_index, "uri": selectors.status_list_url(card.status_list_id)}},
    }
    hidden = {
        "registrant_id": holder.registrant_id if card.individual_id and holder else card.household.registrant_id,
        "given_name": holder.given_name if holder else None,
        "family_name": holder.family_name if holder else None,
        "birthdate": holder.birth_date.isoformat() if holder and holder.birth_date else None,
    }
    return always, {k: v for k, v in hidden.items() if v}


@transaction.atomic
def credential_issue(*, access_token: str, body: dict[str, Any]) -> dict[str, Any]:
    from jwcrypto import jwk
    from sd_jwt.common import SDObj
    from sd_jwt.issuer import SDJWTIssuer

    row = _offer_for_token(access_token)
    if row.issued_at is not None:
        raise OAuthError("invalid_token", "A credential was already issued for this offer.", status=401)
    requested = body.get("credential_configuration_id")
    if requested != CONFIGURATION_ID:
        raise OAuthError("invalid_credential_request", f"credential_configuration_id must be {CONFIGURATION_ID}.")
    proofs = body.get("proofs") or {}
    jwts = proofs.get("jwt") if isinstance(proofs, dict) else None
    if not jwts and isinstance(body.get("proof"), dict) and body["proof"].get("proof_type") == "jwt":
        jwts = [body["proof"].get("jwt")]
    if not jwts or not isinstance(jwts, list) or len(jwts) != 1 or not isinstance(jwts[0], str):
        raise OAuthError("invalid_proof", "Send exactly one proof of possession in proofs.jwt.")
    holder = _holder_key_from_proof(jwts[0], row.c_nonce)
    card = Card.objects.select_related("program", "household", "individual").get(pk=row.card_id)
    if card.status not in ("approved", "printed", "distributed"):
        raise OAuthError("credential_request_denied", f"Card {card.code} is {card.status}.", status=400)
    always, hidden = _card_claims(card)
    key = keys.signing_key("EdDSA")
    user_claims = {
        "iss": issuer_url(),
        "iat": int(time.time()),
        "vct": vct(),
        **always,
        **{SDObj(name): value for name, value in hidden.items()},
    }
    issuer = SDJWTIssuer(
        user_claims,
        jwk.JWK(**keys.private_jwk(key)),
        holder_key=holder,
        sign_alg="EdDSA",
        add_decoy_claims=True,
        extra_header_parameters={"typ": "dc+sd-jwt", "kid": key.kid},
    )
    CredentialOffer.objects.filter(pk=row.pk).update(issued_at=timezone.now(), c_nonce="")
    services.credential_event(kind="issued", card=card, via="openid4vci", offer=row.pk, kid=key.kid)
    return {"credentials": [{"credential": issuer.sd_jwt_issuance}]}


def verify_presentation(presentation: str, *, audience: str, nonce: str) -> dict[str, Any]:
    """A holder's SD-JWT VC presentation checked as a verifier would: issuer signature (our published keys, by kid),
    disclosures against their digests, and the key-binding JWT (audience, nonce, sd_hash) under the bound key.
    Returns the disclosed payload; raises OAuthError("invalid_presentation") otherwise."""
    from jwcrypto import jwk
    from sd_jwt.verifier import SDJWTVerifier

    by_kid = {k.kid: k for k in keys.issuer_keys()}

    def issuer_key(issuer: str, header: dict) -> Any:
        if issuer != issuer_url():
            raise ValueError(f"issuer {issuer} is not this issuer")
        key = by_kid.get(header.get("kid"))
        if key is None:
            raise ValueError(f"unknown key id {header.get('kid')!r}")
        return jwk.JWK(**keys.public_jwk(key))

    class Verifier(SDJWTVerifier):
        # The reference verifier checks the key-binding JWT as ES256 whatever its header says; take the header's
        # algorithm, from the two this issuer accepts for holder keys.
        def _verify_key_binding_jwt(self, expected_aud=None, expected_nonce=None, sign_alg=None):
            from jwcrypto.jws import JWS

            probe = JWS()
            probe.deserialize(self._unverified_input_key_binding_jwt)
            alg = probe.jose_header.get("alg")
            if alg not in ("EdDSA", "ES256"):
                raise ValueError("key-binding JWT algorithm not accepted")
            return super()._verify_key_binding_jwt(expected_aud, expected_nonce, sign_alg=alg)

    try:
        verifier = Verifier(presentation, issuer_key, expected_aud=audience, expected_nonce=nonce)
        payload = verifier.get_verified_payload()
    except Exception as exc:  # the reference verifier raises ValueError and jwcrypto's own errors
        raise OAuthError("invalid_presentation", f"The presentation does not verify: {exc}") from None
    if payload.get("exp") and payload["exp"] < time.time():
        raise OAuthError("invalid_presentation", "The credential has expired.")
    return payload
