"""The situation report: readable labels and numbers, no refusal without a default needs profile, and a map with
the affected areas' boundaries under the zones."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.gis.geos import Point
from django.test import TestCase

from response.models import NeedsProfile
from response.services import exposure_run_start
from tests.factories import DistributionPointFactory, HouseholdFactory, IndividualFactory, MembershipFactory, square
from tests.response.factories import HazardZoneFactory, IncidentFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/response"


@pytest.fixture
def run(two_districts):
    """Three people in the west district's high flood zone (displacement 70 %: 2.1 displaced) and a distribution
    point in it."""
    incident = IncidentFactory(name="Monsoon flood")
    HazardZoneFactory(incident=incident, geom=square(90.2, 23.2, 0.2))
    household = HouseholdFactory(location=Point(90.3, 23.3, srid=4326))
    for year in (1980, 1985, 2010):
        MembershipFactory(household=household, individual=IndividualFactory(birth_date=datetime.date(year, 1, 1)))
    DistributionPointFactory(code="DP-1", name="School yard", location=Point(90.31, 23.31, srid=4326))
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = exposure_run_start(incident=incident, user=None)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


def test_report_labels_and_numbers(run, client_for):
    html = client_for(roles=["emergency_coordinator"]).get(f"{BASE}/exposure-runs/{run.pk}/report/?level=1")
    assert html.status_code == 200
    html = html.content.decode()
    assert "distribution_distributionpoint" not in html
    assert re.search(
        r"<td>DP-1</td><td class=\"text\">School yard</td><td class=\"text\">Distribution point</td>", html
    )
    # 3 people × 0.7 = 2.1 displaced: whole people; 2.1 × 2,100 kcal × 7 days and 2.1 × 15 L × 7 days with units.
    assert '<span id="displaced">2</span>' in html
    needs = html[html.index('<table id="needs">') :].split("</table>", 1)[0]
    assert "<td>Food energy</td><td>30,870 kcal</td>" in needs
    assert re.search(r"<td>Water</td><td>22[01] L</td>", needs)


def test_report_without_a_default_needs_profile_leaves_needs_out(run, client_for):
    NeedsProfile.objects.update(is_default=False)
    response = client_for(roles=["emergency_coordinator"]).get(f"{BASE}/exposure-runs/{run.pk}/report/?level=1")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Monsoon flood" in html and '<table id="needs">' not in html
    assert 'id="no-needs"' in html


def test_report_map_draws_the_affected_areas_under_the_zones(run, client_for):
    html = client_for(roles=["emergency_coordinator"]).get(f"{BASE}/exposure-runs/{run.pk}/report/?level=1")
    script = html.content.decode().split("<script>")[-1]
    assert '"code": "C-W"' in script  # the affected district's boundary
    assert '"code": "C-E"' not in script  # not the unaffected one
    assert script.index('"code": "C-W"') < script.index('"class": "High"')  # drawn first, so under the zone
    assert "[[23.0, 90.0], [24.0, 91.0]]" in script  # the view takes in the affected district, not just the zone
    assert ".invalidateSize()" in script  # measured again once the report's stylesheet has sized the frame
