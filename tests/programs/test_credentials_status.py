"""The W3C Bitstring Status List: published without an account, cacheable (ETag, 304), signed as vc+jwt that joserfc
verifies against the published JWKS; revoking a card flips exactly its bit."""

from __future__ import annotations

import itertools
import json

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from programs.credentials import claim169, status
from programs.credentials.models import Card, StatusList
from tests.programs.factories_credentials import request_card, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_status_list_published_cacheable_and_flipped_by_revocation(world, client):  # noqa: F811
    program, household, _, requester, approver, _, _ = world
    card_id = request_card(requester, program, household).json()["id"]
    approver.post(f"/api/v1/programs/cards/{card_id}/approve/")
    card = Card.objects.get(pk=card_id)
    qr = requester.get(f"/api/v1/programs/cards/{card_id}/qr/").json()["qr"]
    decoded = claim169.decode(qr, None, require_signature=False)
    url = decoded.status_uri
    assert decoded.status_index == card.status_index
    assert url.endswith(f"/.well-known/status-lists/{card.status_list_id}")
    path = url[url.index("/.well-known/") :]

    before = client.get(path)  # anonymous: verifiers have no account
    assert before.status_code == 200
    assert "max-age=300" in before["Cache-Control"] and before["ETag"]
    body = before.json()
    assert body["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert body["credentialSubject"]["statusPurpose"] == "revocation"
    bits = status.decode_list(body["credentialSubject"]["encodedList"])
    assert len(bits) * 8 >= 131072 and status.bit(bits, card.status_index) == 0
    assert client.get(path, HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304

    requester.post(f"/api/v1/programs/cards/{card_id}/revoke/", {"reason": "left the district"}, format="json")
    after = client.get(path, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    new_bits = status.decode_list(after.json()["credentialSubject"]["encodedList"])
    assert status.bit(new_bits, card.status_index) == 1
    # exactly one bit changed
    assert sum(bin(a ^ b).count("1") for a, b in zip(bits, new_bits, strict=True)) == 1

    # The signed form, checked by a different JOSE stack against the published keys.
    token = client.get(path + "?format=jwt")
    assert token["Content-Type"] == "application/vc+jwt"
    keyset = KeySet.import_key_set(client.get("/.well-known/jwks.json").json())
    verified = jws.deserialize_compact(token.content.decode(), keyset, algorithms=["EdDSA"])
    claims = json.loads(verified.payload)
    assert verified.headers()["typ"] == "vc+jwt"
    assert status.bit(status.decode_list(claims["credentialSubject"]["encodedList"]), card.status_index) == 1


def test_unknown_status_list_is_404(client):
    assert client.get("/.well-known/status-lists/999999").status_code == 404
    assert not StatusList.objects.exists()


def test_indexes_are_spread_and_unique(world):  # noqa: F811
    from django.db import transaction

    from programs.credentials.services import _allocate_status_index

    with transaction.atomic():
        got = [_allocate_status_index()[1] for _ in range(200)]
    assert len(set(got)) == 200
    assert max(abs(a - b) for a, b in itertools.pairwise(got)) > 1000  # neighbours are far apart
