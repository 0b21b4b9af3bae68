"""In-kind redemption on the real stock ledger (distribution.stock): goods leave the point's stock in the
redemption's transaction, come back on a correction, a shortage refuses the redemption with the stock untouched;
two points redeeming one entitlement at once take stock at one point only; eight households redeeming at once at a
point with stock for three get three handed over and never drive it negative."""

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from distribution.redemption import services, vouchers
from distribution.redemption.models import Redemption, RedemptionConflict
from distribution.stock.models import StockMovement
from distribution.stock.selectors import stock_on_hand
from tests.distribution import factories_redemption as f
from tests.distribution import factories_stock as s
from tests.factories import UserFactory, WarehouseFactory

BASE = "/api/v1/distribution/"


def on_hand(point, item) -> Decimal:
    return stock_on_hand(points=[point.pk], items=[item]).get(("point", point.pk, item), Decimal(0))


@pytest.fixture
def site(two_districts):
    _, west, _ = two_districts
    rice, tarpaulin = s.rice(), s.tarpaulin()
    warehouse = WarehouseFactory(code="WH-W")
    point = f.point("DP-S", location=(90.4, 23.7))
    s.stock_point(warehouse, point, rice, 4, "bag")  # 100 kg
    s.stock_point(warehouse, point, tarpaulin, 3)
    household, number = f.household_with_id()
    ent = f.entitlement(
        cycle=f.approved_cycle(), household=household, items={"rice": ("2", "bag"), "tarpaulin": ("1", "piece")}
    )
    return {"west": west, "warehouse": warehouse, "point": point, "ent": ent, "number": number,
            "rice": rice, "tarpaulin": tarpaulin}  # fmt: skip


@pytest.mark.django_db
def test_in_kind_end_to_end_online_offline_and_correction(site, client_for):
    api = client_for(roles=["logistics_officer"], areas=[site["west"]])
    point, ent = site["point"], site["ent"]
    voucher = vouchers.sign(ent.code)
    first = api.post(
        f"{BASE}redemptions/",
        {"point": point.pk, "voucher": voucher, "items": [{"item": "rice", "quantity": 1, "unit": "bag"}]},
        format="json",
    )
    assert first.status_code == 201, first.json()
    assert on_hand(point, "rice") == 75 and on_hand(point, "tarpaulin") == 3
    remaining = {row["item"]: row["remaining"] for row in first.json()["balance"]}
    assert remaining == {"rice": "25", "tarpaulin": "1"}
    movements = first.json()["lines"][0]["stock_movements"]
    assert StockMovement.objects.get(pk=movements[0]).reference == first.json()["code"]

    device, key = f.device(user=api.user, point=point)
    batch = api.post(f"{BASE}redemption-batches/", f.signed_batch(device, key, [f.offline_record(voucher=voucher)]),
                     format="json")  # fmt: skip
    assert batch.status_code == 201 and batch.json()["result"][0]["status"] == "redeemed"
    assert on_hand(point, "rice") == 50 and on_hand(point, "tarpaulin") == 2

    correction = api.post(f"{BASE}redemptions/{first.json()['id']}/correct/", {"reason": "bag was torn"})
    assert correction.status_code == 201, correction.json()
    assert on_hand(point, "rice") == 75
    again = api.post(f"{BASE}redemptions/", {"point": point.pk, "voucher": voucher}, format="json")
    assert again.status_code == 201 and on_hand(point, "rice") == 50
    done = api.post(f"{BASE}redemptions/", {"point": point.pk, "voucher": voucher}, format="json")
    assert done.status_code == 409 and done.json()["reason"] == "already_redeemed"
    summary = api.get(f"{BASE}redemptions/summary/", {"point": point.pk}).json()
    assert (summary["redemptions"], summary["corrections"], summary["offline"], summary["households"]) == (3, 1, 1, 1)
    assert summary["items"] == [
        {"item": "rice", "unit": "kg", "handed_over": "50"},
        {"item": "tarpaulin", "unit": "piece", "handed_over": "1"},
    ]
    assert on_hand(point, "rice") == 100 - 50 and on_hand(point, "tarpaulin") == 3 - 1


@pytest.mark.django_db
def test_a_shortage_refuses_the_redemption_and_leaves_the_stock(site, client_for):
    api = client_for(roles=["logistics_officer"], areas=[site["west"]])
    other, _ = f.household_with_id()
    big = f.entitlement(cycle=site["ent"].cycle, household=other, items={"rice": ("5", "bag")})
    movements = StockMovement.objects.count()
    response = api.post(
        f"{BASE}redemptions/", {"point": site["point"].pk, "voucher": vouchers.sign(big.code)}, format="json"
    )
    assert response.status_code == 400 and response.json()["reason"] == "insufficient_stock"
    assert "Not enough rice at DP-S" in response.json()["voucher"][0]
    assert on_hand(site["point"], "rice") == 100 and StockMovement.objects.count() == movements
    assert not Redemption.objects.exists()
    # Offline, the same shortage is a conflict for follow-up.
    device, key = f.device(user=api.user, point=site["point"])
    batch = api.post(
        f"{BASE}redemption-batches/",
        f.signed_batch(device, key, [f.offline_record(voucher=vouchers.sign(big.code))]),
        format="json",
    )
    assert batch.json()["result"][0]["reason"] == "insufficient_stock"
    assert RedemptionConflict.objects.get().reason == "insufficient_stock"
    assert on_hand(site["point"], "rice") == 100


def _race(calls):
    """Run the callables at once on their own connections; their results (or refusals) in order."""
    results: list[object] = [None] * len(calls)
    start = threading.Barrier(len(calls), timeout=30)

    def run(index):
        try:
            start.wait()
            results[index] = calls[index]()
        except services.RedemptionRefused as refused:
            results[index] = refused
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_points_redeeming_one_entitlement_at_once_take_stock_at_one_point_only(site, monkeypatch):
    second = f.point("DP-T", location=(90.6, 23.4))
    s.stock_point(site["warehouse"], second, site["rice"], 4, "bag")
    s.stock_point(site["warehouse"], second, site["tarpaulin"], 3)
    operator = UserFactory(roles=["logistics_officer"], areas=[site["west"]])
    both_checked = threading.Barrier(2, timeout=20)
    real = services._lines_to_hand_over

    def checked_then_wait(*args, **kwargs):
        lines = real(*args, **kwargs)
        both_checked.wait()
        return lines

    monkeypatch.setattr(services, "_lines_to_hand_over", checked_then_wait)
    voucher = vouchers.sign(site["ent"].code)
    results = _race(
        [
            lambda p=p: services.redemption_redeem(user=operator, point_id=p.pk, voucher=voucher)
            for p in (site["point"], second)
        ]
    )
    won = [r for r in results if isinstance(r, Redemption)]
    lost = [r for r in results if isinstance(r, services.RedemptionRefused)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].reason == "already_redeemed" and lost[0].previous[0]["redemption"] == won[0].code
    rice_left = sorted([on_hand(site["point"], "rice"), on_hand(second, "rice")])
    assert rice_left == [50, 100]  # one point handed out 2 bags, the other nothing
    assert sorted([on_hand(site["point"], "tarpaulin"), on_hand(second, "tarpaulin")]) == [2, 3]


@pytest.mark.django_db(transaction=True)
def test_eight_households_at_once_on_stock_for_three_never_go_negative(site):
    operator = UserFactory(roles=["logistics_officer"], areas=[site["west"]])
    # The point holds 100 kg of rice: four households' 25 kg after one 25 kg is handed out first.
    services.redemption_redeem(
        user=operator, point_id=site["point"].pk, voucher=vouchers.sign(site["ent"].code),
        items=[{"item": "rice", "quantity": 1, "unit": "bag"}],
    )  # fmt: skip
    entitlements = [
        f.entitlement(cycle=site["ent"].cycle, household=f.household_with_id()[0], items={"rice": ("1", "bag")})
        for _ in range(8)
    ]
    results = _race(
        [
            lambda e=e: services.redemption_redeem(
                user=operator, point_id=site["point"].pk, voucher=vouchers.sign(e.code), client_uuid=uuid.uuid4()
            )
            for e in entitlements
        ]
    )
    won = [r for r in results if isinstance(r, Redemption)]
    refused = [r for r in results if isinstance(r, services.RedemptionRefused)]
    assert len(won) == 3 and len(refused) == 5, results
    assert {r.reason for r in refused} == {"insufficient_stock"}
    assert on_hand(site["point"], "rice") == 0
    assert Redemption.objects.count() == 4
