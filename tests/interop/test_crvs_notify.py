"""The notify endpoint: signed CRVS events stored once, matched by national ID or registry ID, turned into change
requests for a second person; anything unverifiable or malformed refused with words and nothing stored."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from rest_framework.test import APIClient

from interop.crvs.models import CrvsEvent
from registry.models import ChangeRequest, Individual
from registry.services import change_request_approve
from tests.factories import UserFactory
from tests.interop.crvs_setup import (  # noqa: F401  (fixtures)
    BRN,
    UIN,
    sample_person_fixture,
    source_fixture,
    standin_fixture,
    subscribed_fixture,
)
from tests.interop.crvs_standin import sample_record

pytestmark = pytest.mark.django_db
NOTIFY = "/api/v1/interop/crvs/notify"


def deliver(body) -> tuple[int, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = APIClient().post(NOTIFY, data=raw, content_type="application/json")
    return response.status_code, response.json()


def death_record(uin: str = UIN, date: str = "2026-11-01") -> dict:
    record = sample_record()
    record["identifier"][0]["identifier_value"] = uin
    record["identifier"].append({"identifier_type": "DRN", "identifier_value": "DRN-2026-1"})
    record["death_date"] = date
    return record


def birth_record() -> dict:
    record = sample_record()
    record["identifier"] = [{"identifier_type": "BRN", "identifier_value": BRN}]
    record["name"].update(given_name="Mali", surname="Phumchai", prefix="", suffix="")
    record.update(sex="female", birth_date="2026-10-28T06:10:00", marital_status="S")
    return record


def test_a_death_is_stored_once_and_proposed_for_a_second_person(standin, subscribed, sample_person):
    message = standin.notify_message([("EV-1", death_record())], subscription_code="SUB-death")
    status, body = deliver(standin.envelope("notify", message))
    assert status == 200, body
    assert body["message"]["ack_status"] == "ACK" and body["message"]["stored"] == 1
    event = CrvsEvent.objects.get()
    assert (event.outcome, event.individual_id, str(event.occurred_on)) == ("proposed", sample_person.pk, "2026-11-01")
    change = event.change_request
    assert (change.kind, change.individual_id, change.payload["death_date"]) == (
        "death",
        sample_person.pk,
        "2026-11-01",
    )
    assert "DRN-2026-1" in change.payload["reference"]

    # Redelivered (same message, or the same event in a new message): acknowledged, nothing changes.
    again = standin.notify_message([("EV-1", death_record())], subscription_code="SUB-death")
    for envelope in (standin.envelope("notify", message), standin.envelope("notify", again)):
        status, body = deliver(envelope)
        assert status == 200 and body["message"]["duplicates"] == 1 and body["message"]["stored"] == 0
    assert CrvsEvent.objects.count() == 1 and ChangeRequest.objects.count() == 1

    sample_person.refresh_from_db()
    assert sample_person.status == "active"  # nothing applied before a person approves
    change_request_approve(user=UserFactory(is_superuser=True), request_id=change.pk)
    sample_person.refresh_from_db()
    assert (sample_person.status, str(sample_person.status_date)) == ("deceased", "2026-11-01")


def test_a_death_matched_by_registry_id_and_by_event_type(standin, subscribed, sample_person):
    record = death_record(uin="000000000")
    record["identifier"].append({"identifier_type": "RID", "identifier_value": sample_person.registrant_id})
    message = standin.notify_message([("EV-2", record)])
    message["notify_event"][0]["data"]["reg_event_type"] = "spdci-common:RegistryEventType:Death"
    status, body = deliver(standin.envelope("notify", message))
    assert status == 200, body
    assert CrvsEvent.objects.get().change_request.individual_id == sample_person.pk


def test_a_birth_proposes_the_child_in_the_parents_household(standin, subscribed, sample_person):
    message = standin.notify_message([("EV-B1", birth_record())], subscription_code="SUB-live_birth")
    status, body = deliver(standin.envelope("notify", message))
    assert status == 200, body
    event = CrvsEvent.objects.get()
    household = sample_person.memberships.get().household
    assert (event.outcome, event.household_id) == ("proposed", household.pk)
    change = change_request_approve(user=UserFactory(is_superuser=True), request_id=event.change_request_id)
    child = Individual.objects.get(pk=change.individual_id)
    assert (child.given_name, child.family_name, child.sex, str(child.birth_date)) == (
        "Mali",
        "Phumchai",
        "F",
        "2026-10-28",
    )
    assert list(child.documents.values_list("id_type__code", "number")) == [("brn", BRN)]
    assert child.memberships.get().household_id == household.pk

    # The same child notified again under another event id: matched, but refused (the BRN is held), with words.
    again = standin.notify_message([("EV-B2", birth_record())], subscription_code="SUB-live_birth")
    assert deliver(standin.envelope("notify", again))[0] == 200
    refused = CrvsEvent.objects.get(event_id="EV-B2")
    assert refused.outcome == "refused" and "already held" in refused.reason
    assert ChangeRequest.objects.count() == 1


def test_unmatched_events_are_listed_never_guessed(standin, subscribed, sample_person, client_for):
    # Same name and birth date as a registrant, but an identifier nobody holds: not matched.
    message = standin.notify_message(
        [("EV-U1", death_record(uin="111111111")), ("EV-U2", birth_record() | {"parent1_identifier": {}})],
        subscription_code=None,
    )
    message["notify_event"][0]["subscription_code"] = "SUB-death"
    message["notify_event"][1]["subscription_code"] = "SUB-live_birth"
    message["notify_event"][1]["data"]["reg_records"][0]["parent2_identifier"] = {
        "identifier_type": "UIN",
        "identifier_value": "999",
    }
    assert deliver(standin.envelope("notify", message))[0] == 200
    assert not ChangeRequest.objects.exists()
    officer = client_for(roles=["program_officer"])
    listed = officer.get("/api/v1/interop/crvs/events/?outcome=unmatched")
    assert listed.status_code == 200, listed.content
    rows = listed.json()["results"]
    assert {row["event_id"] for row in rows} == {"EV-U1", "EV-U2"}
    reasons = {row["event_id"]: row["reason"] for row in rows}
    assert "111111111" in reasons["EV-U1"] and "No parent" in reasons["EV-U2"]
    # Without the personal-data permission, neither the record nor the reason (it quotes identifiers).
    analyst = client_for(roles=["auditor"])
    reduced = analyst.get("/api/v1/interop/crvs/events/").json()["results"]
    assert reduced and all("record" not in row and "reason" not in row for row in reduced)
    assert client_for(roles=["gis_analyst"]).get("/api/v1/interop/crvs/events/").status_code == 403


def _tamper(envelope):
    envelope["message"]["notify_event"][0]["data"]["reg_records"][0]["death_date"] = "2020-01-01"
    return envelope


def _resign(standin, envelope):
    return standin.envelope("notify", envelope["message"], header=envelope["header"])


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        (lambda s, e: {**e, "signature": ""}, 401, "no signature"),
        (lambda s, e: _tamper(e), 401, "does not match"),
        (
            lambda s, e: s.envelope("notify", e["message"], sign_with=ed25519.Ed25519PrivateKey.generate()),
            401,
            "does not match",
        ),
        (lambda s, e: {**e, "signature": e["signature"].replace("crvs-key-1", "other-key")}, 401, "not among"),
        (lambda s, e: b"{not json", 400, "not JSON"),
        (lambda s, e: {**e, "header": {**e["header"], "sender_id": "someone"}}, 401, "not a CRVS registered"),
        (lambda s, e: s.envelope("notify", {"transaction_id": "t"}), 400, "notify_event"),
        (
            lambda s, e: s.envelope("notify", s.notify_message([("EV-9", death_record())], subscription_code="NOPE")),
            400,
            "subscription NOPE is not an active subscription",
        ),
        (lambda s, e: s.envelope("notify", s.notify_message([("EV-9", death_record())])), 400, "name the subscription"),
        (
            lambda s, e: s.envelope(
                "notify",
                s.notify_message([("EV-9", death_record()), ("EV-9", death_record())], subscription_code="SUB-death"),
            ),
            400,
            "appears twice",
        ),
        (lambda s, e: s.envelope("search", e["message"]), 400, 'header.action must be "notify"'),
        (lambda s, e: _resign(s, {**e, "header": {**e["header"], "is_msg_encrypted": True}}), 400, "Encrypted"),
        (lambda s, e: _resign(s, {**e, "header": {**e["header"], "receiver_id": "elsewhere"}}), 400, "receiver_id"),
    ],
    ids=[
        "unsigned",
        "tampered",
        "other-key",
        "unknown-kid",
        "malformed",
        "unknown-sender",
        "no-events",
        "unknown-subscription",
        "no-subscription",
        "duplicate-in-message",
        "wrong-action",
        "encrypted",
        "not-for-us",
    ],
)
def test_refused_with_words_and_nothing_stored(standin, subscribed, sample_person, change, status, words):
    good = standin.envelope("notify", standin.notify_message([("EV-1", death_record())], subscription_code="SUB-death"))
    got, body = deliver(change(standin, good))
    assert got == status, body
    assert words in body["errors"][0]["message"] and body["message"]["ack_status"] == "ERR"
    assert not CrvsEvent.objects.exists() and not ChangeRequest.objects.exists()


def test_a_staff_token_is_not_a_signature(standin, subscribed, client_for):
    officer = client_for(roles=["administrator"])
    response = officer.post(NOTIFY, data=b"{}", content_type="application/json")
    assert response.status_code == 400 and not CrvsEvent.objects.exists()
    unsigned = APIClient().get(NOTIFY)
    assert unsigned.status_code in (400, 401, 405)


ON_SUBSCRIBE = "/api/v1/interop/crvs/on-subscribe"


def _on_subscribe(standin, subscription, **answer) -> tuple[int, dict]:
    message = {
        "transaction_id": subscription.transaction_id,
        "correlation_id": "c1",
        "subscribe_response": [
            {"reference_id": subscription.reference_id, "timestamp": "2026-11-03T08:00:00Z", **answer}
        ],
    }
    response = APIClient().post(
        ON_SUBSCRIBE, data=json.dumps(standin.envelope("on-subscribe", message)), content_type="application/json"
    )
    return response.status_code, response.json()


def test_on_subscribe_activates_or_rejects_and_refuses_strangers(standin, source):
    from interop.crvs.models import CrvsSubscription

    death, birth = (
        CrvsSubscription.objects.create(
            source=source, event=event, transaction_id=f"t-{event}", reference_id=f"r-{event}", message_id="m"
        )
        for event in ("death", "live_birth")
    )
    status, body = _on_subscribe(
        standin, death, status="succ", subscriptions=[{"code": "SUB-9", "status": "subscribe"}]
    )
    assert status == 200 and body["message"]["ack_status"] == "ACK"
    status, _ = _on_subscribe(
        standin, birth, status="rjct", status_reason_code="rjct.notify_types.invalid", status_reason_message="No births"
    )
    assert status == 200
    death.refresh_from_db(), birth.refresh_from_db()
    assert (death.status, death.code) == ("active", "SUB-9")
    assert birth.status == "rejected" and "No births" in birth.error

    stranger = CrvsSubscription(transaction_id="t-unknown", reference_id="r-death")
    status, body = _on_subscribe(standin, stranger, status="succ", subscriptions=[{"code": "SUB-10"}])
    assert status == 400 and "no subscription of ours" in body["errors"][0]["message"]
    status, body = _on_subscribe(standin, birth, status="maybe")
    assert status == 400 and '"succ" or "rjct"' in body["errors"][0]["message"]
    assert not CrvsSubscription.objects.filter(code="SUB-10").exists()
