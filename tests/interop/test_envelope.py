"""The signed envelope: what is refused (and then nothing is stored), what is accepted, and that our answers
verify with the keys we publish."""

from __future__ import annotations

import json
import time

import pytest

from interop.dci.models import DCITransaction
from tests.interop.sender import Sender, expression, search_message, verify_ours

pytestmark = pytest.mark.django_db

MESSAGE = search_message(expression("household_size", "ge", 1))


def error_of(response) -> tuple[str, str]:
    body = response.json()
    assert (
        body["header"]["status"] == "rjct" and body["header"]["status_reason_message"] == body["errors"][0]["message"]
    )
    return body["errors"][0]["code"], body["errors"][0]["message"]


def test_a_signed_request_is_answered_with_a_signed_envelope_that_verifies_with_our_jwks(make_sender, post, client):
    sender = make_sender()
    response = post("/sync/search", sender.envelope(MESSAGE))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["header"]["action"] == "on-search" and body["header"]["receiver_id"] == "sp-system"
    jwks = client.get("/.well-known/dci/jwks.json").json()
    assert verify_ours(body, jwks)
    body["message"]["search_response"][0]["status"] = "rjct"
    assert not verify_ours(body, jwks)
    assert DCITransaction.objects.get().status == "succ"


def _unsigned(sender):
    envelope = sender.envelope(MESSAGE)
    del envelope["signature"]
    return envelope


def _unknown_sender(sender):
    stranger = Sender("stranger")
    header = stranger.header()
    return stranger.envelope(MESSAGE, header=header)


def _tampered(sender):
    envelope = sender.envelope(MESSAGE)
    envelope["message"] = search_message(expression("household_size", "ge", 0))
    return envelope


def _tampered_header(sender):
    envelope = sender.envelope(MESSAGE)
    envelope["header"]["message_id"] = "another"
    return envelope


def _other_key(sender):
    impostor = Sender(sender.sender_id, kid=sender.kid)  # same sender and kid, another private key
    return impostor.envelope(MESSAGE)


def _unknown_kid(sender):
    return sender.envelope(MESSAGE, kid="k9")


def _expired(sender):
    return sender.envelope(MESSAGE, created=int(time.time()) - 7200, validity=600)


def _future(sender):
    return sender.envelope(MESSAGE, created=int(time.time()) + 3600)


def _kid_of_another_sender(sender):
    envelope = sender.envelope(MESSAGE)
    envelope["signature"] = envelope["signature"].replace('kidId="sp-system|', 'kidId="other|')
    return envelope


def _rsa_algorithm(sender):
    envelope = sender.envelope(MESSAGE)
    envelope["signature"] = envelope["signature"].replace('algorithm="ed25519"', 'algorithm="rsa-sha256"')
    return envelope


def _placeholder(sender):
    # The spec's sample signature, verbatim.
    envelope = sender.envelope(MESSAGE)
    envelope["signature"] = (
        'Signature:  namespace="dci", kidId="{sender_id}|{unique_key_id}|{algorithm}", algorithm="ed25519", '
        'created="1606970629", expires="1607030629", headers="(created) (expires) digest", '
        'signature="Base64(signing content)'
    )
    return envelope


def _header_not_object(sender):
    envelope = sender.envelope(MESSAGE)
    envelope["header"] = "sp-system"
    return envelope


def _no_message(sender):
    envelope = sender.envelope(MESSAGE)
    del envelope["message"]
    return envelope


def _wrong_action(sender):
    header = sender.header("txn-status")
    return sender.envelope(MESSAGE, header=header)


def _wrong_receiver(sender):
    header = sender.header(receiver_id="someone-else")
    return sender.envelope(MESSAGE, header=header)


def _encrypted(sender):
    header = sender.header(is_msg_encrypted=True)
    return sender.envelope(MESSAGE, header=header)


def _bad_timestamp(sender):
    header = sender.header(message_ts="yesterday")
    return sender.envelope(MESSAGE, header=header)


def _no_search_request(sender):
    return sender.envelope({"transaction_id": "t1"})


@pytest.mark.parametrize(
    ("build", "status", "code", "words"),
    [
        (_unsigned, 401, "err.signature.missing", "no signature"),
        (_unknown_sender, 403, "err.sender_id.invalid", "stranger is not registered"),
        (_tampered, 401, "err.signature.invalid", "does not match"),
        (_tampered_header, 401, "err.signature.invalid", "does not match"),
        (_other_key, 401, "err.signature.invalid", "does not match"),
        (_unknown_kid, 401, "err.signature.invalid", "key id k9 is not among"),
        (_expired, 401, "err.signature.invalid", "expired"),
        (_future, 401, "err.signature.invalid", "future"),
        (_kid_of_another_sender, 401, "err.sender_id.invalid", "another sender"),
        (_rsa_algorithm, 401, "err.signature.invalid", "ed25519"),
        (_placeholder, 401, "err.signature.invalid", "kidid"),
        (_header_not_object, 400, "err.request.bad", "header must be an object"),
        (_no_message, 400, "err.request.bad", "no message"),
        (_wrong_action, 400, "err.request.bad", 'action must be "search"'),
        (_wrong_receiver, 400, "err.receiver_id.invalid", "receiver_id must be spmis"),
        (_encrypted, 400, "err.encryption.invalid", "not supported"),
        (_bad_timestamp, 400, "err.request.bad", "message_ts"),
        (_no_search_request, 400, "err.request.bad", "search_request"),
    ],
)
def test_refused_envelopes_say_why_and_store_nothing(make_sender, post, build, status, code, words):
    sender = make_sender()
    response = post("/sync/search", build(sender))
    assert response.status_code == status, response.content
    assert error_of(response)[0] == code
    assert words.lower() in error_of(response)[1].lower()
    assert not DCITransaction.objects.exists()


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"text"'])
def test_bodies_that_are_no_envelope_are_refused(make_sender, post, body):
    make_sender()
    response = post("/sync/search", body)
    assert response.status_code in (400, 401)
    assert error_of(response)[0] in ("err.signature.missing", "err.request.bad")
    assert not DCITransaction.objects.exists()


def test_a_replayed_message_id_is_refused_and_changes_nothing(make_sender, post):
    sender = make_sender()
    envelope = sender.envelope(MESSAGE)
    assert post("/sync/search", envelope).status_code == 200
    again = post("/sync/search", envelope)
    assert again.status_code == 409
    assert "already received" in error_of(again)[1]
    assert again.json()["header"]["status_reason_code"] == "rjct.message_id.duplicate"
    assert DCITransaction.objects.count() == 1
    # Another sender may use the same message_id.
    other = make_sender("other-system")
    header = {**envelope["header"], "sender_id": "other-system"}
    assert post("/sync/search", other.envelope(MESSAGE, header=header)).status_code == 200
    assert DCITransaction.objects.count() == 2


def test_a_disabled_sender_is_refused(make_sender, post):
    sender = make_sender()
    sender.row.is_active = False
    sender.row.save()
    response = post("/sync/search", sender.envelope(MESSAGE))
    assert response.status_code == 403 and error_of(response)[0] == "err.sender_id.invalid"


def test_a_service_user_without_the_search_permission_is_refused(make_sender, post):
    sender = make_sender()
    sender.row.service_user.groups.clear()
    response = post("/sync/search", sender.envelope(MESSAGE))
    assert response.status_code == 403 and error_of(response)[0] == "err.request.forbidden"
    assert not DCITransaction.objects.exists()


def test_get_is_not_served(make_sender, client):
    make_sender()
    assert client.get("/api/v1/interop/dci/registry/sync/search").status_code in (401, 405)


def test_our_jwks_holds_public_ed25519_keys_only(client):
    keys = client.get("/.well-known/dci/jwks.json").json()["keys"]
    assert keys and all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k and k["kid"] for k in keys)


def test_the_signed_bytes_are_the_canonical_header_and_message():
    """The server's envelope module and the test sender agree on the digest of a message with non-ASCII text."""
    from interop.dci import envelope

    sender = Sender()
    header, message = sender.header(), {"b": "Dhākā", "a": [1, 2.5]}
    params = envelope.parse_signature(sender.signature(header, message))
    from cryptography.hazmat.primitives.asymmetric import ed25519

    raw = sender.key.as_dict(private=False)["x"]
    import base64

    public = ed25519.Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    envelope.verify(params, json.loads(json.dumps(header)), message, public)
