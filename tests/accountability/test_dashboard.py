"""The program dashboard: figures by district equal what the world holds, totals add up, scoping keeps a district
officer inside their district, and the CSV export carries the same numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from tests.programs.conftest import response_bytes

pytestmark = pytest.mark.django_db


def get(client, world, **params):
    response = client.get("/api/v1/accountability/dashboard/", {"program": world.program.pk, "level": 1, **params})
    assert response.status_code == 200, response.content
    return response.json()


def by_code(data):
    return {row["code"]: row for row in data["by_area"]}


def test_dashboard_by_district_counts_affected_entitled_paid_and_redeemed(client_for, world):
    data = get(client_for(roles=["program_officer"]), world, cycle=world.cycle.pk)
    west, east = by_code(data)["C-W"], by_code(data)["C-E"]
    assert west["affected"] == {"households": 5, "people": 15, "enrolled": 4, "entitled": 4, "entitled_people": 12}
    assert east["affected"] == {"households": 2, "people": 6, "enrolled": 1, "entitled": 1, "entitled_people": 3}
    assert west["enrolled"] == 4 and east["enrolled"] == 1
    assert west["entitlements"]["planned"] == {"count": 4, "amount": "4000.000"}
    assert west["entitlements"]["approved"]["count"] == 3
    assert Decimal(west["payments"]["paid"]["amount"]) == 1000 and west["payments"]["paid"]["count"] == 1
    assert west["payments"]["failed"]["count"] == 1 and west["payments"]["planned"]["count"] == 2
    assert east["payments"]["pending"]["count"] == 1
    assert west["distribution"] == {"planned": 3, "redeemed": 1}
    assert east["distribution"] == {"planned": 1, "redeemed": 0}
    totals = data["totals"]
    assert totals["affected"]["households"] == 7 and totals["enrolled"] == 5
    assert totals["entitlements"]["approved"]["count"] == 4
    assert totals["payments"]["paid"]["count"] == 1 and totals["distribution"]["redeemed"] == 1
    today = timezone.localdate().isoformat()
    day = next(row for row in data["series"] if row["day"] == today)
    assert day["paid"]["count"] == 1 and day["failed"]["count"] == 1 and day["redeemed"] == 1
    assert len(data["series"]) == 30


def test_a_district_officer_sees_only_their_district(client_for, world):
    data = get(client_for(roles=["program_officer"], areas=[world.east]), world)
    assert set(by_code(data)) == {"C-E"}
    assert data["totals"]["affected"]["households"] == 2
    assert data["totals"]["payments"]["paid"]["count"] == 0


def test_unknown_program_cycle_and_level_are_400_naming_the_parameter(client_for, world):
    client = client_for(roles=["program_officer"])
    url = "/api/v1/accountability/dashboard/"
    assert "program" in client.get(url).json()
    assert "program" in client.get(url, {"program": 999999}).json()
    assert "cycle" in client.get(url, {"program": world.program.pk, "cycle": 999999}).json()
    assert "level" in client.get(url, {"program": world.program.pk, "level": 9}).json()
    assert "start" in client.get(url, {"program": world.program.pk, "start": "2026-02-30"}).json()


def test_roles_without_the_dashboard_are_refused(client_for, world):
    assert client_for(roles=["partner"]).get("/api/v1/accountability/dashboard/").status_code == 403
    assert client_for(UserFactory(roles=[])).get("/api/v1/accountability/dashboard/").status_code == 403


def test_csv_export_streams_the_same_numbers(client_for, world):
    client = client_for(roles=["finance_officer"])
    response = client.get(
        "/api/v1/accountability/dashboard/export/", {"program": world.program.pk, "level": 1, "table": "areas"}
    )
    assert response.status_code == 200 and response.streaming
    rows = {row["area_code"]: row for row in csv.DictReader(io.StringIO(response_bytes(response).decode("utf-8-sig")))}
    assert rows["C-W"]["affected_households"] == "5" and rows["C-W"]["payments_paid"] == "1"
    assert rows["C-E"]["distribution_planned"] == "1"
    stock = client.get("/api/v1/accountability/dashboard/export/", {"program": world.program.pk, "table": "stock"})
    assert response_bytes(stock).decode("utf-8-sig").startswith("warehouse,")
    bad = client.get("/api/v1/accountability/dashboard/export/", {"program": world.program.pk, "table": "x"})
    assert bad.status_code == 400 and "table" in bad.json()


def test_the_series_export_has_one_row_a_day_and_a_program_outside_ones_areas_is_refused(
    client_for, world, two_districts
):
    from programs.models import Program

    client = client_for(roles=["program_officer"])
    series = client.get(
        "/api/v1/accountability/dashboard/export/",
        {"program": world.program.pk, "table": "series", "start": "2026-01-01", "end": "2026-01-10"},
    )
    lines = response_bytes(series).decode("utf-8-sig").splitlines()
    assert lines[0] == "day,paid,amount_paid,failed,amount_failed,redeemed" and len(lines) == 11
    east_only = Program.objects.create(name="East only", currency="BDT")
    east_only.areas.add(world.east)
    west_officer = client_for(roles=["program_officer"], areas=[world.west])
    refused = west_officer.get("/api/v1/accountability/dashboard/", {"program": east_only.pk})
    assert refused.status_code == 400 and "program" in refused.json()
    too_long = client.get("/api/v1/accountability/dashboard/", {"program": world.program.pk, "start": "2024-01-01"})
    assert too_long.status_code == 400 and "start" in too_long.json()
