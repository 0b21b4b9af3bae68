"""The stock API end to end: catalogue, GRN with shortage and damage, dispatch on a waybill, balances, PDFs,
reversal, alerts; bad input is a 400 naming the field or line with nothing written; areas scope what is seen."""

import datetime

import pytest
from django.contrib.gis.geos import Point

from distribution.stock.models import StockDocument, StockMovement
from tests.distribution.factories_stock import receive, rice
from tests.factories import DistributionPointFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
S = "/api/v1/distribution/stock"
WEST = Point(90.5, 23.5, srid=4326)
EAST = Point(91.5, 23.5, srid=4326)


@pytest.fixture
def places(two_districts):
    return {
        "warehouse": WarehouseFactory(code="WH-W", location=WEST, capacity_tonnes=5),
        "point": DistributionPointFactory(code="DP-W", location=WEST),
        "east": WarehouseFactory(code="WH-E", location=EAST),
    }


@pytest.fixture
def officer(client_for, two_districts):
    return client_for(roles=["logistics_officer"], areas=[two_districts[1]])


def test_receipt_dispatch_balances_pdf_and_reversal_through_the_api(officer, places):
    item = officer.post(
        f"{S}/items/",
        {
            "code": "rice",
            "name": "Rice",
            "category": "food",
            "base_unit": "kg",
            "weight_kg": "1",
            "kcal": "3600",
            "minimum_stock": "100",
            "units": [{"code": "bag", "factor": "25", "is_pack": True}],
        },
        format="json",
    )
    assert item.status_code == 201, item.json()
    expiry = (datetime.date.today() + datetime.timedelta(days=200)).isoformat()
    grn = officer.post(
        f"{S}/receipts/",
        {
            "warehouse": places["warehouse"].pk,
            "supplier": "WFP",
            "reference": "WB-77",
            "lines": [
                {
                    "item": "rice",
                    "quantity": "40",
                    "unit": "bag",
                    "lot": "R1",
                    "expires_on": expiry,
                    "shortage": "2",
                    "damaged": "1",
                }
            ],
        },
        format="json",
    )
    assert grn.status_code == 201, grn.json()
    assert grn.json()["number"].startswith("GRN-") and grn.json()["lines"][0]["shortage"] == "2.000"
    pdf = officer.get(grn.json()["pdf_url"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content[:4] == b"%PDF"
    waybill = officer.post(
        f"{S}/dispatches/",
        {
            "warehouse": places["warehouse"].pk,
            "point": places["point"].pk,
            "vehicle": "DHA-1234",
            "lines": [{"item": "rice", "quantity": "10", "unit": "bag"}],
        },
        format="json",
    )
    assert waybill.status_code == 201, waybill.json()
    assert officer.get(waybill.json()["pdf_url"]).content[:4] == b"%PDF"
    balances = officer.get(f"{S}/balances/", {"item": "rice"}).json()["results"]
    assert {(b["location_code"], b["lot"], b["on_hand"]) for b in balances} == {
        ("WH-W", "R1", "675.000"),
        ("DP-W", "R1", "250.000"),
    }
    documents = officer.get(f"{S}/documents/").json()["results"]
    assert [d["kind"] for d in documents] == ["dispatch", "receipt"]
    reversed_ = officer.post(f"{S}/documents/{waybill.json()['id']}/reverse/", {"reason": "wrong point"}, format="json")
    assert reversed_.status_code == 201, reversed_.json()
    again = officer.post(f"{S}/documents/{waybill.json()['id']}/reverse/", {"reason": "again"}, format="json")
    assert again.status_code == 400 and "already been reversed" in str(again.json())
    balances = officer.get(f"{S}/balances/", {"point": places["point"].pk}).json()["results"]
    assert balances == []
    movements = officer.get(f"{S}/movements/", {"document": reversed_.json()["id"]}).json()["results"]
    assert sorted(m["quantity"] for m in movements) == ["-250.000", "250.000"]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"item": "caviar", "quantity": "1", "unit": "kg"}, "lines[1].item"),
        ({"item": "rice", "quantity": "1", "unit": "crate"}, "lines[1].unit"),
        ({"item": "rice", "quantity": "1", "unit": "bag", "shortage": "2"}, "lines[1].shortage"),
        ({"item": "rice", "quantity": "201", "unit": "bag"}, "lines"),  # 5 t capacity: 5,050 kg refused
    ],
)
def test_bad_receipt_line_is_a_400_naming_it_and_nothing_is_written(officer, places, line, field):
    rice()
    body = {"warehouse": places["warehouse"].pk, "lines": [{"item": "rice", "quantity": "1", "unit": "bag"}, line]}
    response = officer.post(f"{S}/receipts/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert not StockDocument.objects.exists() and not StockMovement.objects.exists()


def test_dispatch_beyond_stock_is_a_400_naming_the_item(officer, places):
    receive(places["warehouse"], rice(), 2, "bag")
    body = {
        "warehouse": places["warehouse"].pk,
        "point": places["point"].pk,
        "lines": [{"item": "rice", "quantity": "3", "unit": "bag"}],
    }
    response = officer.post(f"{S}/dispatches/", body, format="json")
    assert response.status_code == 400
    assert "Not enough Rice (rice) at WH-W" in str(response.json()["lines[0].quantity"])
    assert StockDocument.objects.count() == 1


def test_other_areas_stock_is_invisible_and_unwritable(officer, places):
    item = rice()
    receive(places["east"], item, 1, "bag")
    receive(places["warehouse"], item, 1, "bag")
    assert [b["location_code"] for b in officer.get(f"{S}/balances/").json()["results"]] == ["WH-W"]
    body = {"warehouse": places["east"].pk, "lines": [{"item": "rice", "quantity": "1", "unit": "bag"}]}
    assert officer.post(f"{S}/receipts/", body, format="json").status_code == 403


def test_alerts_low_stock_and_near_expiry(officer, places):
    item = rice()
    item.minimum_stock = 100
    item.save()
    soon = (datetime.date.today() + datetime.timedelta(days=5)).isoformat()
    receive(places["warehouse"], item, 2, "bag", lot="S", expires_on=soon)
    alerts = officer.get(f"{S}/alerts/").json()["results"]
    assert {a["kind"] for a in alerts} == {"low_stock", "near_expiry"}
    assert all(a["location_code"] == "WH-W" for a in alerts)


def test_program_officer_reads_but_cannot_write(client_for, places):
    reader = client_for(roles=["program_officer"])
    assert reader.get(f"{S}/balances/").status_code == 200
    body = {"warehouse": places["warehouse"].pk, "lines": [{"item": "rice", "quantity": "1"}]}
    assert reader.post(f"{S}/receipts/", body, format="json").status_code == 403
