"""The OpenAPI schema describes what the API sends: real responses are validated against it with schemathesis."""

import pytest
import requests
import schemathesis
from schemathesis.core.transport import Response

from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory, WarehouseFactory
from tests.response.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user_client):
    schema = schemathesis.openapi.from_dict(admin_user_client.get("/api/schema/?format=json").json())

    def check(method: str, template: str, url: str, **kwargs):
        response = getattr(admin_user_client, method)(url, **kwargs)
        wrapped = Response(
            status_code=response.status_code,
            headers={key.lower(): [value] for key, value in response.headers.items()},
            content=response.content,
            request=requests.Request(method.upper(), f"http://testserver{url}").prepare(),
            elapsed=0.0,
            verify=True,
        )
        schema[template][method.upper()].validate_response(wrapped)
        return response

    return check


def test_geojson_pages_match_the_schema(api, two_districts):
    WarehouseFactory()
    MembershipFactory(household=HouseholdFactory(), individual=IndividualFactory())
    for template in (
        "/api/v1/geo/areas/",
        "/api/v1/distribution/warehouses/",
        "/api/v1/registry/households/",
    ):
        response = api("get", template, template)
        assert response.status_code == 200 and response.json()["features"], template


def test_a_household_located_only_to_an_area_matches_the_schema(api, two_districts):
    """Its Feature has a null geometry (RFC 7946 allows it): found by make fuzz when such a household is created."""
    _, west, _ = two_districts
    created = api(
        "post",
        "/api/v1/registry/households/",
        "/api/v1/registry/households/",
        data={"area_code": west.code},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["geometry"] is None
    page = api("get", "/api/v1/registry/households/", "/api/v1/registry/households/")
    assert [f["geometry"] for f in page.json()["features"]] == [None]


def test_individuals_match_the_schema_with_and_without_a_name_search(api, two_districts):
    person = IndividualFactory(given_name="Rahima")
    MembershipFactory(household=HouseholdFactory(), individual=person)
    assert api("get", "/api/v1/registry/individuals/", "/api/v1/registry/individuals/").json()["results"]
    assert api("get", "/api/v1/registry/individuals/", "/api/v1/registry/individuals/?q=Rahima").status_code == 200
    detail = api("get", "/api/v1/registry/individuals/{id}/", f"/api/v1/registry/individuals/{person.pk}/")
    assert detail.json()["name_score"] is None


def test_class_table_is_a_plain_list(api):
    incident = IncidentFactory()
    response = api(
        "get", "/api/v1/response/incidents/{id}/classes/", f"/api/v1/response/incidents/{incident.pk}/classes/"
    )
    assert isinstance(response.json(), list)


def test_refusals_match_the_documented_error_shape(api, two_districts):
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]}, "properties": {"code": "W"}}
    response = api(
        "post", "/api/v1/distribution/warehouses/", "/api/v1/distribution/warehouses/", data=body, format="json"
    )
    assert response.status_code == 400
    assert "name" in response.json()


def test_upload_fields_are_binary(admin_user_client):
    components = admin_user_client.get("/api/schema/?format=json").json()["components"]["schemas"]
    for name in ("AreaImportCreate", "LayerImportCreate", "RegistryImportCreate"):
        assert components[name]["properties"]["file"]["format"] == "binary", name
