import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from distribution.models import Warehouse
from tests.factories import WarehouseFactory

pytestmark = pytest.mark.django_db

WAREHOUSES = "/api/v1/distribution/warehouses/"


def api_paths():
    """Every URL under /api/ with sample values for its parameters."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield route

    for route in walk(get_resolver().url_patterns):
        if not route.startswith("api/"):
            continue
        path = (
            route.replace("^", "")
            .replace("$", "")
            .replace("\\.(?P<format>[a-z0-9]+)/?", "")
            .replace("(?P<pk>[^/.]+)", "1")
            .replace("(?P<code>[^/.]+)", "X")
            .replace("<int:pk>", "1")
        )
        for marker in ("(?P<", "<"):
            if marker in path:
                path = path.split(marker)[0]
        yield "/" + path


def test_no_api_endpoint_is_open_to_anonymous_users():
    client = APIClient()
    paths = sorted(set(api_paths()))
    assert len(paths) > 10
    open_paths = []
    for path in paths:
        if path == "/api/v1/auth/token/" or not path.endswith("/"):  # the login endpoint; format-suffix variants
            continue
        for method in ("get", "post"):
            status = getattr(client, method)(path).status_code
            if status not in (401, 403, 404, 405):
                open_paths.append((method, path, status))
    assert open_paths == []


def feature(**properties):
    geometry = properties.pop("geometry", {"type": "Point", "coordinates": [90.4, 23.7]})
    return {"type": "Feature", "geometry": geometry, "properties": {"code": "W", "name": "W", **properties}}


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        (feature(geometry={"type": "Point", "coordinates": ["a", "b"]}), "location", "Malformed GeoJSON"),
        (feature(geometry={"type": "Pointy", "coordinates": [90, 23]}), "location", "Malformed GeoJSON"),
        (feature(geometry={"type": "Point", "coordinates": [500000, 2600000]}), "location", "projected"),
        (
            feature(
                geometry={
                    "type": "Point",
                    "coordinates": [90, 23],
                    "crs": {"type": "name", "properties": {"name": "EPSG:32646"}},
                }
            ),
            "location",
            "EPSG:4326",
        ),
        (feature(geometry={"type": "LineString", "coordinates": [[90, 23], [91, 24]]}), "location", "Expected Point"),
        (feature(capacity_tonnes="a lot"), "capacity_tonnes", "number"),
        (feature(colour="red"), "properties.colour", "Unknown field"),
        ({**feature(), "extra": 1}, "extra", "Unknown field"),
        (feature(code=""), "code", "blank"),
    ],
)
def test_bad_input_gets_400_naming_the_field_and_saves_nothing(client_for, payload, field, fragment):
    client = client_for(roles=["logistics_officer"])
    response = client.post(WAREHOUSES, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body, body
    assert fragment.lower() in json.dumps(body[field]).lower()
    assert not Warehouse.objects.exists()


def test_invalid_polygon_is_rejected_with_reason():
    from django.core.exceptions import ValidationError

    from geo.spatial import geometry_from_client

    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    with pytest.raises(ValidationError) as error:
        geometry_from_client(bowtie, field="zone")
    assert "Self-intersection" in error.value.message_dict["zone"][0]


def test_duplicate_code_is_a_400_on_the_field(client_for):
    WarehouseFactory(code="DUP")
    response = client_for(roles=["logistics_officer"]).post(WAREHOUSES, feature(code="DUP"), format="json")
    assert response.status_code == 400 and "code" in response.json()


def test_area_api_filters_by_bbox_and_simplifies(client_for, two_districts):
    client = client_for(roles=["gis_analyst"])
    east_only = client.get("/api/v1/geo/areas/?level=1&in_bbox=91.2,23.2,91.8,23.8").json()
    assert [f["properties"]["code"] for f in east_only["features"]] == ["C-E"]
    simplified = client.get("/api/v1/geo/areas/C-E/?simplify=0.01").json()
    assert simplified["geometry"]["type"] == "MultiPolygon"
    bad = client.get("/api/v1/geo/areas/?in_bbox=1,2,3")
    assert bad.status_code == 400 and "in_bbox" in bad.json()


def test_area_import_through_the_api(client_for, two_districts, tmp_path, settings, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(roles=["gis_analyst"])
    good = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "C-E-9", "name": "Nine", "parent": "C-E"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[91.1, 23.1], [91.3, 23.1], [91.3, 23.3], [91.1, 23.1]]],
                },
            },
        ],
    }
    path = tmp_path / "good.geojson"
    path.write_text(json.dumps(good))
    with path.open("rb") as upload, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/geo/area-imports/",
            {"file": upload, "level": 2, "parent_match": "code", "parent_code_field": "parent"},
            format="multipart",
        )
    assert response.status_code == 202, response.json()
    job = client.get(f"/api/v1/geo/area-imports/{response.json()['id']}/").json()
    assert job["status"] == "succeeded" and job["result"]["created"] == 1
    missing_level = client.post("/api/v1/geo/area-imports/", {"file": path.open("rb")}, format="multipart")
    assert missing_level.status_code == 400 and "level" in missing_level.json()


def test_openapi_schema_and_docs_use_local_assets(client_for):
    client = client_for(roles=["auditor"])
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert "/api/v1/geo/areas/" in schema.json()["paths"]
    client.force_login(client.user)
    docs = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in docs and "cdn" not in docs.lower()
