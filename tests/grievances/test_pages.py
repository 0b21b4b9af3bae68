import pytest
from django.test import Client

from grievances.models import Ticket
from tests.grievances.factories import officer, team, ticket

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_queue_intake_and_ticket_pages(two_districts):
    _, west, east = two_districts
    team("West", west)
    user = officer(west)
    client = _client(user)
    assert 'href="/grievances/"' in client.get("/grievances/").content.decode()
    response = client.post(
        "/grievances/new/",
        {
            "channel": "call_centre",
            "category": "payment-wrong-amount",
            "description": "Got 1000 not 3000.",
            "area": west.code,
            "complainant_phone": "+8801711000002",
            "language": "en",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    made = Ticket.objects.get(description="Got 1000 not 3000.")
    assert made.channel == "call_centre" and made.created_by == user
    queue = client.get("/grievances/").content.decode()
    assert made.reference in queue and "on_track" in queue
    page = client.get(f"/grievances/{made.pk}/").content.decode()
    assert "+8801711000002" in page and "created" in page
    assert client.post(f"/grievances/{made.pk}/", {"action": "acknowledge"}).status_code == 302
    refused = client.post(f"/grievances/{made.pk}/", {"action": "decide", "outcome": "upheld", "reason": ""})
    assert refused.status_code == 400 and "reason" in refused.content.decode()
    other = ticket(officer(east), area=east)
    assert client.get(f"/grievances/{other.pk}/").status_code == 404
    bad = client.post("/grievances/new/", {"channel": "walk_in", "category": "other", "description": "x"})
    assert bad.status_code == 400 and "distribution point" in bad.content.decode()


def test_the_public_complaint_page_needs_no_sign_in():
    client = Client()
    assert client.get("/complaint/").status_code == 200
    response = client.post(
        "/complaint/",
        {"form": "complaint", "category": "staff-conduct", "description": "Rude staff.", "anonymous": "on"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "complaint-reference" in html
    made = Ticket.objects.get(description="Rude staff.")
    assert made.anonymous and made.reference in html
    code = html.split('id="complaint-code">')[1].split("<")[0]
    found = client.post("/complaint/", {"form": "status", "reference": made.reference, "code": code})
    assert "Received" in found.content.decode()
    assert client.get("/grievances/").status_code == 302
