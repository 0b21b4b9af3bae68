"""Household tiles and run switching in a real browser: redrawing the household tiles asks only for whole zoom
levels within the layer's zoom range, and switching analyses while households are being coloured never mixes two
analyses' colours."""

from __future__ import annotations

import contextlib
import os
import re

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from response.models import ExposureRun
from response.services import exposure_run_start
from tests.browser.conftest import screenshot
from tests.factories import AreaFactory, HouseholdFactory, UserFactory, square
from tests.response.factories import HazardZoneFactory, IncidentFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TILE = re.compile(r"/api/v1/registry/households/tiles/([^/]+)/")
PASSWORD = "a long browser test password"


@pytest.fixture
def two_runs(db):
    """A country with a district; 20 households in a west zone (run `west`) and 30 in an east zone (run `east`)."""
    country = AreaFactory(code="BT", name="Testland", geom=MultiPolygon(Polygon.from_bbox((88.0, 20.6, 92.7, 26.7))))
    AreaFactory(code="BT-1", name="Division", parent=country, geom=country.geom)
    incident = IncidentFactory(name="Two analyses")
    west = HazardZoneFactory(incident=incident, geom=square(90.0, 23.0, 0.2))
    east = HazardZoneFactory(incident=incident, geom=square(90.5, 23.0, 0.2))
    for i in range(20):
        HouseholdFactory(location=Point(90.05 + i * 0.005, 23.1, srid=4326))
    for i in range(30):
        HouseholdFactory(location=Point(90.55 + i * 0.004, 23.1, srid=4326))
    runs = {}
    for name, zone in (("west", west), ("east", east)):
        run = exposure_run_start(incident=incident, user=None, zone_ids=[zone.pk])
        run.refresh_from_db()
        assert run.status == ExposureRun.Status.SUCCEEDED, run.error
        runs[name] = run
    return incident, runs


@pytest.fixture
def coordinator_page(browser, live_server, two_runs):
    user = UserFactory(username="tiles", roles=["emergency_coordinator"])
    user.set_password(PASSWORD)
    user.save()
    page = browser.new_page(viewport={"width": 1366, "height": 850})
    page.set_default_timeout(60_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.tiles = []
    page.on("request", lambda request: (m := TILE.search(request.url)) and page.tiles.append(m.group(1)))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "tiles")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")
    incident, runs = two_runs
    page.goto(f"{live_server.url}/map/?incident={incident.pk}")
    page.wait_for_selector("body[data-ready=true]")
    return page, runs


def set_view(page, zoom: float) -> None:
    # Until the map is at that zoom: on a busy machine the page's own first fit can end after our move and take
    # the map back to where it started (its tiles then arrive after the test has cleared the list).
    page.evaluate(
        "z => new Promise(done => { const m = document.getElementById('map').leafletMap;"
        " const go = () => { if (Math.abs(m.getZoom() - z) < 1e-6) { done(); return; }"
        " m.once('moveend', () => setTimeout(go, 50)); m.setView([23.1, 90.3], z, {animate: false}); }; go(); })",
        zoom,
    )


def switch_to(page, run) -> None:
    page.select_option("#run-select", str(run.pk))
    page.wait_for_selector(f"#map[data-coloured-run='{run.pk}']", state="attached")


def test_redrawn_household_tiles_are_whole_zooms_within_the_layer_range(coordinator_page):
    page, runs = coordinator_page
    # Below the household layer's minZoom (8) a redraw loads no household tile at all (it used to load them all).
    set_view(page, 6.5)
    page.wait_for_load_state("networkidle")
    page.tiles.clear()
    switch_to(page, runs["west"])
    page.wait_for_load_state("networkidle")
    assert page.tiles == []

    # At a half zoom level a redraw asks for the nearest whole level (it used to ask for /tiles/8.5/…, a 404).
    set_view(page, 8.5)
    page.wait_for_load_state("networkidle")
    page.tiles.clear()
    switch_to(page, runs["east"])
    page.wait_for_load_state("networkidle")
    assert page.tiles and set(page.tiles) == {"9"}, page.tiles
    screenshot(page, "map-half-zoom-redraw")
    assert page.errors == []


def test_switching_runs_while_households_are_coloured_keeps_one_runs_colours(coordinator_page):
    from playwright.sync_api import Error as PlaywrightError

    page, runs = coordinator_page
    west, east = runs["west"], runs["east"]
    assert page.get_attribute("#map", "data-coloured-run") == str(east.pk)  # the newest analysis is shown first
    held = []
    page.route(f"**/exposure-runs/{west.pk}/results/**", lambda route: held.append(route))
    page.select_option("#run-select", str(west.pk))
    for _ in range(200):  # until the west analysis is waiting for its household rows
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the west analysis never asked for its households"
    switch_to(page, east)  # changed one's mind before the west rows arrived
    page.unroute(f"**/exposure-runs/{west.pk}/results/**")
    for route in held:
        # The late west rows arrive now and must be dropped (or the page has already aborted that request).
        with contextlib.suppress(PlaywrightError):
            route.continue_()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    assert page.get_attribute("#map", "data-coloured-run") == str(east.pk)
    assert page.get_attribute("#map", "data-coloured-households") == "30"
    assert page.get_attribute("#affected-total", "data-run") == str(east.pk)
    assert page.errors == []
