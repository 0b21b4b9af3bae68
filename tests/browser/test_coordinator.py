"""The emergency coordinator's main path in a real browser: sign in, create an incident, draw a zone with the
mouse, cut a hole in it, run the analysis and read the same affected count as the API."""

from __future__ import annotations

import os

import pytest
from django.contrib.gis.geos import Point, Polygon

from response.models import ExposureResult, HazardZone
from tests.browser.conftest import TIMEOUT_MS, screenshot
from tests.factories import HouseholdFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def click_ring(page, cx: float, cy: float, corners: list[tuple[int, int]]) -> None:
    """Draw a polygon with Leaflet.draw's active polygon tool: a click per corner (pixels from the map's centre),
    then a click on the first corner to finish. Each click waits until the tool has taken the previous one (its
    tooltip is there once the tool is on; each vertex adds a marker): fixed pauses were flaky on a loaded machine."""
    page.wait_for_selector(".leaflet-draw-tooltip", state="attached")
    # The centre is measured again here, not only when the test starts: a click in the side panel may have
    # scrolled the page (its cards grow as results arrive), which moves the map on the screen but not its view.
    map_box = page.locator("#map")
    map_box.scroll_into_view_if_needed()
    box = map_box.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for placed, (dx, dy) in enumerate(corners, start=1):
        # The tool takes a click on its mouse marker, which follows the pointer: move there first.
        page.mouse.move(cx + dx, cy + dy)
        page.wait_for_timeout(50)
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_function(
            "n => document.querySelectorAll('.leaflet-editing-icon').length >= n",
            arg=placed,
            polling=50,  # animation-frame polling (the default) can stall in a headless page
            timeout=10_000,
        )
    page.mouse.move(cx + corners[0][0], cy + corners[0][1])
    page.wait_for_timeout(50)
    page.mouse.click(cx + corners[0][0], cy + corners[0][1])


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

    # Draw a polygon around the middle of the map with Leaflet.draw: toolbar button, then map clicks. The zone
    # waits, unsaved, for holes.
    page.click("a.leaflet-draw-draw-polygon")
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    click_ring(page, cx, cy, [(-160, -140), (160, -140), (160, 140), (-160, 140)])
    page.wait_for_selector("#pending-zone:not([hidden])")
    assert page.locator("#zone-list li").count() == 0
    assert page.inner_text("#pending-holes") == "0"

    # A hole across the zone's edge is refused with a message; one well inside is cut; a second one crossing the
    # first is refused.
    page.click("#cut-hole")
    click_ring(page, cx, cy, [(100, -40), (220, -40), (220, 40), (100, 40)])
    assert "inside the zone" in page.wait_for_selector("#pending-error:not(:empty)").inner_text()
    assert page.inner_text("#pending-holes") == "0"
    page.click("#cut-hole")
    click_ring(page, cx, cy, [(-70, -60), (70, -60), (70, 60), (-70, 60)])
    page.wait_for_selector("#pending-holes:text-is('1')")
    assert page.inner_text("#pending-error") == ""
    page.click("#cut-hole")
    click_ring(page, cx, cy, [(40, -20), (120, -20), (120, 20), (40, 20)])
    assert "another hole" in page.wait_for_selector("#pending-error:not(:empty)").inner_text()
    assert page.inner_text("#pending-holes") == "1"
    screenshot(page, "map-hole")
    with page.expect_request(lambda r: r.url.endswith("/hazard-zones/") and r.method == "POST") as posted:
        page.click("#save-zone")
    page.wait_for_selector("#zone-list li")
    assert page.locator("#zone-list li").count() == 1 and page.is_hidden("#pending-zone")

    # Stored with the hole exactly as drawn.
    shell, hole = posted.value.post_data_json["geometry"]["coordinates"]
    zone = HazardZone.objects.get(incident_id=incident_id, is_current=True)
    assert len(zone.geom) == 1 and zone.geom[0].num_interior_rings == 1
    assert [list(point) for point in zone.geom[0][1].coords] == hole
    # One household in the hole and one in the zone proper, so the analysis below shows what the hole does.
    hole_polygon = Polygon(hole, srid=4326)
    in_hole = HouseholdFactory(location=hole_polygon.centroid)
    in_zone = HouseholdFactory(
        location=Point((shell[0][0] + hole[0][0]) / 2, (shell[0][1] + hole[0][1]) / 2, srid=4326)
    )

    with page.expect_response(lambda r: "/exposure-runs/" in r.url and r.request.method == "POST") as posted:
        page.click("#run-analysis")
    assert posted.value.status == 202
    total = page.wait_for_selector("#affected-total", timeout=TIMEOUT_MS * 3)
    run_id = total.get_attribute("data-run")
    shown = int(total.inner_text().replace(",", ""))  # grouped digits, like the dashboard

    api = page.request.get(f"{live_server.url}/api/v1/response/exposure-runs/{run_id}/results/?page_size=1")
    assert api.ok
    assert shown == api.json()["count"]
    assert shown > 0  # the polygon covers central Bangladesh, where the demo has households
    results = ExposureResult.objects.filter(run_id=run_id)
    assert results.filter(household=in_zone).exists()
    assert not results.filter(household=in_hole).exists()
    assert not results.filter(household__location__within=hole_polygon).exists()
    assert page.locator("#run-links a", has_text="CSV").count() == 1
    screenshot(page, "map-analysis")

    # A second zone (a rectangle dragged over Rangpur, north-west of the first), a second analysis, and the
    # comparison with the first.
    page.click("a.leaflet-draw-draw-rectangle")
    page.mouse.move(cx - 150, cy - 240)
    page.mouse.down()
    page.mouse.move(cx - 60, cy - 165, steps=5)
    page.mouse.up()
    page.click("#save-zone")
    page.wait_for_selector("#zone-list li >> nth=1")
    page.click("#run-analysis")
    page.wait_for_selector(f"#affected-total:not([data-run='{run_id}'])", timeout=TIMEOUT_MS * 3)
    second_id = page.get_attribute("#affected-total", "data-run")
    shown = int(page.inner_text("#affected-total").replace(",", ""))
    api = page.request.get(f"{live_server.url}/api/v1/response/exposure-runs/{second_id}/results/?page_size=1")
    assert shown == api.json()["count"]
    page.select_option("#compare-select", run_id)
    newly = page.wait_for_selector("[data-change=newly_affected]")
    diff = page.request.get(f"{live_server.url}/api/v1/response/exposure-runs/{second_id}/diff/?against={run_id}")
    assert int(newly.inner_text().replace(",", "")) == diff.json()["counts"]["newly_affected"] > 0
    screenshot(page, "map-compare")
    page.select_option("#compare-select", "")

    # A hole cut into the saved rectangle from the zone list: saving writes its version 2, with the hole.
    rectangle = HazardZone.objects.exclude(zone_key=zone.zone_key).get(incident_id=incident_id, is_current=True)
    page.click(f"#zone-list [data-cut='{rectangle.pk}']")
    page.wait_for_selector("#pending-zone:not([hidden])")
    page.click("#discard-zone")  # changing one's mind leaves the zone as it was
    page.wait_for_selector("#pending-zone[hidden]", state="attached")
    assert HazardZone.objects.get(zone_key=rectangle.zone_key, is_current=True).pk == rectangle.pk
    page.click(f"#zone-list [data-cut='{rectangle.pk}']")
    page.wait_for_selector("#pending-zone:not([hidden])")
    # Around the rectangle's own middle, placed by the map itself: fixed pixels from the map's centre missed the
    # rectangle whenever the map had moved its view meanwhile (a run's layers settling on a loaded machine).
    middle = rectangle.geom.point_on_surface
    x, y = page.evaluate(
        "([lat, lon]) => { const p = document.getElementById('map').leafletMap.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [middle.y, middle.x],
    )
    box = page.locator("#map").bounding_box()
    dx, dy = x - box["width"] / 2, y - box["height"] / 2
    click_ring(page, cx, cy, [(dx - 12, dy - 10), (dx + 12, dy - 10), (dx + 12, dy + 10), (dx - 12, dy + 10)])
    page.wait_for_selector("#pending-holes:text-is('1')")
    with page.expect_response(
        lambda r: f"/hazard-zones/{rectangle.pk}/" in r.url and r.request.method == "PATCH"
    ) as patched:
        page.click("#save-zone")
    assert patched.value.ok
    page.wait_for_selector("#zone-list li .zone-name:text('v2')")
    revised = HazardZone.objects.get(zone_key=rectangle.zone_key, is_current=True)
    assert revised.version == 2 and revised.geom[0].num_interior_rings == 1
    assert revised.geom[0][0].coords == rectangle.geom[0][0].coords  # the outline is untouched

    # Edit a zone with Leaflet.draw: drag one corner, save; that zone gets its next version.
    page.click("a.leaflet-draw-edit-edit")
    page.locator(".leaflet-editing-icon").first.wait_for()
    # The first zone's first corner, dragged outward: far from both zones' holes, whichever order the handles are in.
    corners = page.locator(".leaflet-editing-icon").evaluate_all(
        "icons => icons.map(i => { const r = i.getBoundingClientRect(); "
        "return {x: r.x, y: r.y, width: r.width, height: r.height}; })"
    )
    hb = min(corners, key=lambda b: (b["x"] - (cx - 160)) ** 2 + (b["y"] - (cy - 140)) ** 2)
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(hb["x"] - 20, hb["y"] - 20, steps=5)
    page.mouse.up()
    with page.expect_response(lambda r: "/hazard-zones/" in r.url and r.request.method == "PATCH") as patched:
        page.click(".leaflet-draw-actions a[title='Save changes']")
    edited = patched.value.json()
    assert patched.value.ok and edited["properties"]["version"] >= 2
    page.wait_for_selector(f"#zone-list li[data-zone='{edited['id']}']")

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
    assert int(page.inner_text("#dash-households").replace(",", "")) == shown
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


def test_hole_checks_on_rings(browser, live_server):
    """rings.js, which decides whether a drawn hole is accepted, on the awkward cases: touching, crossing, nested,
    and a hole whose corners are all inside a concave zone while one of its edges leaves it."""
    page = browser.new_page()
    page.goto(f"{live_server.url}/login/")
    problems = page.evaluate(
        """async () => {
          const { holeProblem } = await import("/static/frontend/rings.js");
          const square = (x, y, size) => [[x, y], [x + size, y], [x + size, y + size], [x, y + size]];
          const shell = square(0, 0, 10);
          const notched = [[0, 0], [10, 0], [10, 10], [6, 10], [6, 4], [4, 4], [4, 10], [0, 10]];
          const first = square(2, 2, 2);
          return {
            inside: holeProblem(square(2, 2, 2), shell),
            crossing: holeProblem(square(8, 2, 4), shell),
            touching: holeProblem([[0, 5], [3, 4], [3, 6]], shell),
            away: holeProblem(square(20, 20, 2), shell),
            around: holeProblem(square(-1, -1, 12), shell),
            bridging: holeProblem([[2, 6], [8, 6], [8, 8], [2, 8]], notched),
            second: holeProblem(square(6, 6, 2), shell, [first]),
            nested: holeProblem(square(2.5, 2.5, 1), shell, [first]),
            enclosing: holeProblem(square(1, 1, 5), shell, [first]),
            crossingHole: holeProblem(square(3, 3, 2), shell, [first]),
            sharingCorner: holeProblem(square(4, 4, 2), shell, [first]),
          };
        }"""
    )
    assert problems == {
        "inside": None,
        "crossing": "outside",
        "touching": "outside",
        "away": "outside",
        "around": "outside",
        "bridging": "outside",
        "second": None,
        "nested": "overlaps",
        "enclosing": "overlaps",
        "crossingHole": "overlaps",
        "sharingCorner": "overlaps",
    }
