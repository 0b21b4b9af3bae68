"""End to end through the API: an incident, zones drawn, as circles and as buffer rings, an analysis, its
results, aggregates, needs, diff, exports and the situation report; roles and area scope."""

import csv
import datetime
import io
import sqlite3

import pytest
from django.contrib.gis.geos import Point
from django.test import TestCase
from openpyxl import load_workbook

from response.models import ExposureRun, HazardZone
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/response"


def square_ring(x0, y0, size):
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


@pytest.fixture
def coordinator(client_for):
    return client_for(roles=["emergency_coordinator"])


@pytest.fixture
def people(two_districts):
    """Households in the west district: two inside the flood, one in its hole, one in the east district."""
    flooded = HouseholdFactory(location=Point(90.3, 23.3, srid=4326))
    MembershipFactory(household=flooded, individual=IndividualFactory(birth_date=datetime.date(2024, 1, 1)))
    MembershipFactory(
        household=flooded,
        role="spouse",
        individual=IndividualFactory(sex="F", is_pregnant=True, disability=True, birth_date=datetime.date(1995, 5, 1)),
    )
    MembershipFactory(
        household=flooded, role="other_relative", individual=IndividualFactory(birth_date=datetime.date(1950, 1, 1))
    )
    second = HouseholdFactory(location=Point(90.35, 23.35, srid=4326))
    MembershipFactory(household=second, individual=IndividualFactory(birth_date=datetime.date(1980, 2, 1)))
    dry = HouseholdFactory(location=Point(90.25, 23.25, srid=4326))  # in the hole
    east = HouseholdFactory(location=Point(91.5, 23.5, srid=4326))
    return {"flooded": flooded, "second": second, "dry": dry, "east": east}


def start_run(client, incident_id, **extra):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(f"{BASE}/exposure-runs/", {"incident": incident_id, **extra}, format="json")
    assert response.status_code == 202, response.content
    run = ExposureRun.objects.get(pk=response.json()["id"])
    assert run.status == "succeeded", run.error
    return run


def test_incident_zones_analysis_and_outputs(coordinator, people, two_districts):
    _, west, _ = two_districts
    response = coordinator.post(
        f"{BASE}/incidents/",
        {"name": "Monsoon flood", "hazard_type": "flood", "started_on": "2026-07-01", "area_codes": [west.code]},
        format="json",
    )
    assert response.status_code == 201, response.content
    incident_id = response.json()["id"]

    polygon = {"type": "Polygon", "coordinates": [square_ring(90.2, 23.2, 0.2), square_ring(90.24, 23.24, 0.02)]}
    response = coordinator.post(
        f"{BASE}/hazard-zones/",
        {"incident": incident_id, "geometry": polygon, "hazard_class": "moderate", "name": "Flood extent"},
        format="json",
    )
    assert response.status_code == 201, response.content
    zone = response.json()
    assert zone["properties"]["version"] == 1

    response = coordinator.post(
        f"{BASE}/hazard-zones/",
        {"incident": incident_id, "geometry": polygon, "hazard_class": "extreme"},
        format="json",
    )
    assert response.status_code == 400
    assert "hazard_class" in response.json()

    first = start_run(coordinator, incident_id)
    results = coordinator.get(f"{BASE}/exposure-runs/{first.pk}/results/").json()["results"]
    assert {r["household"] for r in results} == {people["flooded"].id, people["second"].id}
    assert all(r["hazard_class"] == "moderate" for r in results)

    # Editing makes version 2; version 1 stays and the first run still points at it.
    response = coordinator.patch(f"{BASE}/hazard-zones/{zone['id']}/", {"hazard_class": "high"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["properties"]["version"] == 2
    assert HazardZone.objects.filter(zone_key=zone["properties"]["zone_key"]).count() == 2

    response = coordinator.post(
        f"{BASE}/hazard-zones/circle/",
        {"incident": incident_id, "center": [91.5, 23.5], "radius_m": 2000, "hazard_class": "low"},
        format="json",
    )
    assert response.status_code == 201, response.content
    second = start_run(coordinator, incident_id)

    aggregates = coordinator.get(f"{BASE}/exposure-runs/{second.pk}/aggregates/?level=1").json()["rows"]
    west_high = next(r for r in aggregates if r["area_code"] == west.code)
    assert west_high["hazard_class"] == "high"
    assert west_high["households"] == 2
    assert west_high["individuals"] == 4
    assert west_high["children_under_5"] == 1
    assert west_high["people_60_plus"] == 1
    assert west_high["pregnant_or_lactating"] == 1
    assert west_high["people_with_disability"] == 1

    shared = coordinator.get(f"{BASE}/exposure-runs/{second.pk}/aggregates/?level=1&k=2").json()["rows"]
    east_row = next(r for r in shared if r["area_code"] == "C-E")
    assert east_row["suppressed"] is True and east_row["households"] is None
    west_shared = next(r for r in shared if r["area_code"] == west.code)
    assert west_shared["households"] == 2 and west_shared["children_under_5"] is None

    needs = coordinator.get(f"{BASE}/exposure-runs/{second.pk}/needs/?days=1").json()
    # 4 people in the high class (displacement rate 0.7); the east household has no members on record.
    assert needs["displaced"] == pytest.approx(2.8)
    assert needs["totals"]["water (L)"] == pytest.approx(2.8 * 15)
    assert needs["totals"]["food energy (kcal)"] == pytest.approx(2.8 * 2100)

    diff = coordinator.get(f"{BASE}/exposure-runs/{second.pk}/diff/?against={first.pk}").json()
    assert diff["counts"] == {"newly_affected": 1, "no_longer_affected": 0, "class_changed": 2}
    newly = next(r for r in diff["rows"] if r["change"] == "newly_affected")
    assert newly["household"] == people["east"].id

    response = coordinator.get(f"{BASE}/exposure-runs/{second.pk}/export/?as=csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {int(r["household_id"]) for r in rows} == {people["flooded"].id, people["second"].id, people["east"].id}
    assert rows[0]["hazard_class"] == "high"

    response = coordinator.get(f"{BASE}/exposure-runs/{second.pk}/export/?as=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    assert sum(1 for _ in sheet.iter_rows()) == 4

    response = coordinator.get(f"{BASE}/exposure-runs/{second.pk}/export/?as=gpkg")
    assert response.status_code == 200
    path = f"/tmp/test-response-{second.pk}.gpkg"
    with open(path, "wb") as handle:
        handle.write(b"".join(response.streaming_content))
    with sqlite3.connect(path) as database:
        assert database.execute("SELECT count(*) FROM affected_households").fetchone()[0] == 3

    response = coordinator.get(f"{BASE}/exposure-runs/{second.pk}/report/?level=1")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Monsoon flood" in html and "West" in html
    assert "/static/leaflet/leaflet.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert "@media print" in html


def test_buffer_rings_do_not_overlap(coordinator, two_districts):
    incident = coordinator.post(
        f"{BASE}/incidents/", {"name": "Fire", "hazard_type": "fire", "started_on": "2026-03-01"}, format="json"
    ).json()
    perimeter = {"type": "Polygon", "coordinates": [square_ring(90.5, 23.5, 0.01)]}
    response = coordinator.post(
        f"{BASE}/hazard-zones/buffer/",
        {
            "incident": incident["id"],
            "geometry": perimeter,
            "bands": [
                {"inner_m": 0, "outer_m": 1000, "hazard_class": "severe"},
                {"inner_m": 1000, "outer_m": 5000, "hazard_class": "moderate"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    severe, moderate = (HazardZone.objects.get(pk=z["id"]) for z in response.json()["features"])
    assert severe.hazard_class.key == "severe" and moderate.hazard_class.key == "moderate"
    assert severe.geom.intersection(moderate.geom).area < 1e-9
    assert severe.geom.contains(Point(90.505, 23.505, srid=4326))  # the perimeter itself is in the first band
    assert not moderate.geom.contains(Point(90.505, 23.505, srid=4326))
    # 3 km east of the perimeter's edge lies in the 1–5 km ring.
    assert moderate.geom.contains(Point(90.51 + 3000 / 102_000, 23.505, srid=4326))


def test_circle_is_geodesic(coordinator, two_districts):
    incident = coordinator.post(
        f"{BASE}/incidents/", {"name": "Quake", "hazard_type": "earthquake", "started_on": "2026-03-01"}, format="json"
    ).json()
    response = coordinator.post(
        f"{BASE}/hazard-zones/circle/",
        {"incident": incident["id"], "center": [90.5, 23.5], "radius_m": 10_000, "hazard_class": "severe"},
        format="json",
    )
    zone = HazardZone.objects.get(pk=response.json()["id"])
    x0, y0, x1, y1 = zone.geom.extent
    # 10 km is ~0.0903° of latitude and ~0.0982° of longitude at 23.5°N.
    assert (y1 - y0) / 2 == pytest.approx(0.0903, rel=0.01)
    assert (x1 - x0) / 2 == pytest.approx(0.0982, rel=0.01)


def test_roles_and_scope(client_for, api_client, people, two_districts):
    _, _, east = two_districts
    analyst = client_for(roles=["gis_analyst"])
    response = analyst.post(
        f"{BASE}/incidents/", {"name": "X", "hazard_type": "flood", "started_on": "2026-07-01"}, format="json"
    )
    assert response.status_code == 403
    assert api_client.get(f"{BASE}/incidents/").status_code == 401

    coordinator = client_for(roles=["emergency_coordinator"])
    incident = coordinator.post(
        f"{BASE}/incidents/",
        {"name": "Both", "hazard_type": "flood", "started_on": "2026-07-01", "area_codes": ["C-W", "C-E"]},
        format="json",
    ).json()
    coordinator.post(
        f"{BASE}/hazard-zones/",
        {
            "incident": incident["id"],
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [[square_ring(90.2, 23.2, 0.2)], [square_ring(91.4, 23.4, 0.2)]],
            },
            "hazard_class": "high",
        },
        format="json",
    )
    run = start_run(coordinator, incident["id"])

    officer_east = client_for(roles=["program_officer"], areas=[east])
    results = officer_east.get(f"{BASE}/exposure-runs/{run.pk}/results/").json()["results"]
    assert [r["household"] for r in results] == [people["east"].id]
    logistics = client_for(roles=["logistics_officer"])
    assert logistics.get(f"{BASE}/exposure-runs/{run.pk}/results/").status_code == 403
    shared = logistics.get(f"{BASE}/exposure-runs/{run.pk}/aggregates/").json()
    assert shared["k"] == 5
    assert logistics.get(f"{BASE}/exposure-runs/{run.pk}/aggregates/?k=1").json()["k"] == 5
    report = logistics.get(f"{BASE}/exposure-runs/{run.pk}/report/?level=1").content.decode()
    assert "fewer than 5 households" in report and "&amp;lt;" not in report
    assert logistics.post(f"{BASE}/exposure-runs/", {"incident": incident["id"]}, format="json").status_code == 403
    assert analyst.delete(f"{BASE}/exposure-runs/{run.pk}/").status_code == 403  # analysts run, coordinators delete


def test_list_endpoints_do_not_query_per_row(client_for, two_districts):
    """Query counts of the list endpoints stay the same when the lists grow (no query per incident, zone, run or
    result row)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from response.services import exposure_run_start
    from tests.response.factories import HazardZoneFactory, IncidentFactory

    coordinator = client_for(roles=["emergency_coordinator"])

    def grow(size):
        incident = IncidentFactory()
        for _ in range(size):
            HazardZoneFactory(incident=incident)
        for i in range(size * 5):
            HouseholdFactory(location=Point(90.2 + i * 0.001, 23.3, srid=4326))
        with TestCase.captureOnCommitCallbacks(execute=True):
            run = exposure_run_start(incident=incident, user=None)
        return run

    def counts(run):
        urls = [
            f"{BASE}/incidents/",
            f"{BASE}/hazard-zones/",
            f"{BASE}/exposure-runs/",
            f"{BASE}/exposure-runs/{run.pk}/results/",
            f"/api/v1/distribution/facility-exposures/?run={run.pk}",
        ]
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                response = coordinator.get(url)
                assert response.status_code == 200, (url, response.content[:200])
            found.append(len(queries))
        return found

    small = counts(grow(1))
    run = grow(4)
    assert ExposureRun.objects.get(pk=run.pk).result["affected_households"] >= 20
    assert counts(run) == small
