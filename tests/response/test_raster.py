import numpy as np
import pytest
import rasterio
from django.contrib.gis.geos import Point
from django.test import TestCase
from rasterio.transform import from_origin

from response.models import ExposureResult, ExposureRun, HazardZone
from response.services import exposure_run_start, hazard_zone_from_raster
from tests.factories import HouseholdFactory
from tests.response.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def depth_raster(tmp_path):
    """200 × 100 pixels of 0.001° over 90.0–90.2°E, 23.1–23.0°N; depth rises west to east from 0 to 2 m."""
    path = tmp_path / "depth.tif"
    rng = np.random.default_rng(3)
    data = (np.linspace(0, 2, 200, dtype=np.float32)[None, :] + rng.normal(0, 0.01, (100, 200))).astype(np.float32)
    data[:10, :10] = -9999
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=200,
        height=100,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(90.0, 23.1, 0.001, 0.001),
        nodata=-9999,
    ) as dataset:
        dataset.write(data, 1)
    return path, data


def test_raster_values_match_a_direct_pixel_read(depth_raster, two_districts):
    path, data = depth_raster
    rng = np.random.default_rng(5)
    xs, ys = rng.uniform(90.0, 90.2, 300), rng.uniform(23.0, 23.1, 300)
    households = [HouseholdFactory(location=Point(x, y, srid=4326)) for x, y in zip(xs, ys, strict=True)]
    incident = IncidentFactory()
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = exposure_run_start(incident=incident, user=None, raster_path=str(path))
    run.refresh_from_db()
    assert run.status == ExposureRun.Status.SUCCEEDED, run.error
    got = dict(ExposureResult.objects.filter(run=run).values_list("household_id", "raster_value"))
    checked = 0
    with rasterio.open(path) as dataset:
        for household, x, y in zip(households, xs, ys, strict=True):
            row, col = dataset.index(x, y)
            value = float(data[row, col])
            if value == -9999 or value < 0.1:
                assert household.id not in got
            else:
                assert got[household.id] == pytest.approx(value, abs=1e-6)
                checked += 1
    assert checked > 100
    high = ExposureResult.objects.filter(run=run, hazard_class__key="high")
    assert all(r.raster_value >= 1.5 for r in high)


def test_zones_from_raster_follow_the_class_thresholds(depth_raster, two_districts):
    path, _ = depth_raster
    incident = IncidentFactory()
    zones = hazard_zone_from_raster(incident=incident, path=path, user=None)
    assert [z.hazard_class.key for z in zones] == ["low", "moderate", "high"]
    high = HazardZone.objects.get(pk=zones[2].pk)
    # Depth ≥ 1.5 m starts three quarters of the way east (≈ 90.15°E).
    assert high.geom.extent[0] == pytest.approx(90.15, abs=0.005)
    assert high.geom.contains(Point(90.19, 23.05, srid=4326))
    assert not zones[0].geom.intersects(Point(90.19, 23.05, srid=4326))


def test_zones_from_a_raster_layer_through_the_api_record_the_layer(depth_raster, two_districts, client_for, settings):
    from layers.services import LayerImportOptions, raster_layer_import_file

    settings.MEDIA_ROOT = str(depth_raster[0].parent / "media")
    path, _ = depth_raster
    layer = raster_layer_import_file(
        path=path, options=LayerImportOptions(name="Depth survey", unit="m", kind="hazard")
    )
    incident = IncidentFactory()
    coordinator = client_for(roles=["emergency_coordinator"])
    response = coordinator.post(
        "/api/v1/response/hazard-zones/from-raster/",
        {"incident": incident.pk, "raster_layer": layer.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    zones = HazardZone.objects.filter(incident=incident).order_by("hazard_class__rank")
    assert [z.hazard_class.key for z in zones] == ["low", "moderate", "high"]
    assert {z.source["raster_layer"] for z in zones} == {layer.pk}
    assert all(z.name.startswith("Depth survey") for z in zones)
    missing = coordinator.post(
        "/api/v1/response/hazard-zones/from-raster/", {"incident": incident.pk, "raster_layer": 999999}, format="json"
    )
    assert missing.status_code == 400 and "raster_layer" in missing.json()


def test_reasons_name_the_unit_given_at_upload(depth_raster, two_districts, client_for, settings):
    from layers.services import LayerImportOptions, raster_layer_import_file

    settings.MEDIA_ROOT = str(depth_raster[0].parent / "media")
    layer = raster_layer_import_file(
        path=depth_raster[0], options=LayerImportOptions(name="Depth", unit="m", kind="hazard")
    )
    HouseholdFactory(location=Point(90.19, 23.05, srid=4326))  # about 1.9 m deep
    incident = IncidentFactory()
    coordinator = client_for(roles=["emergency_coordinator"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = coordinator.post(
            "/api/v1/response/exposure-runs/", {"incident": incident.pk, "raster_layer": layer.pk}, format="json"
        )
    assert response.status_code == 202, response.content
    run = ExposureRun.objects.get(pk=response.json()["id"])
    assert run.status == ExposureRun.Status.SUCCEEDED, run.error
    (result,) = ExposureResult.objects.filter(run=run)
    assert result.reason == "raster value in High range [1.5 m, …)"
