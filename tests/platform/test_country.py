"""The one country configuration: checked at start-up, and read by the pages and services (a different setting
changes what they use)."""

from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from spmis import country as country_module
from tests.factories import AreaFactory, UserFactory, square

pytestmark = pytest.mark.django_db

BANGLADESH = {
    "code": "BD",
    "name": "Bangladesh",
    "bbox": [88.0, 20.59, 92.69, 26.64],
    "phone_region": "BD",
    "currency": "bdt",
    "level_names": ["Country", "Division", "District", "Upazila"],
    "languages": ["en", "bn"],
    "chart_level": 2,
}
# Another country, to show that nothing reads Bangladesh from anywhere but the setting.
KENYA = country_module.validate(
    {
        "code": "KE",
        "name": "Kenya",
        "bbox": [33.9, -4.7, 41.9, 5.0],
        "zoom": 6,
        "phone_region": "KE",
        "currency": "KES",
        "level_names": ["Country", "County", "Sub-county"],
        "languages": ["en"],
        "chart_level": 1,
        "attribution": "Boundaries: test",
    },
    known_languages=["en", "bn", "fr"],
)


def test_validate_fills_the_centre_and_normalises_codes():
    config = country_module.validate(BANGLADESH, known_languages=["en", "bn", "fr"])
    assert config["currency"] == "BDT"
    assert config["center"] == pytest.approx(((20.59 + 26.64) / 2, (88.0 + 92.69) / 2))
    assert config["zoom"] == 7
    country = country_module.Country(**config)
    assert country.level_name(3) == "Upazila" and country.level_name(7) == "Level 7"
    assert country.leaflet_bounds() == [[20.59, 88.0], [26.64, 92.69]]


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"code": "BGD"}, "SPMIS_COUNTRY_CODE"),
        ({"bbox": [92.69, 20.59, 88.0, 26.64]}, "SPMIS_COUNTRY_BBOX"),
        ({"bbox": [88.0, 20.59, 92.69]}, "SPMIS_COUNTRY_BBOX"),
        ({"center": [95.0, 90.0]}, "SPMIS_COUNTRY_CENTER"),
        ({"phone_region": "XX"}, "SPMIS_PHONE_REGION"),
        ({"currency": "TAKA"}, "SPMIS_CURRENCY"),
        ({"languages": ["en", "de"]}, "SPMIS_LANGUAGES"),
        ({"level_names": []}, "SPMIS_ADMIN_LEVEL_NAMES"),
        ({"chart_level": 4}, "SPMIS_CHART_LEVEL"),
    ],
)
def test_a_wrong_value_stops_start_up_naming_its_variable(change, variable):
    with pytest.raises(ImproperlyConfigured, match=variable):
        country_module.validate({**BANGLADESH, **change}, known_languages=["en", "bn", "fr"])


def _page_json(html: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"no json_script {element_id}"
    return json.loads(match.group(1))


def _signed_in(user) -> Client:
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_the_map_starts_on_the_configured_country_not_on_the_level0_areas(settings):
    # A bad import put a level-0 area at the North Pole: national users must still start on the country.
    AreaFactory(code="ARCTIC", geom=square(10.0, 80.0, 5.0))
    coordinator = _signed_in(UserFactory(roles=["emergency_coordinator"]))

    html = coordinator.get("/map/").content.decode()
    assert _page_json(html, "page-config")["bounds"] is None
    start = _page_json(html, "country-config")
    assert start["bounds"] == [[20.59, 88.0], [26.64, 92.69]] and start["chartLevel"] == 2

    settings.SPMIS_COUNTRY = KENYA
    html = coordinator.get("/map/").content.decode()
    start = _page_json(html, "country-config")
    assert start["code"] == "KE" and start["bounds"] == [[-4.7, 33.9], [5.0, 41.9]]
    assert start["chartLevel"] == 1 and start["chartLevelName"] == "County"
    assert _page_json(html, "page-config")["text"]["choropleth"] == "Affected by county"
    assert "Name or code, e.g. a county" in html


def test_a_scoped_user_starts_on_their_areas(two_districts):
    _, west, _ = two_districts
    scoped = _signed_in(UserFactory(roles=["emergency_coordinator"], areas=[west]))
    bounds = _page_json(scoped.get("/map/").content.decode(), "page-config")["bounds"]
    assert bounds == [[23.0, 90.0], [24.0, 91.0]]


def test_phone_numbers_without_a_country_code_are_read_for_the_configured_region(settings):
    from registry.importing import ImportOptions
    from registry.services import phone_normalise

    assert phone_normalise(raw="01712-345678") == "+8801712345678"
    assert ImportOptions().phone_region == "BD"
    settings.SPMIS_COUNTRY = KENYA
    assert phone_normalise(raw="0712 345678") == "+254712345678"
    assert ImportOptions().phone_region == "KE"
    # An explicit region still wins over the configured one.
    assert phone_normalise(raw="01712-345678", region="BD") == "+8801712345678"


def test_household_density_and_the_report_follow_the_configured_levels_and_centre(settings, two_districts):
    from registry.models import Household
    from response.report import situation_map_html
    from tests.factories import HouseholdFactory
    from tests.response.factories import IncidentFactory

    _, west, _ = two_districts
    HouseholdFactory.create_batch(3)  # at 90.5, 23.5: in West
    assert Household.objects.filter(area=west).count() == 3
    admin = _signed_in(UserFactory(is_superuser=True, is_staff=True))
    # Bangladesh's chart level (2, districts) does not exist in this two-level test country.
    assert admin.get("/map/household-density.json").json() == {"level": 2, "households": {}}
    settings.SPMIS_COUNTRY = {**KENYA, "chart_level": 1}
    assert admin.get("/map/household-density.json").json() == {"level": 1, "households": {"C-W": 3}}

    from response.models import ExposureRun

    run = ExposureRun.objects.create(incident=IncidentFactory(), status=ExposureRun.Status.SUCCEEDED)
    script = situation_map_html(run)["script"]
    lat, lon = (float(n) for n in re.search(r"center: \[([-0-9.e]+), ([-0-9.e]+)\]", script).groups())
    assert (lat, lon) == pytest.approx((0.15, 37.9)) and '"zoom": 6' in script


def test_the_dashboard_breaks_down_by_the_configured_level(settings, client_for, two_districts):
    import datetime

    from django.contrib.gis.geos import Point
    from django.test import TestCase

    from tests.factories import HouseholdFactory

    api = client_for(roles=["emergency_coordinator"])
    HouseholdFactory(location=Point(90.3, 23.3, srid=4326))
    incident = api.post(
        "/api/v1/response/incidents/",
        {"name": "Flood", "hazard_type": "flood", "started_on": str(datetime.date(2026, 7, 1))},
        format="json",
    ).json()
    ring = [[90.2, 23.2], [90.4, 23.2], [90.4, 23.4], [90.2, 23.4], [90.2, 23.2]]
    zone = {"incident": incident["id"], "geometry": {"type": "Polygon", "coordinates": [ring]}, "hazard_class": "high"}
    assert api.post("/api/v1/response/hazard-zones/", zone, format="json").status_code == 201
    with TestCase.captureOnCommitCallbacks(execute=True):
        api.post("/api/v1/response/exposure-runs/", {"incident": incident["id"]}, format="json")
    page = _signed_in(api.user)

    html = page.get(f"/incidents/{incident['id']}/dashboard/").content.decode()
    assert "Households by district" in html and "report/?level=2" in html
    assert "<span>West</span>" not in html  # no level-2 areas in this test country
    settings.SPMIS_COUNTRY = KENYA  # chart level 1: West and East
    html = page.get(f"/incidents/{incident['id']}/dashboard/").content.decode()
    assert "Households by county" in html and "report/?level=1" in html
    assert "<span>West</span>" in html
