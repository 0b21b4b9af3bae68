"""The stock ledger: receipts with shortage and damage, FEFO dispatch and issue, capacity, reversals, the database's
guards (negative stock, append-only, balances written only by the ledger) and the rebuild."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from distribution.stock import selectors, services
from distribution.stock.models import StockBalance, StockDocument, StockMovement
from tests.distribution.factories_stock import receive, rice, stock_point, tarpaulin
from tests.factories import DistributionPointFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


def on_hand(**where) -> Decimal:
    return sum((b.on_hand for b in StockBalance.objects.filter(**where)), Decimal(0))


def assert_balanced():
    """Every balance is the sum of its lines, and none is negative."""
    sums = {}
    for m in StockMovement.objects.all():
        key = (m.warehouse_id, m.point_id, m.item_id, m.lot_id)
        sums[key] = sums.get(key, Decimal(0)) + m.quantity
    balances = {(b.warehouse_id, b.point_id, b.item_id, b.lot_id): b.on_hand for b in StockBalance.objects.all()}
    assert {k: v for k, v in balances.items() if v} == {k: v for k, v in sums.items() if v}
    assert all(v >= 0 for v in balances.values())


def test_convert_pack_sizes_and_refuse_unknown_item_or_unit():
    rice()
    assert selectors.convert("rice", 2, "bag") == Decimal("50.000")
    assert selectors.convert("rice", "1.5", "kg") == Decimal("1.500")
    with pytest.raises(ValidationError) as unknown:
        selectors.convert("caviar", 1, "kg")
    assert "caviar" in str(unknown.value)
    with pytest.raises(ValidationError) as unit:
        selectors.convert("rice", 1, "crate")
    assert "crate" in str(unit.value) and "bag" in str(unit.value)


def test_receipt_with_shortage_and_damage_puts_in_what_arrived_in_good_order():
    item = rice()
    warehouse = WarehouseFactory()
    document = receive(
        warehouse, item, 100, "bag", shortage=4, damaged=2, lot="L1", expires_on=str(TODAY.replace(year=TODAY.year + 1))
    )
    assert document.number.startswith("GRN-")
    assert on_hand(warehouse=warehouse) == Decimal(94 * 25)
    kinds = sorted(document.movements.values_list("kind", "quantity"))
    assert kinds == [("loss", Decimal(-50)), ("receipt", Decimal(2400))]
    line = document.lines.get()
    assert (line.quantity, line.shortage, line.damaged, line.base_quantity) == (100, 4, 2, 2500)
    assert_balanced()


def test_unknown_item_in_a_receipt_names_the_row_and_writes_nothing():
    rice()
    warehouse = WarehouseFactory()
    lines = [{"item": "rice", "quantity": 1, "unit": "bag"}, {"item": "nope", "quantity": 1, "unit": "kg"}]
    with pytest.raises(ValidationError) as error:
        services.stock_receive(warehouse_id=warehouse.pk, lines=lines)
    assert "lines[1].item" in error.value.message_dict
    assert not StockDocument.objects.exists() and not StockMovement.objects.exists()


def test_receipt_above_capacity_is_refused_by_the_database():
    item = rice()
    warehouse = WarehouseFactory(capacity_tonnes=1)
    receive(warehouse, item, 30, "bag")  # 750 kg
    with pytest.raises(ValidationError) as error:
        receive(warehouse, item, 11, "bag")  # 1025 kg
    assert "capacity" in str(error.value) and warehouse.code in str(error.value)
    assert on_hand(warehouse=warehouse) == 750
    assert StockDocument.objects.count() == 1


def test_dispatch_and_issue_take_the_first_expiry_first_and_skip_expired_lots():
    item = rice()
    warehouse, point = WarehouseFactory(), DistributionPointFactory()
    soon, later = TODAY + datetime.timedelta(days=10), TODAY + datetime.timedelta(days=300)
    receive(warehouse, item, 100, lot="LATE", expires_on=later.isoformat())
    receive(warehouse, item, 100, lot="SOON", expires_on=soon.isoformat())
    waybill = services.stock_dispatch(
        warehouse_id=warehouse.pk, point_id=point.pk, lines=[{"item": "rice", "quantity": 6, "unit": "bag"}]
    )
    assert waybill.number.startswith("WB-")
    moved = {(m.lot.code, m.quantity) for m in waybill.movements.filter(point=point)}
    assert moved == {("SOON", 100), ("LATE", 50)}
    issued = services.stock_issue(point_id=point.pk, item_code="rice", quantity=120, unit="kg", reference="R1")
    assert [(m.lot.code, m.quantity) for m in issued] == [("SOON", -100), ("LATE", -20)]
    assert selectors.stock_on_hand(points=[point.pk]) == {("point", point.pk, "rice"): Decimal(30)}
    assert_balanced()


def test_issue_beyond_stock_names_the_item_and_leaves_nothing():
    item = tarpaulin()
    warehouse, point = WarehouseFactory(), DistributionPointFactory()
    stock_point(warehouse, point, item, 1, "bale")
    with transaction.atomic(), pytest.raises(ValidationError) as error:
        services.stock_issue(point_id=point.pk, item_code="tarpaulin", quantity=11, unit="piece", reference="R")
    assert "Tarpaulin" in str(error.value) and "10" in str(error.value)
    assert on_hand(point=point) == 10
    assert not StockMovement.objects.filter(kind="distribution").exists()


def test_return_goes_back_into_the_lot_handed_out():
    item = rice()
    warehouse, point = WarehouseFactory(), DistributionPointFactory()
    stock_point(warehouse, point, item, 50, lot="A", expires_on=(TODAY + datetime.timedelta(days=90)).isoformat())
    services.stock_issue(point_id=point.pk, item_code="rice", quantity=1, unit="bag", reference="R")
    back = services.stock_return(point_id=point.pk, item_code="rice", quantity=25, unit="kg", reference="C")
    assert [(m.kind, m.lot.code, m.quantity) for m in back] == [("return", "A", 25)]
    assert on_hand(point=point) == 50


def test_reversal_once_only_and_never_below_zero():
    item = rice()
    warehouse, point = WarehouseFactory(), DistributionPointFactory()
    grn = receive(warehouse, item, 10, "bag")
    waybill = services.stock_dispatch(
        warehouse_id=warehouse.pk, point_id=point.pk, lines=[{"item": "rice", "quantity": 100}]
    )
    reversal = services.stock_reverse(document_id=waybill.pk, reason="wrong point")
    assert on_hand(point=point) == 0 and on_hand(warehouse=warehouse) == 250
    with pytest.raises(ValidationError) as twice:
        services.stock_reverse(document_id=waybill.pk, reason="again")
    assert "already been reversed" in str(twice.value)
    with pytest.raises(ValidationError):
        services.stock_reverse(document_id=reversal.pk, reason="undo")
    services.stock_dispatch(warehouse_id=warehouse.pk, point_id=point.pk, lines=[{"item": "rice", "quantity": 200}])
    with pytest.raises(ValidationError) as below:
        services.stock_reverse(document_id=grn.pk, reason="supplier error")
    assert "below zero" in str(below.value)
    assert_balanced()


def test_loss_and_count():
    item = rice()
    warehouse = WarehouseFactory()
    receive(warehouse, item, 4, "bag")
    with pytest.raises(ValidationError) as no_reason:
        services.stock_loss(warehouse_id=warehouse.pk, item_code="rice", quantity=5, unit="kg", reason="")
    assert "reason" in no_reason.value.message_dict
    services.stock_loss(warehouse_id=warehouse.pk, item_code="rice", quantity=5, unit="kg", reason="rats")
    count = services.stock_count(warehouse_id=warehouse.pk, item_code="rice", counted=90, unit="kg")
    assert count.movements.get().quantity == Decimal(-5)
    assert on_hand(warehouse=warehouse) == 90
    assert_balanced()


def test_database_refuses_negative_stock_edits_and_hand_written_balances():
    item = rice()
    warehouse = WarehouseFactory()
    receive(warehouse, item, 1, "bag")
    with pytest.raises(DatabaseError), transaction.atomic():
        StockMovement.objects.create(kind="loss", warehouse=warehouse, item=item, quantity=-26, occurred_on=TODAY)
    with pytest.raises(DatabaseError), transaction.atomic():
        StockMovement.objects.update(reason="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        StockMovement.objects.all().delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        StockBalance.objects.update(on_hand=1000)
    with pytest.raises(DatabaseError), transaction.atomic():
        StockMovement.objects.create(kind="receipt", warehouse=warehouse, item=item, quantity=-1, occurred_on=TODAY)
    # The ledger's place, item and lot are held to existing rows by the balance table's foreign keys (deferred, as
    # Django makes them: checked at commit, here forced at once).
    for bogus in ({"item_id": 10**9, "warehouse": warehouse}, {"item": item, "warehouse_id": 10**9}):
        with pytest.raises(DatabaseError), transaction.atomic():
            StockMovement.objects.create(kind="receipt", quantity=1, occurred_on=TODAY, **bogus)
            connection.check_constraints()
    assert on_hand(warehouse=warehouse) == 25


def test_rebuild_matches_the_trigger():
    item = rice()
    warehouse, point = WarehouseFactory(), DistributionPointFactory()
    stock_point(warehouse, point, item, 7, "bag")
    services.stock_issue(point_id=point.pk, item_code="rice", quantity=3, unit="kg", reference="R")

    def balances():
        return set(StockBalance.objects.values_list("warehouse_id", "point_id", "item_id", "lot_id", "on_hand"))

    before = balances()
    assert services.stock_rebuild() == len(before) == 2
    assert balances() == before
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('spmis.stock_rebuild', true)")
        assert cursor.fetchone()[0] in ("", None)
