import pytest
from django.contrib.gis.geos import Point

from distribution.models import Warehouse
from tests.factories import WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouses(two_districts):
    return {
        "west": WarehouseFactory(code="W1", location=Point(90.5, 23.5, srid=4326)),
        "east": WarehouseFactory(code="E1", location=Point(91.5, 23.5, srid=4326)),
    }


def feature(code, lon, lat):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"code": code, "name": code},
    }


def test_scoped_user_sees_only_records_inside_their_areas(client_for, two_districts, warehouses):
    _, west, _ = two_districts
    client = client_for(roles=["logistics_officer"], areas=[west])
    listing = client.get("/api/v1/distribution/warehouses/").json()
    assert [f["properties"]["code"] for f in listing["features"]] == ["W1"]
    assert client.get(f"/api/v1/distribution/warehouses/{warehouses['east'].id}/").status_code == 404


def test_scoped_user_cannot_write_outside_their_areas_and_nothing_is_saved(client_for, two_districts, warehouses):
    _, west, _ = two_districts
    client = client_for(roles=["logistics_officer"], areas=[west])
    assert client.post("/api/v1/distribution/warehouses/", feature("E2", 91.5, 23.6), format="json").status_code == 403
    assert not Warehouse.objects.filter(code="E2").exists()
    moved = client.patch(
        f"/api/v1/distribution/warehouses/{warehouses['west'].id}/",
        {"geometry": {"type": "Point", "coordinates": [91.5, 23.6]}},
        format="json",
    )
    assert moved.status_code == 403
    assert Warehouse.objects.get(code="W1").location.x == pytest.approx(90.5)
    assert client.delete(f"/api/v1/distribution/warehouses/{warehouses['east'].id}/").status_code == 404
    assert client.post("/api/v1/distribution/warehouses/", feature("W2", 90.3, 23.3), format="json").status_code == 201


def test_national_user_sees_everything(client_for, warehouses):
    client = client_for(roles=["logistics_officer"])
    assert client.get("/api/v1/distribution/warehouses/").json()["count"] == 2


def test_area_listing_is_scoped_but_keeps_ancestors_for_context(client_for, two_districts):
    _, west, _ = two_districts
    client = client_for(roles=["emergency_coordinator"], areas=[west])
    codes = {f["properties"]["code"] for f in client.get("/api/v1/geo/areas/").json()["features"]}
    assert codes == {"C", "C-W"}


def test_role_without_permission_is_refused(client_for, warehouses):
    client = client_for(roles=["emergency_coordinator"])
    assert client.get("/api/v1/distribution/warehouses/").status_code == 200
    assert client.post("/api/v1/distribution/warehouses/", feature("X", 90.5, 23.5), format="json").status_code == 403


def test_a_scope_without_areas_sees_nothing(client_for, two_districts, warehouses):
    from geo.models import AreaScope
    from response.models import Incident
    from tests.factories import HouseholdFactory, UserFactory

    HouseholdFactory(location=Point(90.5, 23.5, srid=4326))
    Incident.objects.create(name="Flood", hazard_type="flood", started_on="2026-07-01").areas.set(two_districts[1:])
    user = UserFactory(roles=["emergency_coordinator", "logistics_officer"])
    AreaScope.objects.create(user=user)  # its areas were all removed
    client = client_for(user)
    assert client.get("/api/v1/distribution/warehouses/").json()["count"] == 0
    assert client.get("/api/v1/registry/households/").json()["count"] == 0
    assert client.get("/api/v1/geo/areas/").json()["features"] == []
    assert client.get("/api/v1/response/incidents/").json()["count"] == 0
    assert client.post("/api/v1/distribution/warehouses/", feature("W9", 90.3, 23.3), format="json").status_code == 403

    from django.test import Client

    page = Client()
    page.force_login(user)
    assert "No areas: ask an administrator" in page.get("/map/").content.decode()
    national = client_for(roles=["emergency_coordinator"])  # no scope row at all
    assert national.get("/api/v1/response/incidents/").json()["count"] == 1
    root = UserFactory(username="root-with-empty-scope", is_superuser=True)
    AreaScope.objects.create(user=root)
    assert client_for(root).get("/api/v1/distribution/warehouses/").json()["count"] == 2
