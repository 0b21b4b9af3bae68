"""Where the map looks: the national start view is the configured country (whatever level-0 areas are stored), a
scoped user starts on their areas, opening an incident zooms to its zones, and "go to area" fits the area picked."""

from __future__ import annotations

import os

import pytest

from tests.browser.conftest import screenshot
from tests.factories import AreaFactory, square

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def view(page) -> tuple[float, float, float, float]:
    """The map's current view, west, south, east, north (map.js keeps it on the body)."""
    west, south, east, north = (float(n) for n in page.get_attribute("body", "data-map-view").split(","))
    return west, south, east, north


def centre(box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def test_start_view_incident_zoom_and_go_to_area(sign_in, live_server):
    from geo.models import Area
    from tests.response.factories import HazardZoneFactory, IncidentFactory

    # One bad import: a level-0 "country" in the Arctic. National maps must still start on Bangladesh.
    AreaFactory(code="XX-ARCTIC", name="Arctic mistake", geom=square(10.0, 80.0, 5.0))
    page = sign_in("coordinator")
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("body[data-ready=true]")
    west, south, east, north = view(page)
    assert west <= 88.5 and east >= 92.2 and south <= 21.0 and north >= 26.2  # all of Bangladesh shows
    assert north < 40 and east - west < 15  # and not the Arctic too

    # Go to a district by typing part of its name, then an upazila by the start of its P-code.
    page.fill("#area-q", "Sunamg")
    option = page.locator("#area-results button[data-code=BD6090]")
    option.wait_for()
    assert "District" in option.inner_text() and "Sylhet" in option.inner_text()
    option.click()
    page.wait_for_selector("body[data-gone-to=BD6090]")
    page.wait_for_function("() => document.querySelector('#area-results').children.length === 0")
    sunamganj = Area.objects.get(code="BD6090").geom.extent
    page.wait_for_function(
        "([w, s, e, n]) => { const v = document.body.dataset.mapView.split(',').map(Number);"
        " return v[0] <= w && v[2] >= e && v[1] <= s && v[3] >= n && v[2] - v[0] < 3; }",
        arg=list(sunamganj),
    )
    lon, lat = centre(view(page))
    assert sunamganj[0] < lon < sunamganj[2] and sunamganj[1] < lat < sunamganj[3]
    page.wait_for_load_state("networkidle")  # boundary and household tiles of the new view, for the picture
    screenshot(page, "map-go-to-district")

    page.fill("#area-q", "bd60900089")  # Sunamganj Sadar upazila's P-code; Enter takes the first (exact) match
    page.wait_for_selector("#area-results button[data-code=BD60900089]")
    page.press("#area-q", "Enter")
    page.wait_for_selector("body[data-gone-to=BD60900089]")
    page.fill("#area-q", "no such place")
    page.wait_for_selector("#area-search-message:has-text('No area matches')")

    # Opening an incident zooms to its zones (here a small square near Dhaka).
    incident = IncidentFactory(name="Zoom test")
    HazardZoneFactory(incident=incident, geom=square(90.35, 23.7, 0.1))
    page.goto(f"{live_server.url}/map/?incident={incident.pk}")
    page.wait_for_selector("body[data-ready=true]")
    west, south, east, north = view(page)
    assert west <= 90.35 and east >= 90.45 and south <= 23.7 and north >= 23.8
    assert east - west < 1.0  # zoomed in on the zone, not the country

    # A coordinator bound to Sylhet division starts on Sylhet, and finds nothing outside it.
    scoped = sign_in("sylhet.coordinator")
    scoped.goto(f"{live_server.url}/map/")
    scoped.wait_for_selector("body[data-ready=true]")
    sylhet = Area.objects.get(code="BD60").geom.extent
    lon, lat = centre(view(scoped))
    assert sylhet[0] < lon < sylhet[2] and sylhet[1] < lat < sylhet[3]
    scoped.fill("#area-q", "Dhaka")
    scoped.wait_for_selector("#area-search-message:has-text('No area matches')")
    assert scoped.locator("#area-results button").count() == 0
    assert not page.errors and not scoped.errors
