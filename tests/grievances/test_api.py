import hashlib
import hmac
import json

import pytest
from django.test import override_settings

from grievances.models import Message, Ticket, TicketEvent
from tests.factories import UserFactory
from tests.grievances.factories import officer, team, ticket

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/grievances/tickets/"
PUBLIC = "/public/v1/grievances/"


def test_an_officer_logs_a_call_centre_ticket_and_moves_it_to_a_decision(client_for, two_districts):
    _, west, _ = two_districts
    west_team = team("West", west)
    client = client_for(officer(west))
    response = client.post(
        TICKETS,
        {
            "channel": "call_centre",
            "category": "payment-not-received",
            "description": "No transfer in November.",
            "area": west.code,
            "complainant_name": "Rahima",
            "complainant_phone": "+8801711000000",
            "language": "bn",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["team"] == west_team.name and body["status"] == "received"
    assert body["clocks"] == {"acknowledgement": "on_track", "resolution": "on_track"}
    pk = body["id"]
    assert client.post(f"{TICKETS}{pk}/acknowledge/", {}).json()["status"] == "acknowledged"
    assert client.post(f"{TICKETS}{pk}/start/", {}).json()["status"] == "in_progress"
    decided = client.post(f"{TICKETS}{pk}/decide/", {"outcome": "upheld", "reason": "Paid in the next batch."})
    assert decided.status_code == 200 and decided.json()["outcome"] == "upheld"
    kinds = [event["kind"] for event in decided.json()["events"]]
    assert kinds == ["created", "assigned", "acknowledged", "started", "decided"]
    messages = Message.objects.filter(ticket_id=pk).order_by("id")
    assert [(m.kind, m.medium, m.language) for m in messages] == [
        ("acknowledged", "sms", "bn"),
        ("decided", "sms", "bn"),
    ]
    assert "GRV-" in messages[0].body and "আমরা" in messages[0].body
    refused = client.post(f"{TICKETS}{pk}/acknowledge/", {})
    assert refused.status_code == 400 and "status" in refused.json()


def test_walk_in_needs_its_distribution_point(client_for, two_districts):
    _, west, _ = two_districts
    response = client_for(officer(west)).post(
        TICKETS, {"channel": "walk_in", "category": "distribution-point", "description": "Closed at noon."}
    )
    assert response.status_code == 400 and "distribution_point" in response.json()


def test_officers_outside_the_area_or_team_cannot_read_a_ticket(client_for, two_districts):
    _, west, east = two_districts
    insider = officer(west)
    outsider = officer(east)
    protection_member = officer(west)
    team("West", west)
    team("Protection", west, sensitive=True, members=[protection_member])
    ordinary = ticket(insider, area=west)
    sensitive = ticket(insider, area=west, category="gbv-sea", description="An aid worker asked for favours.")
    assert client_for(insider).get(f"{TICKETS}{ordinary.pk}/").status_code == 200
    assert client_for(outsider).get(f"{TICKETS}{ordinary.pk}/").status_code == 404
    # The officer who logged it, in the area but outside the protection team, no longer sees it.
    assert client_for(insider).get(f"{TICKETS}{sensitive.pk}/").status_code == 404
    assert client_for(outsider).get(f"{TICKETS}{sensitive.pk}/").status_code == 404
    assert client_for(protection_member).get(f"{TICKETS}{sensitive.pk}/").status_code == 200
    listed = {row["id"] for row in client_for(insider).get(TICKETS).json()["results"]}
    assert listed == {ordinary.pk}
    assert client_for(insider).post(f"{TICKETS}{sensitive.pk}/acknowledge/", {}).status_code == 404


def test_complainant_contact_only_with_the_personal_data_permission(client_for, two_districts):
    _, west, _ = two_districts
    made = ticket(officer(west), area=west, complainant_name="Karim", complainant_phone="+8801800000000")
    reader = UserFactory(roles=["auditor"], areas=[west])
    withheld = client_for(reader).get(f"{TICKETS}{made.pk}/")
    assert withheld.status_code == 200 and withheld.json()["complainant_name"] is None
    shown = client_for(officer(west)).get(f"{TICKETS}{made.pk}/").json()
    assert shown["complainant_name"] == "Karim" and shown["complainant_phone"] == "+8801800000000"


def test_an_appeal_is_decided_by_another_officer(client_for, two_districts):
    _, west, _ = two_districts
    first, second = officer(west), officer(west)
    made = ticket(first, area=west)
    one, two = client_for(first), client_for(second)
    assert (
        one.post(f"{TICKETS}{made.pk}/decide/", {"outcome": "rejected", "reason": "Not eligible."}).status_code == 200
    )
    assert one.post(f"{TICKETS}{made.pk}/appeal/", {"reason": "My household has six members."}).json()["status"] == (
        "appealed"
    )
    refused = one.post(f"{TICKETS}{made.pk}/decide-appeal/", {"outcome": "upheld", "reason": "Recounted."})
    assert refused.status_code == 400 and "another officer" in json.dumps(refused.json())
    decided = two.post(f"{TICKETS}{made.pk}/decide-appeal/", {"outcome": "upheld", "reason": "Recounted."})
    assert decided.status_code == 200
    assert decided.json()["appeal_outcome"] == "upheld" and decided.json()["outcome"] == "rejected"
    assert decided.json()["status"] == "resolved"
    bad = one.post(f"{TICKETS}{made.pk}/decide/", {"outcome": "maybe", "reason": "x"})
    assert bad.status_code == 400 and "outcome" in bad.json()


def test_the_public_form_accepts_anonymous_complaints_and_answers_with_the_code(api_client, two_districts):
    _, west, _ = two_districts
    response = api_client.post(
        f"{PUBLIC}complaints/",
        {"category": "fraud-corruption", "description": "The agent keeps 10%.", "area": west.code, "anonymous": True},
    )
    assert response.status_code == 201, response.json()
    reference, code = response.json()["reference"], response.json()["followup_code"]
    stored = Ticket.objects.get(reference=reference)
    assert stored.anonymous and stored.channel == "web" and stored.sensitive
    assert code.replace("-", "") not in stored.followup_hash and len(stored.followup_hash) == 64
    status = api_client.post(f"{PUBLIC}status/", {"reference": reference.lower(), "code": code.lower()})
    assert status.status_code == 200 and status.json()["status"] == "received"
    assert "complainant_name" not in status.json()
    wrong = api_client.post(f"{PUBLIC}status/", {"reference": reference, "code": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == 404 and "reference" in wrong.json()
    refused = api_client.post(
        f"{PUBLIC}complaints/", {"category": "x", "description": "y", "anonymous": True, "complainant_name": "Me"}
    )
    assert refused.status_code == 400


def _signed(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@override_settings(GRIEVANCE_SMS_SECRET="s3cret")
def test_the_sms_webhook_needs_a_good_signature_and_stores_nothing_otherwise(api_client):
    body = json.dumps({"id": "m-1", "from": "+8801711111111", "text": "payment-not-received no money"}).encode()
    before = Ticket.objects.count()
    for headers in ({}, {"HTTP_X_SPMIS_SIGNATURE": _signed(body, "wrong")}):
        response = api_client.post(f"{PUBLIC}sms/", body, content_type="application/json", **headers)
        assert response.status_code == 401 and "signature" in response.json()
    assert Ticket.objects.count() == before
    good = {"HTTP_X_SPMIS_SIGNATURE": _signed(body, "s3cret")}
    response = api_client.post(f"{PUBLIC}sms/", body, content_type="application/json", **good)
    assert response.status_code == 201
    made = Ticket.objects.get(reference=response.json()["reference"])
    assert made.channel == "sms" and made.category.code == "payment-not-received" and made.description == "no money"
    again = api_client.post(f"{PUBLIC}sms/", body, content_type="application/json", **good)
    assert again.json()["reference"] == made.reference and Ticket.objects.count() == before + 1


def test_the_sms_webhook_is_off_without_a_secret(api_client):
    response = api_client.post(f"{PUBLIC}sms/", b"{}", content_type="application/json")
    assert response.status_code == 404 and "off" in response.json()["detail"]


def test_the_gateway_pulls_pending_sms_and_marks_them_sent(client_for, two_districts):
    _, west, _ = two_districts
    user = officer(west)
    made = ticket(user, area=west, complainant_phone="+8801711000001")
    client = client_for(user)
    client.post(f"{TICKETS}{made.pk}/acknowledge/", {})
    pending = client.get("/api/v1/grievances/sms-outbox/").json()
    assert [row["recipient"] for row in pending] == ["+8801711000001"]
    assert client.post("/api/v1/grievances/sms-outbox/sent/", {"ids": [pending[0]["id"]]}).json() == {"marked": 1}
    assert client.get("/api/v1/grievances/sms-outbox/").json() == []


def test_history_is_recorded_for_every_step(two_districts):
    _, west, _ = two_districts
    made = ticket(officer(west), area=west)
    assert list(TicketEvent.objects.filter(ticket=made).values_list("kind", flat=True)) == ["created"]
