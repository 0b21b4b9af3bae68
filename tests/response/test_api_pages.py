"""The exposure-result list at registry scale: its page built in SQL matches the serializer, pages by keyset
through `next` (page numbers still work), flags an estimated count above the limit, and its query count is pinned."""

import json

import pytest
from django.contrib.gis.geos import Point
from django.test import TestCase
from rest_framework.renderers import JSONRenderer

from response import selectors
from response.api.serializers import ExposureResultSerializer
from response.services import exposure_run_start
from tests.factories import HouseholdFactory
from tests.response.factories import HazardZoneFactory, IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(two_districts):
    """An analysis of one zone over the west district holding seven households (one more outside it)."""
    _, west, _ = two_districts
    incident = IncidentFactory()
    incident.areas.add(west)
    HazardZoneFactory(incident=incident)  # 90.2–90.4 °E, 23.2–23.4 °N
    for i in range(7):
        HouseholdFactory(location=Point(90.21 + i * 0.02, 23.3, srid=4326))
    HouseholdFactory(location=Point(90.9, 23.9, srid=4326))
    with TestCase.captureOnCommitCallbacks(execute=True):
        return exposure_run_start(incident=incident, user=None)


def url(run):
    return f"/api/v1/response/exposure-runs/{run.pk}/results/"


def test_result_page_matches_the_serializer_and_pages_by_keyset(run, client_for, settings):
    client = client_for(roles=["emergency_coordinator"])
    body = client.get(url(run)).json()
    rows = selectors.exposure_result_list(run=run, user=client.user).select_related("hazard_class", "area")
    expected = json.loads(JSONRenderer().render(ExposureResultSerializer(rows, many=True).data))
    assert body["results"] == expected and len(expected) == 7
    assert body["count"] == 7 and body["count_is_estimate"] is False

    seen, link = [], f"{url(run)}?page_size=3"
    while link:
        page = client.get(link).json()
        seen += [row["household"] for row in page["results"]]
        link = page["next"]
        assert link is None or "after=" in link
    assert seen == [row["household"] for row in expected]
    numbered = client.get(url(run), {"page_size": 3, "page": 3}).json()
    assert [row["household"] for row in numbered["results"]] == seen[6:]
    assert numbered["next"] is None and "page=2" in numbered["previous"]
    assert client.get(url(run), {"after": "-1"}).status_code == 400

    settings.SPMIS = {**settings.SPMIS, "API_EXACT_COUNT_LIMIT": 5}
    estimated = client.get(url(run)).json()
    assert estimated["count_is_estimate"] is True and estimated["count"] >= 6 and len(estimated["results"]) == 7


def test_result_page_queries_are_pinned(run, client_for, django_assert_num_queries):
    client = client_for(roles=["emergency_coordinator"])
    client.get(url(run))
    # Token, areas, permissions (2), the run, its zones, estimate, count, page keys, page JSON, audit context.
    with django_assert_num_queries(11):
        response = client.get(url(run))
    assert response.status_code == 200 and len(response.json()["results"]) == 7
