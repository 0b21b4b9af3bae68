"""Redeeming at a point: a cash voucher in parts, and every refusal in words (expired, cancelled, not approved,
foreign area or program, wrong ID, already redeemed) with nothing written."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from distribution.redemption import services, vouchers
from distribution.redemption.models import Redemption, RedemptionBalance, RedemptionLine
from programs.models import Program
from tests.distribution import factories_redemption as f
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(two_districts):
    _, west, east = two_districts
    operator = UserFactory(roles=["logistics_officer"], areas=[west])
    point = f.point("DP-W", location=(90.4, 23.7))
    household, number = f.household_with_id()
    cycle = f.approved_cycle()
    cash = f.entitlement(cycle=cycle, household=household, kind="cash", amount="3000")
    return {"operator": operator, "point": point, "household": household, "number": number, "cycle": cycle,
            "cash": cash, "west": west, "east": east}  # fmt: skip


def redeem(setup, **kwargs):
    kwargs.setdefault("voucher", vouchers.sign(setup["cash"].code))
    return services.redemption_redeem(user=setup["operator"], point_id=setup["point"].pk, **kwargs)


def test_a_cash_voucher_is_redeemed_in_parts_and_then_refused_naming_the_first(setup):
    first = redeem(setup, amount="1000")
    assert first.method == "scan" and first.code.startswith("RDM-")
    line = RedemptionLine.objects.get(redemption=first)
    assert line.item == "cash" and line.unit == "BDT" and line.remaining_after == 2000
    rest = redeem(setup)  # everything that remains
    assert RedemptionLine.objects.get(redemption=rest).base_quantity == 2000
    balance = RedemptionBalance.objects.get(entitlement=setup["cash"])
    assert balance.redeemed == balance.entitled == 3000
    with pytest.raises(services.RedemptionRefused) as refused:
        redeem(setup, amount="1")
    assert refused.value.reason == "already_redeemed"
    assert "DP-W" in refused.value.text and setup["operator"].username in refused.value.text
    assert refused.value.previous[0]["redemption"] == first.code
    assert Redemption.objects.count() == 2


def test_more_than_remains_is_refused_with_what_remains(setup):
    redeem(setup, amount="2500")
    with pytest.raises(services.RedemptionRefused, match="Only 500 BDT of cash remain") as refused:
        redeem(setup, amount="600")
    assert refused.value.reason == "over_entitlement"
    assert Redemption.objects.count() == 1


def test_registry_search_needs_the_id_of_a_current_member(setup):
    code = setup["cash"].code
    with pytest.raises(services.RedemptionRefused) as refused:
        redeem(setup, voucher=None, entitlement_code=code, id_number="0000000000")
    assert refused.value.reason == "id_mismatch" and refused.value.field == "id_number"
    typed = f" {setup['number'][:4]} {setup['number'][4:]} "  # spaces as a person types them
    redemption = redeem(setup, voucher=None, entitlement_code=code, id_number=typed, amount="10")
    assert redemption.method == "search" and redemption.id_document.number == setup["number"]


@pytest.mark.parametrize(
    ("change", "reason", "words"),
    [
        ({"status": "cancelled"}, "cancelled", "was cancelled"),
        ({"status": "draft"}, "not_approved", "not approved"),
        ({"status": "paused"}, "paused", "is paused"),
        ({"valid_until": -1, "valid_from": -10}, "expired", "expired on"),
        ({"valid_from": 2, "valid_until": 10}, "not_yet_valid", "valid from"),
    ],
)
def test_entitlements_not_redeemable_today_are_refused(setup, change, reason, words):
    today = timezone.localdate()
    household, _ = f.household_with_id()
    values = {k: (today + datetime.timedelta(days=v) if k.startswith("valid") else v) for k, v in change.items()}
    ent = f.entitlement(cycle=setup["cycle"], household=household, kind="cash", **values)
    with pytest.raises(services.RedemptionRefused, match=words) as refused:
        redeem(setup, voucher=vouchers.sign(ent.code))
    assert refused.value.reason == reason
    assert not Redemption.objects.exists() and not RedemptionLine.objects.exists()


def test_a_household_outside_the_points_area_is_foreign(setup):
    east_household, _ = f.household_with_id(location=(91.5, 23.5))
    ent = f.entitlement(cycle=setup["cycle"], household=east_household, kind="cash")
    national = UserFactory(roles=["logistics_officer"])
    with pytest.raises(services.RedemptionRefused, match="outside the area this point serves") as refused:
        services.redemption_redeem(user=national, point_id=setup["point"].pk, voucher=vouchers.sign(ent.code))
    assert refused.value.reason == "foreign"
    # The west operator does not even see the east household.
    with pytest.raises(services.RedemptionRefused, match="outside your areas"):
        redeem(setup, voucher=vouchers.sign(ent.code))


def test_another_programs_entitlement_is_foreign_where_that_program_does_not_distribute(setup):
    program = Program.objects.create(name="East only", currency="BDT")
    program.areas.set([setup["east"]])
    ent = f.entitlement(cycle=f.approved_cycle(program=program), household=setup["household"], kind="cash")
    with pytest.raises(services.RedemptionRefused, match="does not distribute at DP-W") as refused:
        redeem(setup, voucher=vouchers.sign(ent.code))
    assert refused.value.reason == "foreign"


def test_a_point_outside_the_operators_areas_is_refused(setup):
    east_point = f.point("DP-E", location=(91.4, 23.7))
    with pytest.raises(services.ValidationError, match="No such distribution point"):
        services.redemption_redeem(
            user=setup["operator"], point_id=east_point.pk, voucher=vouchers.sign(setup["cash"].code)
        )


def test_a_correction_reverses_once_and_frees_the_entitlement(setup):
    first = redeem(setup)
    correction = services.redemption_correct(user=setup["operator"], redemption=first, reason="wrong household")
    assert correction.kind == "correction" and correction.reverses_id == first.pk
    assert RedemptionBalance.objects.get(entitlement=setup["cash"]).redeemed == 0
    with pytest.raises(services.ValidationError, match="corrected already"):
        services.redemption_correct(user=setup["operator"], redemption=first, reason="again")
    with pytest.raises(services.ValidationError, match="cannot itself be corrected"):
        services.redemption_correct(user=setup["operator"], redemption=correction, reason="undo")
    again = redeem(setup)
    assert RedemptionLine.objects.get(redemption=again).base_quantity == 3000


def test_the_database_refuses_what_python_would_let_through(setup):
    """Bypassing the service: lines beyond the entitlement, edits and deletes of the ledger, a hand-set balance."""
    redemption = redeem(setup, amount="3000")
    balance = RedemptionBalance.objects.get(entitlement=setup["cash"])
    extra = Redemption.objects.create(
        method="scan", entitlement=setup["cash"], household=setup["household"], program=setup["cycle"].program,
        point=setup["point"], occurred_at=timezone.now(),
    )  # fmt: skip
    with pytest.raises(IntegrityError, match="within_entitlement"), transaction.atomic():
        RedemptionLine.objects.create(
            redemption=extra, entitlement=setup["cash"], kind="redemption", item="cash", quantity=1, unit="BDT",
            base_quantity=1,
        )  # fmt: skip
    with pytest.raises(IntegrityError, match="not part of entitlement"), transaction.atomic():
        RedemptionLine.objects.create(
            redemption=extra, entitlement=setup["cash"], kind="redemption", item="rice", quantity=1, unit="kg",
            base_quantity=1,
        )  # fmt: skip
    for statement in (
        "UPDATE distribution_redemption SET point_id = point_id",
        "DELETE FROM distribution_redemptionline",
        "UPDATE distribution_redemptionbalance SET redeemed = 0",
        "DELETE FROM distribution_redemptionbalance",
    ):
        refused = pytest.raises(Exception, match=r"append-only|only through redemption lines")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    balance.refresh_from_db()
    assert balance.redeemed == 3000 and redemption.lines.count() == 1


def _payment(entitlement, user):
    from programs.payments.models import Payment, PaymentBatch
    from tests.factories import BankFactory

    batch = PaymentBatch.objects.create(
        cycle=entitlement.cycle, program=entitlement.program, fsp=BankFactory(), currency="BDT",
        execution_date=timezone.localdate(), prepared_by=user,
    )  # fmt: skip
    return Payment.objects.create(
        batch=batch, entitlement=entitlement, household=entitlement.household, amount=entitlement.amount,
        currency="BDT",
    )  # fmt: skip


def test_a_cash_voucher_is_either_paid_by_transfer_or_redeemed_never_both(setup):
    """Redeemed at a point: the database refuses a payment of it. Paid: the point refuses to redeem it."""
    redeem(setup, amount="1")
    with pytest.raises(IntegrityError, match="redeemed as a cash voucher"), transaction.atomic():
        _payment(setup["cash"], setup["operator"])
    household, _ = f.household_with_id()
    paid = f.entitlement(cycle=setup["cycle"], household=household, kind="cash", amount="500")
    _payment(paid, setup["operator"])
    with pytest.raises(services.RedemptionRefused, match="paid by transfer") as refused:
        redeem(setup, voucher=vouchers.sign(paid.code))
    assert refused.value.reason == "paid"
    assert not RedemptionLine.objects.filter(entitlement=paid).exists()
