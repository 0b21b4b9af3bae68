"""Geometry writes refuse 3D coordinates and malformed `crs` members with a 400 naming the field."""

import json

import pytest

from distribution.models import Warehouse
from response.models import HazardZone

pytestmark = pytest.mark.django_db
BASE = "/api/v1/response"
RING_3D = [[90.5, 23.5, 10], [90.51, 23.5, 10], [90.51, 23.51, 10], [90.5, 23.51, 10], [90.5, 23.5, 10]]
POLYGON_3D = {"type": "Polygon", "coordinates": [RING_3D]}


@pytest.fixture
def coordinator(client_for, two_districts):
    return client_for(roles=["emergency_coordinator"])


@pytest.fixture
def incident(coordinator):
    body = {"name": "Flood", "hazard_type": "flood", "started_on": "2026-07-01"}
    return coordinator.post(f"{BASE}/incidents/", body, format="json").json()


def test_drawn_zone_with_elevations_is_refused(coordinator, incident):
    body = {"incident": incident["id"], "geometry": POLYGON_3D, "hazard_class": "high"}
    response = coordinator.post(f"{BASE}/hazard-zones/", body, format="json")
    assert response.status_code == 400, response.content
    assert "longitude and latitude only" in json.dumps(response.json()["geometry"])
    assert not HazardZone.objects.exists()


def test_buffer_around_a_3d_line_is_refused(coordinator, incident):
    line = {"type": "LineString", "coordinates": [[90.5, 23.5, 3], [90.6, 23.6, 4]]}
    bands = [{"inner_m": 0, "outer_m": 1000, "hazard_class": "severe"}]
    response = coordinator.post(
        f"{BASE}/hazard-zones/buffer/", {"incident": incident["id"], "geometry": line, "bands": bands}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "geometry" in response.json()


def test_warehouse_with_an_elevation_is_refused(client_for, two_districts):
    body = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [90.4, 23.7, 12.5]},
        "properties": {"code": "W3", "name": "W"},
    }
    response = client_for(roles=["logistics_officer"]).post("/api/v1/distribution/warehouses/", body, format="json")
    assert response.status_code == 400, response.content
    assert "longitude and latitude only" in json.dumps(response.json()["location"])
    assert not Warehouse.objects.exists()


@pytest.mark.parametrize("crs", ["EPSG:4326", 4326, ["x"], {"type": "name", "properties": "EPSG:4326"}])
def test_crs_member_that_is_not_an_object_is_refused(coordinator, incident, crs):
    ring = [[x, y] for x, y, _z in RING_3D]
    geometry = {"type": "Polygon", "coordinates": [ring], "crs": crs}
    body = {"incident": incident["id"], "geometry": geometry, "hazard_class": "high"}
    response = coordinator.post(f"{BASE}/hazard-zones/", body, format="json")
    assert response.status_code == 400, response.content
    assert "crs" in json.dumps(response.json()["geometry"]).lower()


def test_unclosed_ring_is_explained_in_plain_words(coordinator, incident):
    ring = [[90.5, 23.5], [90.51, 23.5], [90.51, 23.51], [90.5, 23.51]]
    body = {"incident": incident["id"], "geometry": {"type": "Polygon", "coordinates": [ring]}, "hazard_class": "high"}
    response = coordinator.post(f"{BASE}/hazard-zones/", body, format="json")
    assert response.status_code == 400
    message = json.dumps(response.json()["geometry"])
    assert "not closed" in message and "LinearRing" not in message and "Exception" not in message
