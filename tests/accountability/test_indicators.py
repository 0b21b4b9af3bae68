"""Published indicators: households affected, covered, paid and reached per district, with counts of 1..k-1
suppressed (and a lone suppressed cell taking the next smallest with it), readable by partners as JSON, CSV and
OGC API – Features; the indicator list is a registry another app extends in one line."""

from __future__ import annotations

import csv
import io

import pytest

from accountability import indicators
from tests.programs.conftest import response_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/accountability/indicators/"


@pytest.fixture
def k(settings):
    def set_k(value: int) -> None:
        settings.SPMIS = {**settings.SPMIS, "PUBLISH_MIN_CELL": value}

    return set_k


def table(client, **params):
    response = client.get(URL, {"level": 1, **params})
    assert response.status_code == 200, response.content
    data = response.json()
    return data, {area["code"]: area for area in data["areas"]}


def test_every_count_is_published_when_k_is_one(client_for, world, k):
    k(1)
    data, areas = table(client_for(roles=["partner"]))
    assert [i["key"] for i in data["indicators"]] == list(indicators.INDICATORS)
    west, east = areas["C-W"], areas["C-E"]
    assert (west["households_affected"], east["households_affected"]) == (5, 2)
    assert (west["households_covered"], east["households_covered"]) == (3, 1)
    assert (west["households_paid"], east["households_paid"]) == (1, 0)
    assert (west["households_reached"], east["households_reached"]) == (1, 0)
    assert data["totals"] == {"households_affected": 7, "households_covered": 4, "households_paid": 1,
                              "households_reached": 1, "grievances_received": 0}  # fmt: skip


def test_small_cells_are_suppressed_with_their_complement_and_zero_stays_zero(client_for, world, k):
    k(2)
    data, areas = table(client_for(roles=["partner"]))
    west, east = areas["C-W"], areas["C-E"]
    assert (west["households_affected"], east["households_affected"]) == (5, 2)
    # East's single covered household is suppressed; west's 3 goes too, or 4 - 3 would give east away.
    assert (west["households_covered"], east["households_covered"]) == (None, None)
    assert "households_covered" in east["suppressed"] and "households_covered" in west["suppressed"]
    assert data["totals"]["households_covered"] == 4
    assert (west["households_paid"], east["households_paid"]) == (None, 0)
    assert data["totals"]["households_paid"] is None and data["min_cell"] == 2
    export = client_for(roles=["partner"]).get(URL + "export/", {"level": 1})
    assert export.status_code == 200 and export.streaming
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(response_bytes(export).decode("utf-8-sig")))}
    assert rows["C-W"]["households_covered"] == "" and rows["C-W"]["households_affected"] == "5"


def test_filters_by_program_and_incident_and_bad_values_name_the_parameter(client_for, world, k):
    k(1)
    client = client_for(roles=["partner"])
    _, areas = table(client, program=world.program.pk)
    assert areas["C-W"]["households_affected"] == 5 and areas["C-W"]["households_covered"] == 3
    _, other = table(client, incident=world.cycle.incident_id)
    assert other["C-W"]["households_affected"] == 5
    for params, field in [({"program": 999999}, "program"), ({"level": 12}, "level"), ({"incident": "x"}, "incident")]:
        response = client.get(URL, params)
        assert response.status_code == 400 and field in response.json()


def test_a_new_indicator_is_one_registration(client_for, world, k, monkeypatch):
    k(1)
    monkeypatch.setattr(indicators, "INDICATORS", dict(indicators.INDICATORS))
    indicators.register("grievances_open", "Open grievances", lambda q: [(world.west.pk, 4)], unit="grievances")
    _, areas = table(client_for(roles=["partner"]))
    assert areas["C-W"]["grievances_open"] == 4 and areas["C-E"]["grievances_open"] == 0


def test_partners_read_indicators_but_not_the_dashboard_or_the_log(client_for, world):
    partner = client_for(roles=["partner"])
    assert partner.get(URL).status_code == 200
    assert partner.get("/api/v1/accountability/dashboard/", {"program": world.program.pk}).status_code == 403
    assert partner.get("/api/v1/accountability/audit-events/").status_code == 403
    assert client_for(roles=[]).get(URL).status_code == 403


def test_ogc_collections_serve_districts_with_their_indicators(client_for, world, k):
    k(1)
    client = client_for(roles=["partner"])
    base = "/api/v1/accountability/ogc"
    assert client.get(base + "/").json()["links"][0]["rel"] == "self"
    assert client.get(base + "/conformance").json()["conformsTo"]
    ids = [c["id"] for c in client.get(base + "/collections").json()["collections"]]
    assert ids == ["households-by-division", "households-by-district", "households-by-upazila"]
    collection = client.get(base + "/collections/households-by-division").json()
    assert collection["extent"]["spatial"]["bbox"] == [[90.0, 23.0, 92.0, 24.0]]
    items = client.get(base + "/collections/households-by-division/items", {"limit": 1}).json()
    assert items["numberMatched"] == 2 and items["numberReturned"] == 1
    assert items["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert items["features"][0]["properties"]["code"] == "C-E"
    assert any(link["rel"] == "next" for link in items["links"])
    west = client.get(f"{base}/collections/households-by-division/items/{world.west.pk}").json()
    assert west["properties"]["households_affected"] == 5
    assert client.get(base + "/collections/nothing/items").status_code == 404


def test_the_grievances_indicator_publishes_real_tickets_by_district_without_sensitive_ones(client_for, world, k):
    from tests.grievances.factories import ticket

    k(2)
    for _ in range(3):
        ticket(area=world.west)
    ticket(area=world.east)
    ticket(area=world.west, category="gbv-sea")  # sensitive: never on a published map
    data, areas = table(client_for(roles=["partner"]))
    assert "grievances_received" in [i["key"] for i in data["indicators"]]
    assert areas["C-W"]["grievances_received"] is None  # east's 1 is suppressed, so west's 3 goes with it
    assert areas["C-E"]["grievances_received"] is None
    assert data["totals"]["grievances_received"] == 4
    k(1)
    data, areas = table(client_for(roles=["partner"]))
    assert (areas["C-W"]["grievances_received"], areas["C-E"]["grievances_received"]) == (3, 1)
