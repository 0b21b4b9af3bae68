"""A small affected registry: an incident over the west district with a high zone (six households) and a moderate
zone (two), two households outside both, every household with three members; and its finished analysis."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.gis.geos import Point
from django.test import TestCase

from response.services import exposure_run_start
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory, square
from tests.response.factories import HazardZoneFactory, IncidentFactory, default_class


def household_with_members(location: Point, area, *, members: int = 3, **fields):
    household = HouseholdFactory(location=location, area=area, **fields)
    for number in range(members):
        person = IndividualFactory(birth_date=datetime.date(1980 + number * 10, 1, 1))
        MembershipFactory(household=household, individual=person, role="head" if number == 0 else "child")
    return household


def run_analysis(incident):
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = exposure_run_start(incident=incident, user=None)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return run


@pytest.fixture
def flood(two_districts):
    _, west, _ = two_districts
    incident = IncidentFactory()
    incident.areas.add(west)
    HazardZoneFactory(incident=incident)  # high: 90.2–90.4 °E, 23.2–23.4 °N
    HazardZoneFactory(incident=incident, hazard_class=default_class("flood", "moderate"), geom=square(90.4, 23.2, 0.2))
    high = [household_with_members(Point(90.21 + i * 0.03, 23.3, srid=4326), west) for i in range(6)]
    moderate = [household_with_members(Point(90.45 + i * 0.05, 23.3, srid=4326), west) for i in range(2)]
    outside = [household_with_members(Point(90.8, 23.8 + i * 0.05, srid=4326), west) for i in range(2)]
    run = run_analysis(incident)
    return {"incident": incident, "run": run, "high": high, "moderate": moderate, "outside": outside, "west": west}
