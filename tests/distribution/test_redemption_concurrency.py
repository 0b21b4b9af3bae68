"""Exactly once, in the database: the same entitlement redeemed at the same moment at two points, on two real
connections, both past every Python check before either writes. One succeeds; the other is refused with who, where
and when of the first, and nothing of it stays."""

import threading

import pytest
from django.db import connection

from distribution.redemption import services, vouchers
from distribution.redemption.models import Redemption, RedemptionBalance, RedemptionLine
from tests.distribution import factories_redemption as f
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_two_points_redeeming_at_once_one_wins_the_other_is_told_who_where_when(two_districts, monkeypatch):
    _, west, _ = two_districts
    points = [f.point("DP-A", location=(90.3, 23.6)), f.point("DP-B", location=(90.6, 23.4))]
    operators = [UserFactory(username=name, roles=["logistics_officer"], areas=[west]) for name in ("amina", "badal")]
    household, _ = f.household_with_id()
    entitlement = f.entitlement(cycle=f.approved_cycle(), household=household, kind="cash", amount="3000")
    voucher = vouchers.sign(entitlement.code)

    # Both transactions have read the balance (nothing redeemed) and decided to hand everything over before either
    # writes a line: only the balance's check can stop the second.
    both_checked = threading.Barrier(2, timeout=20)
    real = services._lines_to_hand_over

    def checked_then_wait(*args, **kwargs):
        lines = real(*args, **kwargs)
        both_checked.wait()
        return lines

    monkeypatch.setattr(services, "_lines_to_hand_over", checked_then_wait)
    outcomes: dict[str, object] = {}

    def redeem(index: int) -> None:
        try:
            outcomes[points[index].code] = services.redemption_redeem(
                user=operators[index], point_id=points[index].pk, voucher=voucher
            )
        except services.RedemptionRefused as refused:
            outcomes[points[index].code] = refused
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    won = [code for code, outcome in outcomes.items() if isinstance(outcome, Redemption)]
    lost = [code for code, outcome in outcomes.items() if isinstance(outcome, services.RedemptionRefused)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    refusal = outcomes[lost[0]]
    winner = outcomes[won[0]]
    assert refusal.reason == "already_redeemed"
    assert refusal.previous[0]["point"] == won[0] and refusal.previous[0]["redemption"] == winner.code
    winner_operator = "amina" if won[0] == "DP-A" else "badal"
    assert f"({won[0]}) by {winner_operator} on " in refusal.text
    assert Redemption.objects.count() == 1 and RedemptionLine.objects.count() == 1
    assert RedemptionBalance.objects.get(entitlement=entitlement).redeemed == 3000


@pytest.mark.django_db(transaction=True)
def test_a_voucher_redeemed_while_a_payment_batch_pays_it_is_handed_over_at_most_once(two_districts, monkeypatch):
    """The redemption has moved the voucher's balance; a payment of the same entitlement is inserted on another
    connection before the redemption commits. Exactly one of them stands."""
    from django.db import IntegrityError, transaction

    from programs.payments.models import Payment
    from tests.distribution.test_redemption_rules import _payment

    _, west, _ = two_districts
    point = f.point("DP-C", location=(90.3, 23.6))
    operator = UserFactory(roles=["logistics_officer"], areas=[west])
    household, _ = f.household_with_id()
    entitlement = f.entitlement(cycle=f.approved_cycle(), household=household, kind="cash", amount="700")
    lines_written = threading.Event()
    real = services._lock_and_refuse_if_paid

    def let_the_payment_in(*args, **kwargs):
        lines_written.set()
        threading.Event().wait(1.0)  # the payment is inserted now, and waits on the balance row
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_lock_and_refuse_if_paid", let_the_payment_in)
    outcome: dict[str, object] = {}

    def redeem():
        try:
            outcome["redemption"] = services.redemption_redeem(
                user=operator, point_id=point.pk, voucher=vouchers.sign(entitlement.code)
            )
        except services.RedemptionRefused as refused:
            outcome["redemption"] = refused
        finally:
            connection.close()

    def pay():
        lines_written.wait(20)
        try:
            with transaction.atomic():
                _payment(entitlement, operator)
            outcome["payment"] = "paid"
        except IntegrityError as error:
            outcome["payment"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem), threading.Thread(target=pay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    redeemed = isinstance(outcome["redemption"], Redemption)
    paid = outcome["payment"] == "paid"
    assert redeemed != paid, outcome  # one, never both, never neither
    assert Payment.objects.filter(entitlement=entitlement).count() == int(paid)
    assert Redemption.objects.filter(entitlement=entitlement).count() == int(redeemed)
    if not paid:
        assert "redeemed as a cash voucher" in str(outcome["payment"])
