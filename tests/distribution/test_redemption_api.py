"""Redemption through the API, end to end: voucher for an entitlement, lookup at the point, redeem in parts,
a second redemption refused (409 with who/where/when), correction, and the reads scoped to the user's areas with
names only for holders of registry.view_personal_data."""

import uuid

import pytest

from distribution.redemption import vouchers
from distribution.redemption.models import Redemption
from tests.distribution import factories_redemption as f

pytestmark = pytest.mark.django_db
BASE = "/api/v1/distribution/"


@pytest.fixture
def site(client_for, two_districts):
    _, west, east = two_districts
    household, number = f.household_with_id()
    cycle = f.approved_cycle()
    return {
        "officer": client_for(roles=["logistics_officer"], areas=[west]),
        "programs": client_for(roles=["program_officer"], areas=[west]),
        "east": client_for(roles=["logistics_officer"], areas=[east]),
        "point": f.point("DP-1", location=(90.4, 23.7)),
        "household": household,
        "number": number,
        "cash": f.entitlement(cycle=cycle, household=household, kind="cash", amount="3000"),
    }


def test_cash_voucher_end_to_end(site):
    officer, point, cash = site["officer"], site["point"], site["cash"]
    voucher = site["programs"].get(f"{BASE}redemptions/voucher/?entitlement={cash.code}")
    assert voucher.status_code == 200, voucher.json()
    text = voucher.json()["voucher"]
    assert vouchers.verify(text).entitlement_code == cash.code

    found = officer.get(f"{BASE}redemptions/lookup/", {"point": point.pk, "voucher": text}).json()
    assert found["count"] == 1
    summary = found["results"][0]
    assert summary["redeemable"] is True and summary["balance"][0]["remaining"] == "3000"
    assert "head" not in summary  # logistics officers see no names
    assert summary["household"] == site["household"].registrant_id

    key = str(uuid.uuid4())
    body = {"point": point.pk, "voucher": text, "amount": "1200", "client_uuid": key}
    first = officer.post(f"{BASE}redemptions/", body, format="json")
    assert first.status_code == 201, first.json()
    data = first.json()
    assert data["balance"][0]["remaining"] == "1800" and data["lines"][0]["remaining_after"] == "1800.000000"
    assert data["operator_name"] == officer.user.username and data["point_code"] == "DP-1"
    # The screen retries the same request (a lost answer): the same redemption, nothing added.
    retried = officer.post(f"{BASE}redemptions/", body, format="json")
    assert retried.status_code == 200 and retried.json()["code"] == data["code"] and retried.json()["replayed"]
    reused = officer.post(f"{BASE}redemptions/", {**body, "amount": "5"}, format="json")
    assert reused.status_code == 422 and reused.json()["reason"] == "key_reused"

    rest = officer.post(f"{BASE}redemptions/", {"point": point.pk, "voucher": text}, format="json")
    assert rest.status_code == 201 and rest.json()["balance"][0]["remaining"] == "0"
    again = officer.post(f"{BASE}redemptions/", {"point": point.pk, "voucher": text}, format="json")
    assert again.status_code == 409
    refusal = again.json()
    assert refusal["reason"] == "already_redeemed" and "DP-1" in refusal["voucher"][0]
    assert [row["redemption"] for row in refusal["previous"]] == [data["code"], rest.json()["code"]]
    assert Redemption.objects.count() == 2

    correction = officer.post(f"{BASE}redemptions/{rest.json()['id']}/correct/", {"reason": "counted twice"})
    assert correction.status_code == 201 and correction.json()["kind"] == "correction"
    assert correction.json()["balance"][0]["remaining"] == "1800"

    summary = officer.get(f"{BASE}redemptions/summary/", {"point": point.pk}).json()
    assert (summary["redemptions"], summary["corrections"], summary["households"]) == (2, 1, 1)
    assert summary["items"] == [{"item": "cash", "unit": "BDT", "handed_over": "1200"}]
    listed = officer.get(f"{BASE}redemptions/?entitlement={cash.pk}").json()
    assert listed["count"] == 3
    assert site["east"].get(f"{BASE}redemptions/").json()["count"] == 0  # another district sees none


def test_registry_search_by_id_number_then_redeem_with_the_id_check(site):
    officer, point = site["officer"], site["point"]
    found = officer.get(f"{BASE}redemptions/lookup/", {"point": point.pk, "id_number": site["number"]}).json()
    assert [row["entitlement"] for row in found["results"]] == [site["cash"].code]
    wrong = officer.post(
        f"{BASE}redemptions/",
        {"point": point.pk, "entitlement": site["cash"].code, "id_number": "12345678"},
        format="json",
    )
    assert wrong.status_code == 400 and wrong.json()["reason"] == "id_mismatch" and "id_number" in wrong.json()
    right = officer.post(
        f"{BASE}redemptions/",
        {"point": point.pk, "entitlement": site["cash"].code, "id_number": site["number"], "amount": "10"},
        format="json",
    )
    assert right.status_code == 201 and right.json()["method"] == "search"


def test_personal_data_holders_see_the_head_of_household(site, client_for, two_districts):
    coordinator = client_for(roles=["emergency_coordinator", "logistics_officer"], areas=[two_districts[1]])
    found = coordinator.get(f"{BASE}redemptions/lookup/", {"point": site["point"].pk, "code": site["cash"].code}).json()
    head = site["household"].memberships.get().individual
    assert found["results"][0]["head"] == str(head)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"voucher": "SPV1.dev.ENT-0000000001-7.AAAAAAAAAAAAAAAA"}, "voucher", "signature does not match"),
        ({"voucher": "hello"}, "voucher", "not a voucher code"),
        ({}, "voucher", "Scan the voucher"),
        ({"amount": "-3"}, "amount", "positive"),
        ({"amount": "1.2345"}, "amount", "decimals"),
        ({"items": [{"item": "rice", "quantity": 1}]}, "items", "cash voucher"),
        ({"colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(site, body, field, words):
    body = {"point": site["point"].pk, **body}
    if "voucher" not in body and body.keys() - {"point"} != set():
        body["voucher"] = vouchers.sign(site["cash"].code)
    response = site["officer"].post(f"{BASE}redemptions/", body, format="json")
    assert response.status_code == 400, response.json()
    assert words in " ".join(response.json()[field])
    assert not Redemption.objects.exists()


def test_who_may_do_what(site, client_for):
    auditor = client_for(roles=["auditor"])
    assert auditor.get(f"{BASE}redemptions/").status_code == 200
    body = {"point": site["point"].pk, "voucher": vouchers.sign(site["cash"].code)}
    assert auditor.post(f"{BASE}redemptions/", body, format="json").status_code == 403
    assert client_for(roles=["gis_analyst"]).get(f"{BASE}redemptions/").status_code == 403
    # A logistics officer cannot print vouchers (programs issue them).
    assert site["officer"].get(f"{BASE}redemptions/voucher/?entitlement={site['cash'].code}").status_code == 403
    assert auditor.get(f"{BASE}redemptions/voucher/?entitlement={site['cash'].code}").status_code == 403
    assert site["east"].post(f"{BASE}redemptions/", body, format="json").status_code == 400  # point not in scope
    east_point = f.point("DP-E", location=(91.4, 23.7))
    found = site["east"].get(f"{BASE}redemptions/lookup/", {"point": east_point.pk, "code": site["cash"].code})
    assert found.status_code == 200 and found.json()["count"] == 0  # a household elsewhere is not found
    assert not Redemption.objects.exists()
