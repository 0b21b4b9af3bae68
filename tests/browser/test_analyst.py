"""The GIS analyst's upload path in a real browser: one good and one bad file, each with its own outcome in
plain words, then a style change saved through the editor."""

from __future__ import annotations

import os

import pytest

from tests.browser.conftest import TIMEOUT_MS, screenshot

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def upload_files(tmp_path):
    """Real boundaries: one division's districts as a GeoPackage (good), and their attributes as a CSV without any
    coordinate columns (bad)."""
    from geo.demo import bangladesh_frames

    districts = bangladesh_frames()[2]
    division = districts[districts["parent_code"] == districts["parent_code"].iloc[0]].head(4)
    good = tmp_path / "division_districts.gpkg"
    division.to_file(good, driver="GPKG", layer="districts")
    bad = tmp_path / "district_table.csv"
    division.drop(columns="geometry").to_csv(bad, index=False)
    return good, bad, len(division)


def test_analyst_uploads_a_good_and_a_bad_file_and_styles_the_layer(sign_in, live_server, upload_files):
    from layers.models import VectorLayer

    good, bad, features = upload_files
    page = sign_in("analyst")
    page.goto(f"{live_server.url}/layers/")
    page.wait_for_selector("body[data-ready=true]")
    page.set_input_files("#upload-files", [str(good), str(bad)])

    outcome = page.wait_for_selector(
        f"li.succeeded[data-file='{good.name}'], li.failed[data-file='{good.name}']", timeout=TIMEOUT_MS * 2
    )
    screenshot(page, "layers-upload")
    assert "succeeded" in outcome.get_attribute("class"), outcome.inner_text()
    failed = page.wait_for_selector(f"li.failed[data-file='{bad.name}']", timeout=TIMEOUT_MS * 2)
    message = failed.inner_text()
    assert "Refused" in message and "column" in message.lower()  # the plain-words reason names the columns

    layer = VectorLayer.objects.get()
    assert layer.feature_count == features
    row = page.wait_for_selector(f"tr[data-layer='vector-{layer.pk}']")
    assert "division_districts" in row.inner_text()

    row.query_selector("button").click()
    page.wait_for_selector("#style-editor:not([hidden])")
    page.fill("#st-color", "#ff8800")
    page.click("#style-form button[type=submit]")
    page.wait_for_selector("#style-ok:text('saved')")
    layer.refresh_from_db()
    assert layer.style["color"] == "#ff8800"
    screenshot(page, "layers-style")
    assert page.errors == []


def test_analyst_sets_raster_class_thresholds_over_the_histogram(sign_in, live_server, settings, tmp_path):
    from geo.demo import bangladesh_frames
    from layers.models import RasterLayer
    from layers.services import LayerImportOptions, raster_layer_import_file
    from tests.layers.conftest import write_geotiff

    settings.MEDIA_ROOT = tmp_path / "media"
    districts = bangladesh_frames()[2]
    division = districts[districts["parent_code"] == districts["parent_code"].iloc[0]].head(4)
    path, _ = write_geotiff(tmp_path / "depth.tif", division)  # values 0.05, 0.15, 0.25, 0.35 by district
    layer = raster_layer_import_file(path=path, options=LayerImportOptions(name="Flood depth", kind="hazard"))

    page = sign_in("analyst")
    page.goto(f"{live_server.url}/layers/")
    page.wait_for_selector("body[data-ready=true]")
    page.click(f"tr[data-layer='raster-{layer.pk}'] button")
    page.wait_for_selector("#histogram svg rect")
    page.fill("#st-breaks", "0, 0.2, 0.3")
    page.fill("#st-colors", "#c6dbef, #08306b")
    page.fill("#st-labels", "under 0.2 m, 0.2 m and more")
    assert (
        page.locator("#histogram svg line").count() == 2
    )  # 0 lies left of the values (0.05–0.35): only 0.2 and 0.3 drawn
    page.click("#style-form button[type=submit]")
    page.wait_for_selector("#style-ok:text('saved')")
    layer.refresh_from_db()
    assert layer.style["breaks"] == [0, 0.2, 0.3] and layer.style["colors"] == ["#c6dbef", "#08306b"]
    screenshot(page, "layers-raster-style")

    # On the map: the layer toggles on with its legend, and becomes hazard zones of an incident (flood thresholds:
    # 0.15, 0.25 and 0.35 are all "low"; 0.05 is under every class).
    from tests.response.factories import IncidentFactory

    incident = IncidentFactory(name="Flash flood")
    page.goto(f"{live_server.url}/map/?incident={incident.pk}")
    page.wait_for_selector("body[data-ready=true]")
    with page.expect_response(lambda r: f"/raster-layers/{layer.pk}/tiles/" in r.url) as tile:
        page.check(f"#layer-r{layer.pk}")
    assert tile.value.status in (200, 204)
    assert "under 0.2 m" in page.inner_text("#legend")
    page.click("summary:text('From a layer')")
    page.select_option("#fl-layer", f"r:{layer.pk}")
    page.click("#from-layer-form button[type=submit]")
    zone = page.wait_for_selector("#zone-list li")
    assert zone.query_selector("select").input_value() == "low"
    screenshot(page, "map-raster-zones")

    page.goto(f"{live_server.url}/layers/")
    page.wait_for_selector("body[data-ready=true]")
    page.click(f"tr[data-layer='raster-{layer.pk}'] button")
    page.fill("#st-breaks", "0.3, 0.2")
    page.click("#style-form button[type=submit]")
    assert "increasing" in page.wait_for_selector("#style-error:not(:empty)").inner_text()
    assert RasterLayer.objects.get(pk=layer.pk).style["breaks"] == [0, 0.2, 0.3]
    assert page.errors == []
