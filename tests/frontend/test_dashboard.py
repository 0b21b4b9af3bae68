"""The incident dashboard: charts drawn in every language, k-anonymous counts shown as withheld (not as 0), and the
same totals as the map panel."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.gis.geos import Point
from django.test import TestCase

from response.services import exposure_run_start
from tests.factories import AreaFactory, HouseholdFactory, IndividualFactory, MembershipFactory, UserFactory, square
from tests.frontend.test_pages import browser_for
from tests.response.factories import HazardZoneFactory, IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def districts(db):
    """Two districts (level 2, the dashboard's level) side by side in one division: west 90–91°E, east 91–92°E."""
    from django.contrib.gis.geos import MultiPolygon, Polygon

    country = AreaFactory(code="C", name="Country", geom=MultiPolygon(Polygon.from_bbox((90.0, 23.0, 92.0, 24.0))))
    division = AreaFactory(code="C-D", name="Division", parent=country, geom=country.geom)
    west = AreaFactory(code="C-W", name="West", parent=division, geom=square(90.0, 23.0, 1.0))
    east = AreaFactory(code="C-E", name="East", parent=division, geom=square(91.0, 23.0, 1.0))
    return west, east


@pytest.fixture
def flood(districts):
    """A flood over both districts: six households in the west zone (one with a child under 5 and two adults, so the
    bars have fractional widths), two in the east zone (fewer than k = 5)."""
    incident = IncidentFactory()
    HazardZoneFactory(incident=incident, geom=square(90.2, 23.2, 0.2))
    HazardZoneFactory(incident=incident, geom=square(91.2, 23.2, 0.2))
    family = HouseholdFactory(location=Point(90.3, 23.3, srid=4326))
    MembershipFactory(household=family, individual=IndividualFactory(birth_date=datetime.date(2024, 1, 1)))
    for year in (1980, 1985):
        MembershipFactory(household=family, individual=IndividualFactory(birth_date=datetime.date(year, 1, 1)))
    for i in range(5):
        HouseholdFactory(location=Point(90.25 + i * 0.01, 23.25, srid=4326))
    for i in range(2):
        HouseholdFactory(location=Point(91.25 + i * 0.01, 23.25, srid=4326))
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = exposure_run_start(incident=incident, user=None)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return incident, run


def test_bars_have_numeric_widths_in_french(flood):
    incident, _ = flood
    browser = browser_for(UserFactory(roles=["emergency_coordinator"]))
    browser.cookies["django_language"] = "fr"
    html = browser.get(f"/incidents/{incident.pk}/dashboard/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'lang="fr"' in html
    widths = re.findall(r'<rect width="([^"]*)"', html)
    assert "33.3" in widths  # one child among three people
    for width in widths:
        assert re.fullmatch(r"\d+(\.\d+)?", width), f"SVG width {width!r} is not a number"


def test_k_anonymous_dashboard_marks_withheld_cells_and_matches_the_map_panel(flood, client_for):
    incident, run = flood
    logistics = UserFactory(roles=["logistics_officer"])
    html = browser_for(logistics).get(f"/incidents/{incident.pk}/dashboard/").content.decode()
    # West: 6 households shown; East: 2, fewer than k = 5, withheld — so the total is "at least 6", never 0 for East.
    assert re.search(r'id="dash-households">≥ 6<', html)
    assert re.search(r'data-area="C-W">6<', html) and re.search(r'data-area="C-E">–<', html)
    assert re.search(r'data-count="individuals">–<', html)  # 3 people in the west cell: fewer than k
    assert 'id="k-legend"' in html and "– withheld (fewer than 5)" in html

    # The map panel reads the same summary from the API: the same figure, not a country-level count of 8.
    panel = client_for(logistics).get(f"/api/v1/response/exposure-runs/{run.pk}/aggregates/?level=2").json()
    assert panel["k"] == 5
    assert panel["totals"]["households"] == 6 and "households" in panel["totals"]["withheld"]
    assert [(a["area_code"], a["households"], "households" in a["withheld"]) for a in panel["by_area"]] == [
        ("C-W", 6, False),
        ("C-E", 0, True),
    ]

    coordinator = UserFactory(roles=["emergency_coordinator"])
    html = browser_for(coordinator).get(f"/incidents/{incident.pk}/dashboard/").content.decode()
    assert re.search(r'id="dash-households">8<', html) and 'id="k-legend"' not in html
    full = client_for(coordinator).get(f"/api/v1/response/exposure-runs/{run.pk}/aggregates/?level=2").json()
    assert full["totals"]["households"] == 8 and full["totals"]["withheld"] == []
