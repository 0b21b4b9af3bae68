"""The incident dashboard: charts drawn in every language, k-anonymous counts shown as withheld (not as 0), and the
same totals as the map panel."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.gis.geos import Point
from django.test import TestCase

from response.services import exposure_run_start
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory, UserFactory, square
from tests.frontend.test_pages import browser_for
from tests.response.factories import HazardZoneFactory, IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def flood(two_districts):
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
