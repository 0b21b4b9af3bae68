"""End to end through the API: uploads as jobs, permissions, style, GeoJSON, vector and raster tiles, OGC API."""

from __future__ import annotations

import json

import morecantile
import pytest
from django.contrib.gis.geos import Point

from layers.models import LayerImport, RasterLayer, VectorLayer
from tests.factories import HouseholdFactory, UserFactory
from tests.layers.conftest import media_files, write_geotiff, write_shapefile_zip

pytestmark = pytest.mark.django_db
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


def upload(client, path, capture, **data):
    with capture(execute=True), open(path, "rb") as handle:
        response = client.post("/api/v1/layers/layer-imports/", {"file": handle, **data}, format="multipart")
    return response


def read_mvt(data: bytes, tmp_path, name="tile"):
    import pyogrio

    path = tmp_path / f"{name}.mvt"
    path.write_bytes(data)
    layers = [row[0] for row in pyogrio.list_layers(path)]
    return {layer: pyogrio.read_dataframe(path, layer=layer) for layer in layers}


@pytest.fixture
def analyst(client_for):
    return client_for(roles=["gis_analyst"])


@pytest.fixture
def vector_layer(analyst, tmp_path, districts, django_capture_on_commit_callbacks):
    path = write_shapefile_zip(districts, tmp_path, crs_epsg=32646)
    response = upload(
        analyst, path, django_capture_on_commit_callbacks, kind="vector", name="Districts", layer_kind="context"
    )
    assert response.status_code == 202, response.content
    job = LayerImport.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.error
    return job.vector_layer


def test_vector_upload_job_reports_progress_and_result(analyst, vector_layer, media_root):
    job = analyst.get("/api/v1/layers/layer-imports/?kind=vector").json()["results"][0]
    assert job["status"] == "succeeded" and job["progress"] == 100
    assert job["result"]["features"] == 64 and job["result"]["source_crs"] == "EPSG:32646"
    assert job["vector_layer"] == vector_layer.pk
    # The uploaded zip is gone once ingested: the data lives in PostGIS.
    assert media_files(media_root) == []
    detail = analyst.get(f"/api/v1/layers/vector-layers/{vector_layer.pk}/").json()
    assert detail["feature_count"] == 64 and detail["geometry_type"] == "polygon"
    assert detail["style"]["color"].startswith("#")


def test_bad_upload_fails_the_job_and_leaves_nothing(
    analyst, tmp_path, districts, media_root, django_capture_on_commit_callbacks
):
    path = tmp_path / "table.csv"
    districts[["code", "name"]].to_csv(path, index=False)
    response = upload(analyst, path, django_capture_on_commit_callbacks, kind="vector")
    assert response.status_code == 202
    job = analyst.get(f"/api/v1/layers/layer-imports/{response.json()['id']}/").json()
    assert job["status"] == "failed"
    assert "no coordinate columns" in job["error"]["file"][0]
    assert VectorLayer.objects.count() == 0
    assert media_files(media_root) == []


def test_upload_limit_and_permissions(
    client_for, analyst, tmp_path, districts, settings, django_capture_on_commit_callbacks
):
    path = write_shapefile_zip(districts.head(2), tmp_path)
    officer = client_for(roles=["program_officer"])
    assert upload(officer, path, django_capture_on_commit_callbacks, kind="vector").status_code == 403
    assert officer.get("/api/v1/layers/vector-layers/").status_code == 200
    assert client_for(UserFactory()).get("/api/v1/layers/vector-layers/").status_code == 403
    settings.SPMIS = {**settings.SPMIS, "LAYER_VECTOR_MAX_BYTES": 100}
    response = upload(analyst, path, django_capture_on_commit_callbacks, kind="vector")
    assert response.status_code == 400 and "limit" in response.json()["file"][0]
    # Beyond every limit the upload is not even read to the end.
    settings.SPMIS = {**settings.SPMIS, "LAYER_RASTER_MAX_BYTES": 100}
    response = upload(analyst, path, django_capture_on_commit_callbacks, kind="vector")
    assert response.status_code == 400 and "limit" in response.json()["file"][0]
    assert LayerImport.objects.count() == 0


def test_style_is_stored_and_validated(analyst, vector_layer):
    url = f"/api/v1/layers/vector-layers/{vector_layer.pk}/"
    style = {"color": "#ff0000", "opacity": 0.4, "outline_color": "#000000", "width": 2}
    response = analyst.patch(url, {"style": style, "kind": "hazard"}, format="json")
    assert response.status_code == 200
    assert analyst.get(url).json()["style"] == style
    response = analyst.patch(url, {"style": {"color": "red"}}, format="json")
    assert response.status_code == 400 and "style" in response.json()
    response = analyst.patch(url, {"feature_count": 3}, format="json")
    assert response.status_code == 400


def test_geojson_download(analyst, vector_layer):
    response = analyst.get(f"/api/v1/layers/vector-layers/{vector_layer.pk}/geojson/")
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    collection = json.loads(b"".join(response.streaming_content))
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 64
    assert {f["properties"]["name"] for f in collection["features"]} >= {"Dhaka", "Khulna"}


def test_vector_tiles(analyst, vector_layer, tmp_path):
    tile = WEB_MERCATOR.tile(90.4, 23.8, 8)
    response = analyst.get(f"/api/v1/layers/vector-layers/{vector_layer.pk}/tiles/{tile.z}/{tile.x}/{tile.y}.mvt")
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    frames = read_mvt(response.content, tmp_path)
    features = frames[f"layer_{vector_layer.pk}"]
    assert 0 < len(features) < 64
    # ST_AsMVT expands the JSONB properties into tile attributes.
    assert "Dhaka" in set(features["name"])
    # Over the Atlantic: nothing.
    assert analyst.get(f"/api/v1/layers/vector-layers/{vector_layer.pk}/tiles/8/100/100.mvt").status_code == 204
    assert analyst.get(f"/api/v1/layers/vector-layers/{vector_layer.pk}/tiles/3/9/9.mvt").status_code == 400


def test_household_tiles_respect_role_and_area(client_for, two_districts, tmp_path):
    _, west, east = two_districts
    HouseholdFactory(location=Point(90.5, 23.5, srid=4326))
    HouseholdFactory(location=Point(91.5, 23.5, srid=4326))
    tile = WEB_MERCATOR.tile(91.0, 23.5, 6)
    url = f"/api/v1/registry/households/tiles/{tile.z}/{tile.x}/{tile.y}.mvt"
    national = client_for(roles=["emergency_coordinator"])
    assert len(read_mvt(national.get(url).content, tmp_path, "national")["households"]) == 2
    scoped = client_for(roles=["emergency_coordinator"], areas=[west])
    frame = read_mvt(scoped.get(url).content, tmp_path, "scoped")["households"]
    assert len(frame) == 1 and int(frame["area_id"].iloc[0]) == west.id
    outsider = client_for(roles=["emergency_coordinator"], areas=[east])
    assert list(read_mvt(outsider.get(url).content, tmp_path, "east")["households"]["area_id"]) == [east.id]
    assert client_for(UserFactory()).get(url).status_code == 403


def test_area_tiles(client_for, two_districts, tmp_path):
    _, west, _ = two_districts
    tile = WEB_MERCATOR.tile(91.0, 23.5, 6)
    url = f"/api/v1/geo/areas/tiles/{tile.z}/{tile.x}/{tile.y}.mvt"
    everyone = read_mvt(client_for(roles=["gis_analyst"]).get(url).content, tmp_path, "all")["areas"]
    assert set(everyone["code"]) == {"C", "C-W", "C-E"}
    scoped = client_for(roles=["emergency_coordinator"], areas=[west]).get(url + "?level=1")
    assert set(read_mvt(scoped.content, tmp_path, "west")["areas"]["code"]) == {"C-W"}


def test_raster_upload_tiles_and_point(analyst, tmp_path, districts, django_capture_on_commit_callbacks):
    path, _ = write_geotiff(tmp_path / "depth.tif", districts)
    response = upload(analyst, path, django_capture_on_commit_callbacks, kind="raster", unit="m", layer_kind="hazard")
    job = LayerImport.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.error
    layer = RasterLayer.objects.get()
    assert layer.kind == "hazard" and layer.unit == "m"
    tile = WEB_MERCATOR.tile(90.4, 23.8, 7)
    response = analyst.get(f"/api/v1/layers/raster-layers/{layer.pk}/tiles/{tile.z}/{tile.x}/{tile.y}.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
    point = analyst.get(f"/api/v1/layers/raster-layers/{layer.pk}/point/?lon=90.41&lat=23.81").json()
    assert point["unit"] == "m" and point["values"][0] is not None
    assert analyst.get(f"/api/v1/layers/raster-layers/{layer.pk}/point/?lon=0&lat=0").status_code == 400
    style = {"breaks": [0, 1, 3, 7], "colors": ["#ffffcc", "#41b6c4", "#253494"], "opacity": 0.7}
    assert (
        analyst.patch(f"/api/v1/layers/raster-layers/{layer.pk}/", {"style": style}, format="json").status_code == 200
    )
    bad = {"breaks": [3, 1]}
    assert analyst.patch(f"/api/v1/layers/raster-layers/{layer.pk}/", {"style": bad}, format="json").status_code == 400
    cog = layer.local_path()
    with django_capture_on_commit_callbacks(execute=True):
        assert analyst.delete(f"/api/v1/layers/raster-layers/{layer.pk}/").status_code == 204
    assert not cog.exists() and RasterLayer.objects.count() == 0


def test_ogc_api_features(analyst, vector_layer):
    base = "/api/v1/layers/ogc"
    landing = analyst.get(f"{base}/")
    assert landing.status_code == 200 and landing["Content-Type"] == "application/json"
    assert {link["rel"] for link in landing.json()["links"]} >= {"self", "conformance", "data", "service-desc"}
    conformance = analyst.get(f"{base}/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    collections = analyst.get(f"{base}/collections").json()["collections"]
    assert [c["id"] for c in collections] == [str(vector_layer.pk)]
    items_url = f"{base}/collections/{vector_layer.pk}/items"
    page = analyst.get(items_url, {"limit": 10, "offset": 60})
    assert page["Content-Type"] == "application/geo+json"
    body = page.json()
    assert body["numberMatched"] == 64 and body["numberReturned"] == 4
    assert "next" not in {link["rel"] for link in body["links"]}
    first = analyst.get(items_url, {"limit": 10}).json()
    assert [f["id"] for f in first["features"]] == list(range(1, 11))
    assert any(link["rel"] == "next" and "offset=10" in link["href"] for link in first["links"])
    dhaka = analyst.get(items_url, {"bbox": "90.35,23.7,90.45,23.8"}).json()
    assert 0 < dhaka["numberMatched"] < 64
    assert "Dhaka" in {f["properties"]["name"] for f in dhaka["features"]}
    assert analyst.get(items_url, {"bbox": "1,2,3"}).status_code == 400
    one = analyst.get(f"{items_url}/1").json()
    assert one["type"] == "Feature" and one["id"] == 1
    assert analyst.get(f"{items_url}/999").status_code == 404
    assert analyst.get(f"{base}/collections/999").status_code == 404


def test_list_endpoints_do_not_query_per_row(analyst, tmp_path, districts):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from layers.services import LayerImportOptions, cap_alert_import, vector_layer_import_file
    from tests.layers.test_hazard_sources import cap_xml, largest

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert analyst.get(url).status_code == 200
        return len(queries)

    path = write_shapefile_zip(districts.head(2), tmp_path)
    sylhet = largest(districts.loc[districts["name"] == "Sylhet"].geometry.iloc[0])
    vector_layer_import_file(path=path, options=LayerImportOptions())
    cap_alert_import(data=cap_xml("Q-1", polygons=[sylhet]))
    urls = ["/api/v1/layers/vector-layers/", "/api/v1/layers/cap-alerts/", "/api/v1/layers/layer-imports/"]
    few = [count(url) for url in urls]
    for n in range(3):
        vector_layer_import_file(path=path, options=LayerImportOptions())
        cap_alert_import(data=cap_xml(f"Q-{n + 2}", polygons=[sylhet]))
    assert [count(url) for url in urls] == few


def test_browser_session_upload_passes_csrf_and_streams(
    tmp_path, districts, media_root, django_capture_on_commit_callbacks
):
    """A signed-in browser uploads with its session and CSRF token: the size-limiting upload handler must already be
    in place when the CSRF check parses the multipart body."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(UserFactory(roles=["gis_analyst"]))
    browser.get("/login/")
    token = browser.cookies["csrftoken"].value
    path = write_shapefile_zip(districts, tmp_path, crs_epsg=32646)
    with django_capture_on_commit_callbacks(execute=True), open(path, "rb") as handle:
        response = browser.post(
            "/api/v1/layers/layer-imports/",
            {"file": handle, "kind": "vector", "name": "By browser", "layer_kind": "context"},
            HTTP_X_CSRFTOKEN=token,
        )
    assert response.status_code == 202, response.content
    assert LayerImport.objects.get(pk=response.json()["id"]).status == "succeeded"
    refused = Client(enforce_csrf_checks=True)
    refused.force_login(UserFactory(roles=["gis_analyst"]))
    with open(path, "rb") as handle:
        assert refused.post("/api/v1/layers/layer-imports/", {"file": handle, "kind": "vector"}).status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": "99999999999999999999"}, "offset"),
        ({"offset": "-1"}, "offset"),
        ({"limit": "1e3"}, "limit"),
        ({"limit": "99999999999999999999"}, None),  # capped at the page-size limit, not refused
    ],
)
def test_ogc_items_paging_parameters_out_of_range(analyst, vector_layer, params, field):
    response = analyst.get(f"/api/v1/layers/ogc/collections/{vector_layer.pk}/items", params)
    if field is None:
        assert response.status_code == 200, response.content
        return
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_ogc_item_with_an_id_beyond_any_row_is_not_found(analyst, vector_layer):
    response = analyst.get(f"/api/v1/layers/ogc/collections/{vector_layer.pk}/items/99999999999999999999")
    assert response.status_code == 404


def test_a_bare_shp_upload_is_refused_in_plain_words(
    client_for, django_capture_on_commit_callbacks, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client = client_for(roles=["gis_analyst"])
    upload = SimpleUploadedFile("rivers.shp", b"\x00\x00\x27\x0a" + b"\x00" * 96)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/layers/layer-imports/", {"file": upload, "kind": "vector"}, format="multipart")
    job = client.get(f"/api/v1/layers/layer-imports/{response.json()['id']}/").json()
    assert job["status"] == "failed"
    assert job["error"] == {
        "file": ["A shapefile is several files (.shp, .shx, .dbf and .prj): upload them together in one .zip."]
    }
