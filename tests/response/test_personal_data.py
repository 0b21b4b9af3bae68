"""The affected list's exports carry heads' names, external ids and coordinates only for roles with
registry.view_personal_data; a GIS analyst (who may see household-level results) gets the reduced columns."""

import csv
import io

import pytest
from django.contrib.gis.geos import Point
from openpyxl import load_workbook

from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.response.factories import HazardZoneFactory, IncidentFactory
from tests.response.test_api import BASE, start_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(two_districts, client_for):
    incident = IncidentFactory()
    incident.areas.set([two_districts[1]])
    HazardZoneFactory(incident=incident)
    home = HouseholdFactory(external_id="EXT-1", location=Point(90.3123, 23.3, srid=4326))
    MembershipFactory(household=home, individual=IndividualFactory(given_name="Amina", family_name="Begum"))
    return start_run(client_for(roles=["emergency_coordinator"]), incident.pk)


def csv_rows(response):
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_analyst_exports_the_affected_list_without_names_or_coordinates(client_for, run):
    analyst = client_for(roles=["gis_analyst"])
    rows = csv_rows(analyst.get(f"{BASE}/exposure-runs/{run.pk}/export/?as=csv"))
    assert len(rows) == 1
    assert rows[0]["area_code"] == "C-W" and rows[0]["hazard_class"] == "high"
    assert not {"head_name", "external_id", "lon", "lat"} & set(rows[0])
    workbook = analyst.get(f"{BASE}/exposure-runs/{run.pk}/export/?as=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(workbook.streaming_content)), read_only=True).active
    cells = [str(cell) for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "Amina Begum" not in cells and "EXT-1" not in cells and "head_name" not in cells
    assert not any(cell.startswith("90.3123") for cell in cells)
    assert analyst.get(f"{BASE}/exposure-runs/{run.pk}/export/?as=gpkg").status_code == 403


def test_coordinator_exports_the_named_list(client_for, run):
    rows = csv_rows(client_for(roles=["emergency_coordinator"]).get(f"{BASE}/exposure-runs/{run.pk}/export/?as=csv"))
    assert rows[0]["head_name"] == "Amina Begum" and rows[0]["external_id"] == "EXT-1"
    assert float(rows[0]["lon"]) == pytest.approx(90.3123)
