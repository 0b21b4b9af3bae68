"""Warehouses and distribution points inside an analysis's hazard zones are flagged unusable by the distribution app
(real foreign keys, set-based, in the run's transaction), listed within the user's areas through the API, counted in
the run's summary and shown in the situation report."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from distribution.models import FacilityExposure
from tests.factories import DistributionPointFactory, UserFactory, WarehouseFactory
from tests.response.factories import HazardZoneFactory, IncidentFactory
from tests.response.test_api import start_run

pytestmark = pytest.mark.django_db
URL = "/api/v1/distribution/facility-exposures/"


@pytest.fixture
def flooded(two_districts):
    """A zone over most of both districts; a store and a point inside it in the west, a store inside it in the
    east, and a dry store outside it."""
    incident = IncidentFactory()
    incident.areas.set(two_districts[1:])
    HazardZoneFactory(incident=incident, geom=MultiPolygon(Polygon.from_bbox((90.1, 23.1, 91.9, 23.6)), srid=4326))
    return {
        "incident": incident,
        "west_store": WarehouseFactory(code="WEST", location=Point(90.5, 23.5, srid=4326)),
        "west_point": DistributionPointFactory(code="WPT", location=Point(90.25, 23.25, srid=4326)),
        "east_store": WarehouseFactory(code="EAST", location=Point(91.5, 23.5, srid=4326)),
        "dry_store": WarehouseFactory(code="DRY", location=Point(91.5, 23.9, srid=4326)),
    }


def test_an_analysis_flags_facilities_inside_its_zones_with_real_foreign_keys(client_for, flooded):
    coordinator = client_for(roles=["emergency_coordinator"])
    run = start_run(coordinator, flooded["incident"].pk)

    exposures = FacilityExposure.objects.filter(run=run)
    assert {e.warehouse_id for e in exposures if e.warehouse_id} == {flooded["west_store"].id, flooded["east_store"].id}
    assert {e.distribution_point_id for e in exposures if e.distribution_point_id} == {flooded["west_point"].id}
    assert run.result["unusable_facilities"] == 3
    listed = coordinator.get(URL, {"run": run.pk})
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert sorted(row["code"] for row in rows) == ["EAST", "WEST", "WPT"]
    point = next(row for row in rows if row["code"] == "WPT")
    assert "table_name" not in point
    assert point["kind"] == "distribution point" and point["distribution_point"] == flooded["west_point"].id
    assert point["reason"].startswith("distribution point inside") and point["reason"].endswith(
        "unusable for this response"
    )


def test_the_list_stays_inside_the_users_areas_and_needs_a_run(client_for, flooded, two_districts):
    national = client_for(roles=["emergency_coordinator"])
    run = start_run(national, flooded["incident"].pk)
    west = client_for(UserFactory(roles=["logistics_officer"], areas=[two_districts[1]]))
    assert sorted(row["code"] for row in west.get(URL, {"run": run.pk}).json()["results"]) == ["WEST", "WPT"]
    missing = west.get(URL)
    assert missing.status_code == 400 and missing.json() == {"run": ["Give the exposure run: ?run=<id>."]}
    assert west.get(URL, {"run": "x"}).status_code == 400
    assert client_for(UserFactory()).get(URL, {"run": run.pk}).status_code == 403


def test_the_situation_report_shows_the_users_unusable_facilities(client_for, flooded, two_districts):
    national = client_for(roles=["emergency_coordinator"])
    run = start_run(national, flooded["incident"].pk)
    west = client_for(UserFactory(roles=["emergency_coordinator"], areas=[two_districts[1]]))
    report = west.get(f"/api/v1/response/exposure-runs/{run.pk}/report/")
    assert report.status_code == 200, report.content[:300]
    html = report.content.decode()
    assert "Warehouses and distribution points inside hazard zones (unusable)" in html
    assert "WEST" in html and "WPT" in html and "EAST" not in html
    assert "Warehouse" in html and "distribution_" not in html  # kinds in words, never table names


def test_facility_flags_are_audited_like_the_rest_of_the_analysis(client_for, flooded):
    from spmis.core.models import AuditEvent

    run = start_run(client_for(roles=["emergency_coordinator"]), flooded["incident"].pk)
    flagged = set(FacilityExposure.objects.filter(run=run).values_list("id", flat=True))
    audited = set(
        AuditEvent.objects.filter(table_name="distribution_facilityexposure", action="insert").values_list(
            "row_id", flat=True
        )
    )
    assert flagged and flagged <= audited
