"""Property: whatever sequence of partial redemptions, over-asks, corrections and replays hits an entitlement, its
balance equals the sum of its lines (redeemed minus corrected), never leaves 0..entitled, each line's
remaining_after is the balance it left, a correction of a correction is refused, and a replay adds nothing."""

import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distribution.redemption import services, vouchers
from distribution.redemption.models import Redemption, RedemptionBalance, RedemptionLine
from tests.distribution import factories_redemption as f
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

steps = st.lists(
    st.one_of(
        st.tuples(st.just("redeem"), st.integers(min_value=1, max_value=1500)),
        st.tuples(st.just("rest"), st.just(0)),
        st.tuples(st.just("correct"), st.integers(min_value=0, max_value=10)),
        st.tuples(st.just("replay"), st.integers(min_value=0, max_value=10)),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def world(two_districts):
    _, west, _ = two_districts
    return {
        "user": UserFactory(roles=["logistics_officer"], areas=[west]),
        "point": f.point(location=(90.4, 23.7)),
        "cycle": f.approved_cycle(),
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
def test_balance_is_the_sum_of_the_lines_and_stays_within_the_entitlement(world, sequence):
    household, _ = f.household_with_id()
    entitlement = f.entitlement(cycle=world["cycle"], household=household, kind="cash", amount="2000")
    voucher = vouchers.sign(entitlement.code)
    done: list[tuple[Redemption, dict]] = []
    expected = Decimal(0)

    def redeem(amount, key):
        return services.redemption_redeem(
            user=world["user"], point_id=world["point"].pk, voucher=voucher, amount=amount, client_uuid=key
        )

    for action, number in sequence:
        if action in ("redeem", "rest"):
            amount = str(number) if action == "redeem" else None
            key = uuid.uuid4()
            try:
                redemption = redeem(amount, key)
            except services.RedemptionRefused as refused:
                assert refused.reason in ("already_redeemed", "over_entitlement")
                asked = Decimal(number) if amount else Decimal(1)
                assert expected + asked > 2000
                continue
            given_out = redemption.lines.get().base_quantity
            expected += given_out
            done.append((redemption, {"amount": amount, "key": key}))
        elif action == "correct" and done:
            redemption, _ = done[number % len(done)]
            try:
                correction = services.redemption_correct(user=world["user"], redemption=redemption, reason="test")
            except ValidationError as error:
                assert "corrected already" in str(error)
                continue
            expected -= redemption.lines.get().base_quantity
            with pytest.raises(ValidationError, match="cannot itself be corrected"):
                services.redemption_correct(user=world["user"], redemption=correction, reason="undo")
        elif action == "replay" and done:
            redemption, request = done[number % len(done)]
            before = RedemptionLine.objects.count()
            again = redeem(request["amount"], request["key"])
            assert again.pk == redemption.pk and RedemptionLine.objects.count() == before

        balance = RedemptionBalance.objects.filter(entitlement=entitlement).first()
        lines = RedemptionLine.objects.filter(entitlement=entitlement)
        if balance is None:  # nothing redeemed yet
            assert expected == 0 and not lines.exists()
            continue
        redeemed = lines.filter(kind="redemption").aggregate(s=Sum("base_quantity"))["s"] or 0
        corrected = lines.filter(kind="correction").aggregate(s=Sum("base_quantity"))["s"] or 0
        assert balance.redeemed == redeemed - corrected == expected
        assert 0 <= balance.redeemed <= balance.entitled
        last = lines.order_by("-id").first()
        assert last.remaining_after == balance.entitled - balance.redeemed
