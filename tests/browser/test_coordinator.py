"""The emergency coordinator's main path in a real browser: sign in, create an incident, draw a zone with the
mouse, run the analysis and read the same affected count as the API."""

from __future__ import annotations

import os

import pytest

from tests.browser.conftest import TIMEOUT_MS, screenshot

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_draws_a_zone_runs_the_analysis_and_sees_the_api_count(sign_in, live_server):
    page = sign_in("coordinator")
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("body[data-ready=true]")
    screenshot(page, "map-start")

    page.fill("#ni-name", "Browser test flood")
    page.select_option("#ni-type", "flood")
    page.click("#new-incident button[type=submit]")
    page.wait_for_url("**/map/?incident=*")
    page.wait_for_selector("body[data-ready=true]")
    assert "Browser test flood" in page.inner_text("#incident-switch")

    # The incident's own class table: the high class displaces half of its people.
    incident_id = page.url.split("incident=")[1]
    page.click("#classes-card summary")
    page.fill("tr[data-key=high] [name=displacement_rate]", "0.5")
    page.click("#classes-form button[type=submit]")
    page.wait_for_selector("#classes-ok:not(:empty)")
    screenshot(page, "map-classes")
    classes = page.request.get(f"{live_server.url}/api/v1/response/incidents/{incident_id}/classes/").json()
    assert {c["key"]: c["displacement_rate"] for c in classes}["high"] == 0.5
    page.click("#classes-card summary")

    # Draw a polygon around the middle of the map with Leaflet.draw: toolbar button, then map clicks.
    page.click("a.leaflet-draw-draw-polygon")
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(-160, -140), (160, -140), (160, 140), (-160, 140)]
    for dx, dy in corners:
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_timeout(150)
    page.mouse.click(cx + corners[0][0], cy + corners[0][1])  # closing the ring finishes the shape
    page.wait_for_selector("#zone-list li")
    assert page.locator("#zone-list li").count() == 1

    with page.expect_response(lambda r: "/exposure-runs/" in r.url and r.request.method == "POST") as posted:
        page.click("#run-analysis")
    assert posted.value.status == 202
    total = page.wait_for_selector("#affected-total", timeout=TIMEOUT_MS * 3)
    run_id = total.get_attribute("data-run")
    shown = int(total.inner_text())

    api = page.request.get(f"{live_server.url}/api/v1/response/exposure-runs/{run_id}/results/?page_size=1")
    assert api.ok
    assert shown == api.json()["count"]
    assert shown > 0  # the polygon covers central Bangladesh, where the demo has households
    assert page.locator("#run-links a", has_text="CSV").count() == 1
    screenshot(page, "map-analysis")

    # A second zone (a rectangle dragged over Rangpur, north-west of the first), a second analysis, and the
    # comparison with the first.
    page.click("a.leaflet-draw-draw-rectangle")
    page.mouse.move(cx - 150, cy - 240)
    page.mouse.down()
    page.mouse.move(cx - 60, cy - 165, steps=5)
    page.mouse.up()
    page.wait_for_selector("#zone-list li >> nth=1")
    page.click("#run-analysis")
    page.wait_for_selector(f"#affected-total:not([data-run='{run_id}'])", timeout=TIMEOUT_MS * 3)
    second_id = page.get_attribute("#affected-total", "data-run")
    shown = int(page.inner_text("#affected-total"))
    api = page.request.get(f"{live_server.url}/api/v1/response/exposure-runs/{second_id}/results/?page_size=1")
    assert shown == api.json()["count"]
    page.select_option("#compare-select", run_id)
    newly = page.wait_for_selector("[data-change=newly_affected]")
    diff = page.request.get(f"{live_server.url}/api/v1/response/exposure-runs/{second_id}/diff/?against={run_id}")
    assert int(newly.inner_text().replace(",", "")) == diff.json()["counts"]["newly_affected"] > 0
    screenshot(page, "map-compare")
    page.select_option("#compare-select", "")

    # Edit the rectangle with Leaflet.draw: drag one corner, save; the zone gets version 2.
    page.click("a.leaflet-draw-edit-edit")
    handle = page.locator(".leaflet-editing-icon").first
    handle.wait_for()
    hb = handle.bounding_box()
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(hb["x"] - 20, hb["y"] - 20, steps=5)
    page.mouse.up()
    page.click(".leaflet-draw-actions a[title='Save changes']")
    page.wait_for_selector("#zone-list li .zone-name:text('v2')")

    # Zoomed in, households are points coloured by their class (tiles load after the zoom).
    for _ in range(2):
        with page.expect_response(lambda r: "/households/tiles/" in r.url):
            page.click("a.leaflet-control-zoom-in")
    page.wait_for_load_state("networkidle")
    screenshot(page, "map-households")
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet held upright: the panel goes under the map
    page.wait_for_timeout(300)
    assert page.locator("#map").bounding_box()["y"] < page.locator(".panel").bounding_box()["y"]
    screenshot(page, "map-tablet")
    page.set_viewport_size({"width": 1366, "height": 850})

    page.click("#run-links a:text('Affected list')")
    assert page.inner_text("#affected-count").split()[0].replace(",", "") == str(shown)
    screenshot(page, "affected-list")
    page.go_back()
    page.wait_for_selector("#affected-total")

    page.click("#run-links a:text('Dashboard')")
    page.wait_for_selector("#dash-households")
    assert int(page.inner_text("#dash-households")) == shown
    screenshot(page, "dashboard")
    assert page.errors == []

    # A logistics officer reads the same incident: k-anonymous counts, no run button, no named lists, no errors.
    logistics = sign_in("logistics")
    logistics.goto(f"{live_server.url}/map/?incident={incident_id}")
    logistics.wait_for_selector("body[data-ready=true]")
    logistics.wait_for_selector("#affected-total")
    assert logistics.locator("#run-analysis").count() == 0 and logistics.locator("#compare-select").count() == 0
    assert logistics.locator("#run-links a", has_text="CSV").count() == 0
    assert logistics.errors == []


def test_coordinator_opens_an_incident_from_a_cap_alert(sign_in, live_server):
    from geo.demo import bangladesh_frames
    from layers.services import cap_alert_import
    from tests.layers.test_hazard_sources import cap_xml

    district = bangladesh_frames()[2].geometry.iloc[0]
    polygon = max(getattr(district, "geoms", [district]), key=lambda part: part.area)  # CAP polygons: single rings
    alert = cap_alert_import(data=cap_xml("BMD-BROWSER-1", polygons=[polygon]))

    page = sign_in("coordinator")
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#from-cap summary")
    page.select_option("#cap-alert", str(alert.pk))
    page.select_option("#cap-type", "flood")
    page.select_option("#cap-class", "moderate")
    page.click("#cap-incident button[type=submit]")
    page.wait_for_url("**/map/?incident=*")
    page.wait_for_selector("body[data-ready=true]")
    zone = page.wait_for_selector("#zone-list li")
    assert zone.query_selector("select").input_value() == "moderate"
    screenshot(page, "map-from-cap")
    assert page.errors == []
