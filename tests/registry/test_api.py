import csv
import io
import json

import pytest
from django.contrib.gis.geos import Point

from registry.models import CustomField, Individual
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.registry.factories import CustomFieldFactory, IdTypeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(two_districts):
    """José Núñez in the west district (with a phone and a national ID), Rahim Uddin in the east."""
    _, west, east = two_districts
    west_home = HouseholdFactory(external_id="W1", location=Point(90.5, 23.5, srid=4326))
    east_home = HouseholdFactory(external_id="E1", location=Point(91.5, 23.5, srid=4326))
    jose = IndividualFactory(given_name="José", family_name="Núñez", custom={"livelihood": "fishing"})
    rahim = IndividualFactory(given_name="Rahim", family_name="Uddin", custom={"livelihood": "farming"})
    MembershipFactory(household=west_home, individual=jose)
    MembershipFactory(household=east_home, individual=rahim)
    jose.phones.create(number="+8801712345678")
    jose.documents.create(id_type=IdTypeFactory(), number="1234567890")
    return {"west": west, "east": east, "jose": jose, "rahim": rahim, "west_home": west_home}


def names(response):
    assert response.status_code == 200, response.content
    return [f"{r['given_name']} {r['family_name']}" for r in response.json()["results"]]


def test_scoped_user_sees_only_their_areas_through_the_api(people, client_for):
    client = client_for(roles=["program_officer"], areas=[people["west"]])
    assert names(client.get("/api/v1/registry/individuals/")) == ["José Núñez"]
    households = client.get("/api/v1/registry/households/").json()
    assert households["type"] == "FeatureCollection"
    assert [f["properties"]["external_id"] for f in households["features"]] == ["W1"]
    assert households["features"][0]["properties"]["size"] == 1
    assert households["features"][0]["properties"]["members"][0]["given_name"] == "José"
    assert client.get(f"/api/v1/registry/individuals/{people['rahim'].pk}/").status_code == 404
    exported = client.get("/api/v1/registry/individuals/export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert [r["given_name"] for r in rows] == ["José"]
    national = client_for(roles=["program_officer"])
    assert sorted(names(national.get("/api/v1/registry/individuals/"))) == ["José Núñez", "Rahim Uddin"]


def test_anonymous_and_roleless_users_are_refused(people, api_client, client_for):
    assert api_client.get("/api/v1/registry/individuals/").status_code == 401
    assert client_for(roles=[]).get("/api/v1/registry/households/").status_code == 403


def test_search_by_name_ids_phone_and_place(people, client_for):
    client = client_for(roles=["program_officer"])
    url = "/api/v1/registry/individuals/"
    assert names(client.get(url, {"q": "jose nunez"})) == ["José Núñez"]
    assert names(client.get(url, {"q": "Rahm Udin"})) == ["Rahim Uddin"]
    assert names(client.get(url, {"registrant_id": people["rahim"].registrant_id.lower()})) == ["Rahim Uddin"]
    assert names(client.get(url, {"document": "nid:1234567890"})) == ["José Núñez"]
    assert names(client.get(url, {"phone": "01712-345678"})) == ["José Núñez"]
    assert names(client.get(url, {"area": "C-E"})) == ["Rahim Uddin"]
    polygon = {"type": "Polygon", "coordinates": [[[91, 23], [92, 23], [92, 24], [91, 24], [91, 23]]]}
    assert names(client.get(url, {"within": json.dumps(polygon)})) == ["Rahim Uddin"]
    assert names(client.get(url, {"near": "90.501,23.501", "radius_m": 500})) == ["José Núñez"]
    assert names(client.get(url, {"near": "90.6,23.6", "radius_m": 500})) == []
    households = client.get("/api/v1/registry/households/", {"q": "Rahim"}).json()["features"]
    assert [f["properties"]["external_id"] for f in households] == ["E1"]


def test_saved_custom_filter_over_custom_fields(people, client_for):
    CustomFieldFactory(name="livelihood", type=CustomField.Type.CHOICE, choices=["fishing", "farming"])
    client = client_for(roles=["program_officer"])
    created = client.post(
        "/api/v1/registry/custom-filters/",
        {
            "name": "Fishers",
            "applies_to": "individual",
            "conditions": [{"field": "custom.livelihood", "op": "eq", "value": "fishing"}],
        },
    )
    assert created.status_code == 201, created.content
    assert names(client.get("/api/v1/registry/individuals/", {"filter": "Fishers"})) == ["José Núñez"]
    bad = client.post(
        "/api/v1/registry/custom-filters/",
        {"name": "Bad", "applies_to": "individual", "conditions": [{"field": "password", "op": "eq", "value": 1}]},
    )
    assert bad.status_code == 400 and "conditions" in bad.json()


def test_create_individual_validates_phone_document_and_custom_fields(people, client_for):
    CustomFieldFactory(name="livelihood", type=CustomField.Type.CHOICE, choices=["fishing"], required=True)
    client = client_for(roles=["program_officer"], areas=[people["west"]])
    payload = {
        "household": people["west_home"].pk,
        "role": "child",
        "given_name": "Amina",
        "phones": ["01812345678"],
        "documents": [{"id_type": "nid", "number": "9876543210"}],
        "custom": {"livelihood": "fishing"},
        "wg_seeing": 4,
    }
    response = client.post("/api/v1/registry/individuals/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phones"] == ["+8801812345678"] and body["disability"] is True
    assert body["registrant_id"].startswith("I")
    for field, value, key in (
        ("phones", ["12"], "phone"),
        ("documents", [{"id_type": "nid", "number": "1234567890"}], "documents"),
        ("custom", {"livelihood": "mining"}, "custom.livelihood"),
    ):
        bad = client.post("/api/v1/registry/individuals/", {**payload, field: value}, format="json")
        assert bad.status_code == 400 and key in bad.json(), bad.content
    outside = client.post(
        "/api/v1/registry/individuals/", {**payload, "household": people["rahim"].memberships.get().household_id}
    )
    assert outside.status_code == 400 and "household" in outside.json()
    assert Individual.objects.filter(given_name="Amina").count() == 1


def test_household_gpkg_export(people, client_for, tmp_path):
    import pyogrio

    client = client_for(roles=["program_officer"], areas=[people["east"]])
    response = client.get("/api/v1/registry/households/export/", {"file": "gpkg"})
    assert response.status_code == 200
    path = tmp_path / "out.gpkg"
    path.write_bytes(b"".join(response.streaming_content))
    frame = pyogrio.read_dataframe(path)
    assert list(frame["external_id"]) == ["E1"]
    assert frame.geometry.iloc[0].x == pytest.approx(91.5)


@pytest.mark.parametrize("path", ["/api/v1/registry/individuals/", "/api/v1/registry/households/"])
def test_list_query_count_does_not_grow_with_rows(people, client_for, django_assert_max_num_queries, path):
    client = client_for(roles=["program_officer"], areas=[people["west"]])
    client.get(path)  # warm caches (content types, permissions)
    for _ in range(10):
        person = IndividualFactory()
        MembershipFactory(household=people["west_home"], individual=person)
        person.phones.create(number=f"+88017123456{_:02d}")
    with django_assert_max_num_queries(12):
        response = client.get(path)
    assert response.status_code == 200
