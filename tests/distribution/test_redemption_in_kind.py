"""In-kind redemption against a stand-in for the stock ledger (distribution.redemption.stock is the one door to it):
items in parts and in other units, what remains in base units, goods issued inside the redemption's transaction,
not enough stock refused naming the item with nothing written, a correction giving the goods back."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from distribution.redemption import services, stock, vouchers
from distribution.redemption.models import Redemption, RedemptionBalance, RedemptionLine
from tests.distribution import factories_redemption as f
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
UNITS = {("rice", "kg"): 1, ("rice", "bag"): 25, ("lentils", "kg"): 1, ("oil", "l"): 1}


class FakeStock:
    """Per point, item: base quantity on hand; refuses what is not there, as the stock service does."""

    def __init__(self, on_hand):
        self.on_hand = dict(on_hand)
        self.calls = []

    def to_base(self, item, quantity, unit, *, field):
        if (item, unit) not in UNITS:
            raise ValidationError({field: f"{unit!r} is not a unit of {item}."})
        return Decimal(quantity) * UNITS[(item, unit)], "kg" if item != "oil" else "l"

    def issue(self, *, point_id, item_code, quantity, unit, reference, user):
        assert connection.in_atomic_block  # inside the redemption's transaction
        base, _ = self.to_base(item_code, quantity, unit, field="items")
        if self.on_hand.get((point_id, item_code), 0) < base:
            raise ValidationError({"quantity": f"Only {self.on_hand.get((point_id, item_code), 0)} of {item_code}."})
        self.on_hand[(point_id, item_code)] -= base
        self.calls.append(("issue", item_code, base, reference))
        return [len(self.calls)]

    def give_back(self, *, point_id, item_code, quantity, unit, reference, user):
        base, _ = self.to_base(item_code, quantity, unit, field="items")
        self.on_hand[(point_id, item_code)] += base
        self.calls.append(("return", item_code, base, reference))
        return [len(self.calls)]


@pytest.fixture
def site(two_districts, monkeypatch):
    _, west, _ = two_districts
    point = f.point("DP-K", location=(90.4, 23.7))
    fake = FakeStock({(point.pk, "rice"): Decimal(100), (point.pk, "lentils"): Decimal(4)})
    for name in ("to_base", "issue", "give_back"):
        monkeypatch.setattr(stock, name, getattr(fake, name))
    household, _ = f.household_with_id()
    ent = f.entitlement(
        cycle=f.approved_cycle(), household=household, items={"rice": ("2", "bag"), "lentils": ("5", "kg")}
    )
    operator = UserFactory(roles=["logistics_officer"], areas=[west])
    return {"point": point, "fake": fake, "ent": ent, "operator": operator, "voucher": vouchers.sign(ent.code)}


def redeem(site, **kwargs):
    return services.redemption_redeem(
        user=site["operator"], point_id=site["point"].pk, voucher=site["voucher"], **kwargs
    )


def test_items_are_redeemed_in_parts_in_any_unit_of_the_item(site):
    first = redeem(site, items=[{"item": "rice", "quantity": "1", "unit": "bag"}, {"item": "lentils", "quantity": 2}])
    lines = {line.item: line for line in first.lines.all()}
    assert lines["rice"].base_quantity == 25 and lines["rice"].remaining_after == 25
    assert lines["lentils"].unit == "kg" and lines["lentils"].remaining_after == 3
    assert site["fake"].on_hand[(site["point"].pk, "rice")] == 75
    assert lines["rice"].stock_movements == [1] and site["fake"].calls[0][3] == first.code

    second = redeem(site, items=[{"item": "rice", "quantity": "25", "unit": "kg"}])
    assert second.lines.get().remaining_after == 0
    with pytest.raises(services.RedemptionRefused) as refused:
        redeem(site, items=[{"item": "rice", "quantity": "1", "unit": "kg"}])
    assert refused.value.reason == "already_redeemed" and first.code in str(refused.value.previous)


def test_not_enough_stock_is_refused_naming_the_item_and_nothing_is_written(site):
    with pytest.raises(services.RedemptionRefused, match="Not enough lentils at DP-K") as refused:
        redeem(site)  # everything: 50 kg rice, 5 kg lentils; only 4 kg lentils at the point
    assert refused.value.reason == "insufficient_stock"
    assert not Redemption.objects.exists() and not RedemptionLine.objects.exists()
    assert all(row.redeemed == 0 for row in RedemptionBalance.objects.all())


@pytest.mark.parametrize(
    ("items", "field", "words"),
    [
        ([{"item": "sugar", "quantity": 1}], "items[0].item", "not part of entitlement"),
        ([{"item": "rice", "quantity": 1, "unit": "crate"}], "items[0].unit", "not a unit of rice"),
        ([{"item": "rice", "quantity": 0}], "items[0].quantity", "positive"),
        ([{"item": "rice", "quantity": 1}, {"item": "rice", "quantity": 1}], "items[1].item", "listed twice"),
        ([{"item": "rice", "quantity": "3", "unit": "bag"}], "voucher", "Only 50 kg of rice remain"),
    ],
)
def test_bad_items_are_refused_naming_the_row(site, items, field, words):
    with pytest.raises(ValidationError) as error:
        redeem(site, items=items)
    assert words in " ".join(error.value.message_dict[field])
    assert not Redemption.objects.exists() and site["fake"].calls == []


def test_a_correction_gives_the_goods_back_to_the_point(site):
    redemption = redeem(site, items=[{"item": "rice", "quantity": "2", "unit": "bag"}])
    assert site["fake"].on_hand[(site["point"].pk, "rice")] == 50
    correction = services.redemption_correct(user=site["operator"], redemption=redemption, reason="wrong person")
    assert site["fake"].on_hand[(site["point"].pk, "rice")] == 100
    assert site["fake"].calls[-1] == ("return", "rice", Decimal(50), correction.code)
    assert RedemptionBalance.objects.get(entitlement=site["ent"], item="rice").redeemed == 0
