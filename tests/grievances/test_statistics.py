import datetime

import pytest
from django.utils import timezone

from grievances.models import Ticket
from tests.factories import UserFactory
from tests.grievances.factories import officer, ticket

pytestmark = pytest.mark.django_db
STATISTICS = "/api/v1/grievances/statistics/"


@pytest.fixture
def tickets(two_districts):
    _, west, east = two_districts
    user = officer()
    now = timezone.now()
    for days in range(12):
        made = ticket(user, area=west, now=now - datetime.timedelta(days=20))
        Ticket.objects.filter(pk=made.pk).update(
            outcome="upheld", status="resolved", resolved_at=made.created_at + datetime.timedelta(days=days + 1)
        )
    for _ in range(3):
        ticket(user, area=east, category="gbv-sea", description="Sensitive case.")
    return west, east


def test_partners_read_k_anonymous_counts_with_the_median_time(client_for, tickets, settings):
    settings.SPMIS = {**settings.SPMIS, "PUBLISH_MIN_CELL": 10}
    west, east = tickets
    response = client_for(roles=["partner"]).get(STATISTICS)
    assert response.status_code == 200, response.json()
    rows = {(row["category"], row["district"], row["outcome"]): row for row in response.json()["rows"]}
    upheld = rows[("payment-not-received", west.code, "upheld")]
    assert upheld["count"] == 12 and upheld["median_days_to_resolution"] == 6.5 and not upheld["suppressed"]
    small = rows[("gbv-sea", east.code, "open")]
    assert small["count"] is None and small["suppressed"] and small["median_days_to_resolution"] is None
    assert response.json()["suppressed"] == 1


def test_statistics_need_the_statistics_permission(client_for, tickets):
    assert client_for(roles=["gis_analyst"]).get(STATISTICS).status_code == 403
    partner = client_for(roles=["partner"])
    assert partner.get("/api/v1/grievances/tickets/").status_code == 403
    bad = partner.get(STATISTICS, {"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()


def test_a_date_window_limits_the_counts(client_for, tickets, settings):
    settings.SPMIS = {**settings.SPMIS, "PUBLISH_MIN_CELL": 1}
    since = (timezone.now() - datetime.timedelta(days=2)).date().isoformat()
    rows = client_for(UserFactory(roles=["partner"])).get(STATISTICS, {"since": since}).json()["rows"]
    assert [(row["category"], row["count"]) for row in rows] == [("gbv-sea", 3)]
