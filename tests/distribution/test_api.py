"""Warehouse and distribution-point writes refuse malformed input with a 400 naming the field."""

import json

import pytest

from distribution.models import DistributionPoint, Warehouse
from tests.factories import DistributionPointFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("/api/v1/distribution/warehouses/", Warehouse, WarehouseFactory),
    ("/api/v1/distribution/distribution-points/", DistributionPoint, DistributionPointFactory),
]
POINT = {"type": "Point", "coordinates": [90.4, 23.7]}


@pytest.fixture
def logistics(client_for, two_districts):
    return client_for(roles=["logistics_officer"])


@pytest.mark.parametrize(("url", "model", "factory"), ENDPOINTS)
@pytest.mark.parametrize("fmt", ["multipart", None])
def test_form_with_a_properties_part_is_read_as_json(logistics, url, model, factory, fmt):
    body = {"type": "Feature", "geometry": json.dumps(POINT), "properties": json.dumps({"code": "F1", "name": "F"})}
    response = logistics.post(url, body, **({"format": fmt} if fmt else {}))
    assert response.status_code == 201, response.json()
    assert model.objects.get().code == "F1"


@pytest.mark.parametrize(("url", "model", "factory"), ENDPOINTS)
@pytest.mark.parametrize("properties", ["not json", "[1, 2]", "7"])
def test_form_properties_part_that_is_not_an_object_is_a_400(logistics, url, model, factory, properties):
    body = {"geometry": json.dumps(POINT), "properties": properties}
    response = logistics.post(url, body, format="multipart")
    assert response.status_code == 400
    assert "object" in json.dumps(response.json()["properties"])
    assert not model.objects.exists()


@pytest.mark.parametrize(("url", "model", "factory"), ENDPOINTS)
@pytest.mark.parametrize("properties", [None, 5, "text", [1, 2]])
def test_json_properties_that_is_not_an_object_is_a_400(logistics, url, model, factory, properties):
    response = logistics.post(url, {"type": "Feature", "geometry": POINT, "properties": properties}, format="json")
    assert response.status_code == 400
    assert "properties" in response.json()
    assert not model.objects.exists()


@pytest.mark.parametrize(("url", "model", "factory"), ENDPOINTS)
def test_form_update_with_properties_part(logistics, url, model, factory):
    item = factory(code="OLD")
    response = logistics.patch(f"{url}{item.pk}/", {"properties": json.dumps({"name": "Renamed"})}, format="multipart")
    assert response.status_code == 200, response.json()
    item.refresh_from_db()
    assert item.name == "Renamed"
    response = logistics.patch(f"{url}{item.pk}/", {"properties": "[]"}, format="multipart")
    assert response.status_code == 400 and "properties" in response.json()


def test_distribution_point_kind_may_be_left_out(logistics):
    body = {"type": "Feature", "geometry": POINT, "properties": {"code": "DP1", "name": "School"}}
    response = logistics.post("/api/v1/distribution/distribution-points/", body, format="json")
    assert response.status_code == 201, response.json()
    assert DistributionPoint.objects.get().kind == DistributionPoint.Kind.OTHER
