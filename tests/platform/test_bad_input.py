"""Request bodies and query parameters that no endpoint can use are refused with a 400, never a 500."""

import json

import pytest

from tests.factories import WarehouseFactory
from tests.registry.factories import IdTypeFactory
from tests.response.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def detail_urls():
    return {
        "warehouse": lambda: f"/api/v1/distribution/warehouses/{WarehouseFactory().pk}/",
        "incident": lambda: f"/api/v1/response/incidents/{IncidentFactory().pk}/",
        "id-type": lambda: f"/api/v1/registry/id-types/{IdTypeFactory().pk}/",
    }


@pytest.mark.parametrize("body", ["5", "[1, 2]", '"text"', "null", "true"])
@pytest.mark.parametrize("target", sorted(detail_urls()))
def test_json_body_that_is_not_an_object_is_a_400(admin_user_client, target, body):
    url = detail_urls()[target]()
    response = admin_user_client.patch(url, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "JSON object" in json.dumps(response.json()["non_field_errors"])


@pytest.mark.parametrize("body", ["5", "[]"])
def test_json_create_body_that_is_not_an_object_is_a_400(admin_user_client, body):
    response = admin_user_client.post("/api/v1/registry/households/", body, content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/geo/areas/?parent=%00",
        "/api/v1/response/hazard-classes/?hazard_type=fl%00od",
        "/api/v1/layers/cap-alerts/?status=%00",
        "/api/v1/geo/areas/X%00Y/",
    ],
)
def test_nul_byte_anywhere_in_the_url_is_a_400(admin_user_client, url):
    response = admin_user_client.get(url)
    assert response.status_code == 400, response.content
    assert "NUL" in json.dumps(response.json())


def test_nul_character_inside_a_json_body_is_a_400_naming_the_field(admin_user_client):
    response = admin_user_client.post(
        "/api/v1/registry/import-mappings/",
        {"source": "ngo", "columns": {"given_name": "First\x00name"}},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "columns.given_name" in response.json()


@pytest.mark.parametrize("bbox", ["nan,nan,nan,nan", "-inf,0,inf,1", "1,2,3"])
def test_bbox_that_is_not_four_finite_numbers_is_a_400(admin_user_client, bbox):
    response = admin_user_client.get("/api/v1/geo/areas/", {"in_bbox": bbox})
    assert response.status_code == 400, response.content
    assert "in_bbox" in response.json()


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
def test_number_beyond_any_float_in_a_json_body_is_a_400(admin_user_client, number):
    body = '{"name_threshold": ' + number + "}"
    response = admin_user_client.post("/api/v1/registry/dedup-runs/", body, content_type="application/json")
    assert response.status_code == 400, response.content


def test_body_that_is_not_json_is_a_400_in_the_one_error_shape(admin_user_client):
    response = admin_user_client.post("/api/v1/registry/households/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["non_field_errors"][0]
