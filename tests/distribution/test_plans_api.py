"""A distribution plan end to end through the API, on a road grid split by a flood: assignments by road time,
unusable points, capacity, unreachable households with their reasons, re-planning and its diff, the map, scoping
and personal data, and bad input refused with nothing written."""

from decimal import Decimal

import pytest
from django.test import TestCase

from distribution.models import DistributionPlan, PlanAssignment
from tests.distribution.factories_plans import at, box, entitle, in_kind_cycle, road_grid
from tests.distribution.factories_stock import StockItemFactory, receive, rice, stock_point
from tests.factories import DistributionPointFactory, UserFactory, WarehouseFactory
from tests.response.factories import HazardZoneFactory, IncidentFactory
from tests.response.test_api import start_run

pytestmark = pytest.mark.django_db
URL = "/api/v1/distribution/plans/"


def create_plan(client, **payload):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(URL, payload, format="json")
    assert response.status_code == 202, response.content
    plan = DistributionPlan.objects.get(pk=response.json()["id"])
    assert plan.status == "succeeded", plan.error
    return plan


@pytest.fixture
def flooded_grid(client_for, two_districts):
    """A 10 × 10 street grid in West cut north–south by a flood at i = 4.5; point A (west, 10 a day), B (east,
    2 a day), C (inside the flood). Households: 3 west, 4 east, one far from every road, one without a place."""
    _, west, _ = two_districts
    network = road_grid(size=10)
    incident = IncidentFactory()
    incident.areas.set([west])
    HazardZoneFactory(incident=incident, geom=box(4.3, -1, 4.7, 11))
    points = {
        "A": DistributionPointFactory(code="A", location=at(2, 5), daily_capacity_households=10),
        "B": DistributionPointFactory(code="B", location=at(8, 5), daily_capacity_households=2),
        "C": DistributionPointFactory(code="C", location=at(4.5, 2), daily_capacity_households=50),
    }
    # Stock: 25 kg of rice already at A; 30 kg in the west warehouse, plenty (and 10 l of oil) in the east one,
    # and a full store inside the flood that the analysis makes unusable.
    food, oil = rice(), StockItemFactory(code="oil", name="Oil", base_unit="l", weight_kg=Decimal("0.92"))
    stores = {
        "west": WarehouseFactory(code="W-WEST", location=at(1, 5)),
        "east": WarehouseFactory(code="W-EAST", location=at(9, 1)),
        "wet": WarehouseFactory(code="W-WET", location=at(4.5, 8)),
    }
    stock_point(stores["west"], points["A"], food, 1, "bag")
    receive(stores["west"], food, 30)
    receive(stores["east"], food, 1000)
    receive(stores["east"], oil, 10)
    receive(stores["wet"], food, 1000)
    coordinator = client_for(roles=["emergency_coordinator"])
    run = start_run(coordinator, incident.pk)
    cycle = in_kind_cycle(exposure_run=run, incident=incident)
    cycle.program.areas.set(two_districts[1:])
    west_hh = entitle(cycle, [at(1, 1), at(2, 2), at(3, 3)])
    east_hh = entitle(cycle, [at(6, 5), at(7, 5), at(9, 9), at(6, 2)])
    far = entitle(cycle, [at(50, 50)])
    nowhere = entitle(cycle, [None])
    entitle(cycle, [at(1, 1)], status="draft")  # not approved: not planned
    officer = client_for(roles=["logistics_officer"])
    return {
        "network": network, "run": run, "cycle": cycle, "points": points, "west": west_hh, "east": east_hh,
        "far": far[0], "nowhere": nowhere[0], "officer": officer, "districts": two_districts, "stores": stores,
    }  # fmt: skip


def test_a_plan_assigns_by_road_time_around_the_flood_and_explains_who_cannot_be_served(flooded_grid, client_for):
    g = flooded_grid
    officer = g["officer"]
    cycles = officer.get(f"{URL}cycles/").json()["results"]
    assert [(c["id"], c["in_kind_entitlements"]) for c in cycles] == [(g["cycle"].pk, 9)]
    plan = create_plan(officer, cycle=g["cycle"].pk, days=1)
    assert plan.exposure_run_id == g["run"].pk and plan.network_id == g["network"].pk
    assert plan.result["households"] == 9 and plan.result["assigned"] == 5 and plan.result["unreachable"] == 4
    assert plan.result["closure_zones"] == 1

    rows = officer.get(f"{URL}{plan.pk}/assignments/", {"page_size": 100}).json()["results"]
    by_household = {row["household"]: row for row in rows}
    assert {by_household[h.pk]["point_code"] for h in g["west"]} == {"A"}
    east = [by_household[h.pk] for h in g["east"]]
    # B serves two a day: its two nearest by road; the other two are told it is full.
    assert sorted(row["point_code"] or "-" for row in east) == ["-", "-", "B", "B"]
    assert by_household[g["east"][0].pk]["point_code"] == "B"  # one block from B
    full = [row["reason"] for row in east if row["point_code"] is None]
    assert full == ["nearest usable point B full, and every other point it can reach too"] * 2
    assert by_household[g["far"].pk]["reason"] == "no road within 1000 m of the household"
    assert by_household[g["nowhere"].pk]["reason"] == "no location recorded for the household"
    assert all(row["travel_s"] > 0 for row in rows if row["point"])
    assert "location" not in rows[0]  # the logistics officer does not see where households live

    points = {row["code"]: row for row in officer.get(f"{URL}{plan.pk}/points/").json()["results"]}
    assert points["C"]["usable"] is False and points["C"]["reason"].startswith("inside hazard zone")
    assert points["A"]["households"] == 3 and points["B"]["households"] == 2 and points["B"]["capacity"] == 2

    items = officer.get(f"{URL}{plan.pk}/items/").json()["results"]
    rice_a = next(row for row in items if row["point_code"] == "A" and row["item"] == "rice")
    assert rice_a["quantity"] == "75.000"  # three households × 25 kg
    summary = officer.get(f"{URL}{plan.pk}/unreachable/", {"summary": "1"}).json()
    assert sum(row["households"] for row in summary) == 4
    assert {row["area_code"] for row in summary} == {"C-W", None}  # the household without a place has no area

    geojson = officer.get(f"{URL}{plan.pk}/map/").json()
    layers = [f["properties"]["layer"] for f in geojson["features"]]
    assert layers.count("point") == 3 and layers.count("catchment") == 2
    assert geojson["features"][3]["geometry"]["type"] in ("Polygon", "LineString", "Point")
    closed = officer.get(f"{URL}{plan.pk}/closed-roads/").json()["features"]
    # The flood at i = 4.5 closes the ten east–west streets between i = 4 and i = 5, nothing else.
    assert len(closed) == 10 and {f["properties"]["layer"] for f in closed} == {"closed_road"}
    assert all(90.14 <= f["geometry"]["coordinates"][0][0] <= 90.15 for f in closed)


def test_quantities_stock_shortfalls_and_truck_loads_follow_the_roads_open_after_the_flood(flooded_grid):
    g = flooded_grid
    officer = g["officer"]
    plan = create_plan(officer, cycle=g["cycle"].pk, truck_capacity_kg="100")
    lines = {(r["point_code"], r["item"]): r for r in officer.get(f"{URL}{plan.pk}/items/").json()["results"]}
    # A: 3 × 25 kg needed, 25 on hand, only the west store reaches it (30 kg): 20 kg short. No oil reaches A.
    assert [lines[("A", "rice")][k] for k in ("quantity", "on_hand", "from_warehouses", "shortfall")] == [
        "75.000", "25.000", "30.000", "20.000",
    ]  # fmt: skip
    assert lines[("A", "oil")]["shortfall"] == "6.000" and lines[("A", "oil")]["unit"] == "l"
    # B (east bank): the east store covers it all; the flooded store is never used.
    assert lines[("B", "rice")]["from_warehouses"] == "50.000" and lines[("B", "rice")]["shortfall"] == "0.000"
    assert lines[("B", "oil")]["from_warehouses"] == "4.000"
    shortfalls = officer.get(f"{URL}{plan.pk}/shortfalls/").json()["results"]
    assert {(r["point_code"], r["item"]) for r in shortfalls} == {("A", "rice"), ("A", "oil")}
    transport = {
        (r["warehouse_code"], r["point_code"]): r for r in officer.get(f"{URL}{plan.pk}/transport/").json()["results"]
    }
    assert set(transport) == {("W-WEST", "A"), ("W-EAST", "B")}
    east = transport[("W-EAST", "B")]
    assert east["weight_kg"] == "53.680" and east["trucks"] == 1  # 50 kg rice + 4 l × 0.92 kg
    assert sorted((i["item"], i["quantity"]) for i in east["items"]) == [("oil", "4.000"), ("rice", "50.000")]
    assert transport[("W-WEST", "A")]["travel_s"] > 0
    assert plan.result["usable_warehouses"] == 2 and plan.result["shortfall_lines"] == 2


def test_an_item_the_catalogue_does_not_know_fails_the_plan_naming_it_and_writes_nothing(flooded_grid):
    g = flooded_grid
    entitle(g["cycle"], [at(2, 1)], items=[("biscuits", "1", "box")])
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = g["officer"].post(URL, {"cycle": g["cycle"].pk}, format="json")
    plan = DistributionPlan.objects.get(pk=response.json()["id"])
    assert plan.status == "failed"
    assert "biscuits" in plan.error["items"][0] and "not in the stock catalogue" in plan.error["items"][0]
    assert not PlanAssignment.objects.filter(plan=plan).exists()


def test_re_planning_with_more_days_shows_who_became_reachable_and_the_quantity_deltas(flooded_grid):
    g = flooded_grid
    officer = g["officer"]
    first = create_plan(officer, cycle=g["cycle"].pk, days=1)
    second = create_plan(officer, cycle=g["cycle"].pk, days=2)
    assert second.previous_id == first.pk
    assert second.result["assigned"] == 7
    assert second.result["changes"]["became_reachable"] == 2 and second.result["changes"]["joined"] == 0
    diff = officer.get(f"{URL}{second.pk}/diff/").json()
    assert diff["against"] == first.pk and diff["became_reachable"] == 2 and diff["changed_point"] == 0
    assert sorted(row["change"] for row in diff["households"]) == ["became_reachable"] * 2
    rice_b = next(row for row in diff["quantities"] if row["point"] == "B" and row["item"] == "rice")
    assert (rice_b["before"], rice_b["after"], rice_b["delta"]) == ("50.000", "100.000", "50.000")


def test_a_point_without_capacity_leaves_the_far_bank_cut_off_by_the_flood(flooded_grid):
    g = flooded_grid
    g["points"]["B"].daily_capacity_households = 0
    g["points"]["B"].save()
    plan = create_plan(g["officer"], cycle=g["cycle"].pk)
    rows = g["officer"].get(f"{URL}{plan.pk}/unreachable/").json()["results"]
    reasons = {row["household"]: row["reason"] for row in rows}
    assert {reasons[h.pk] for h in g["east"]} == {"every road to West crosses the flood"}


def test_households_are_listed_only_inside_the_users_areas_and_places_only_with_the_permission(
    flooded_grid, client_for
):
    g = flooded_grid
    plan = create_plan(g["officer"], cycle=g["cycle"].pk)
    _, west, east = g["districts"]
    east_officer = client_for(UserFactory(roles=["logistics_officer"], areas=[east]))
    assert east_officer.get(f"{URL}{plan.pk}/assignments/").json()["results"] == []
    assert east_officer.get(f"{URL}{plan.pk}/points/").json()["results"] == []  # A, B and C lie in West
    reader = client_for(UserFactory(roles=["gis_analyst"], areas=[west]))
    rows = reader.get(f"{URL}{plan.pk}/assignments/").json()["results"]
    assert len(rows) == 8 and all("location" not in row and "snap_m" not in row for row in rows)
    unreachable = [
        f for f in reader.get(f"{URL}{plan.pk}/map/").json()["features"] if f["properties"]["layer"] == "unreachable"
    ]
    assert unreachable and all("household" not in f["properties"] for f in unreachable)
    coordinator = client_for(roles=["emergency_coordinator"])  # holds registry.view_personal_data
    located = coordinator.get(f"{URL}{plan.pk}/unreachable/").json()["results"]
    far = next(row for row in located if row["household"] == g["far"].pk)
    assert far["location"] == [round(at(50, 50).x, 6), round(at(50, 50).y, 6)] and far["snap_m"] > 1000
    assert client_for(UserFactory()).get(URL).status_code == 403
    assert reader.post(URL, {"cycle": g["cycle"].pk}, format="json").status_code == 403


def test_bad_requests_are_refused_naming_the_field_and_write_nothing(flooded_grid):
    g = flooded_grid
    officer = g["officer"]
    cases = [
        ({"cycle": g["cycle"].pk, "days": 0}, "days"),
        ({"cycle": g["cycle"].pk, "colour": "red"}, "colour"),
        ({"cycle": 999999}, "cycle"),
        ({"cycle": g["cycle"].pk, "network": 999999}, "network"),
        ({"cycle": g["cycle"].pk, "truck_capacity_kg": "lots"}, "truck_capacity_kg"),
    ]
    for payload, field in cases:
        response = officer.post(URL, payload, format="json")
        assert response.status_code == 400, (payload, response.content)
        assert field in response.json(), response.json()
    g["cycle"].state = "draft"
    g["cycle"].save()
    response = officer.post(URL, {"cycle": g["cycle"].pk}, format="json")
    assert response.status_code == 400 and "approved cycle" in response.json()["cycle"][0]
    assert not DistributionPlan.objects.exists() and not PlanAssignment.objects.exists()
