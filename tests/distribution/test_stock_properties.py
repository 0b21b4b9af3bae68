"""Property: over any sequence of receipts (partial: shortage and damage), dispatches, issues, losses, returns and
reversals in any of an item's units, every balance equals the sum of its ledger lines and is never negative, what is
refused writes nothing, and each location holds exactly what a plain Python model of the accepted moves says."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distribution.stock import services
from distribution.stock.models import StockBalance, StockDocument, StockItem, StockMovement, StockUnit
from tests.factories import DistributionPointFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()
UNITS = {"kg": 1, "bag": 25, "sack": 50}
counter = itertools.count()

quantity = st.integers(min_value=1, max_value=12)
operation = st.one_of(
    st.tuples(
        st.just("receive"),
        quantity,
        st.sampled_from(list(UNITS)),
        st.integers(0, 4),
        st.integers(0, 4),
        st.sampled_from(["A", "B", None]),
    ),
    st.tuples(st.just("dispatch"), quantity, st.sampled_from(list(UNITS))),
    st.tuples(st.just("issue"), st.integers(1, 80), st.sampled_from(list(UNITS))),
    st.tuples(st.just("loss"), st.integers(1, 30), st.just("kg")),
    st.tuples(st.just("return"), st.integers(1, 20), st.just("kg")),
    st.tuples(st.just("reverse"), st.integers(0, 30)),
)


def ledger_sums(item) -> dict:
    sums = {}
    for m in StockMovement.objects.filter(item=item):
        key = (m.warehouse_id, m.point_id, m.lot_id)
        sums[key] = sums.get(key, Decimal(0)) + m.quantity
    return sums


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, min_size=1, max_size=14))
def test_balances_are_the_ledger_and_never_negative(ops):
    n = next(counter)
    item = StockItem.objects.create(code=f"rice-{n}", name="Rice", base_unit="kg", weight_kg=1)
    for code, factor in UNITS.items():
        if code != "kg":
            StockUnit.objects.create(item=item, code=code, factor=factor)
    warehouse, point = WarehouseFactory(), DistributionPointFactory()
    model = {"warehouse": Decimal(0), "point": Decimal(0)}
    documents = []
    for op in ops:
        before = StockMovement.objects.count(), StockDocument.objects.count()
        moved = model.copy()
        try:
            kind = op[0]
            if kind == "receive":
                _, qty, unit, short, damaged, lot = op
                short, damaged = min(short, qty), min(damaged, qty - min(short, qty))
                line = {"item": item.code, "quantity": qty, "unit": unit, "shortage": short, "damaged": damaged}
                if lot:
                    line |= {
                        "lot": f"{lot}{n}",
                        "expires_on": (TODAY + datetime.timedelta(days=30 + ord(lot))).isoformat(),
                    }
                documents.append(services.stock_receive(warehouse_id=warehouse.pk, lines=[line]))
                moved["warehouse"] += (qty - short - damaged) * UNITS[unit]
            elif kind == "dispatch":
                _, qty, unit = op
                documents.append(
                    services.stock_dispatch(
                        warehouse_id=warehouse.pk,
                        point_id=point.pk,
                        lines=[{"item": item.code, "quantity": qty, "unit": unit}],
                    )
                )
                moved["warehouse"] -= qty * UNITS[unit]
                moved["point"] += qty * UNITS[unit]
            elif kind == "issue":
                _, qty, unit = op
                with transaction.atomic():
                    services.stock_issue(point_id=point.pk, item_code=item.code, quantity=qty, unit=unit, reference="R")
                moved["point"] -= qty * UNITS[unit]
            elif kind == "loss":
                documents.append(
                    services.stock_loss(
                        warehouse_id=warehouse.pk, item_code=item.code, quantity=op[1], unit="kg", reason="spoiled"
                    )
                )
                moved["warehouse"] -= op[1]
            elif kind == "return":
                with transaction.atomic():
                    services.stock_return(
                        point_id=point.pk, item_code=item.code, quantity=op[1], unit="kg", reference="C"
                    )
                moved["point"] += op[1]
            elif kind == "reverse" and documents:
                target = documents[op[1] % len(documents)]
                reversal = services.stock_reverse(document_id=target.pk, reason="property")
                for line in reversal.movements.all():
                    moved["warehouse" if line.warehouse_id else "point"] += line.quantity
                documents.append(reversal)
            model = moved
        except ValidationError:
            # Refused: nothing of it is in the ledger.
            assert (StockMovement.objects.count(), StockDocument.objects.count()) == before
        sums = ledger_sums(item)
        balances = {(b.warehouse_id, b.point_id, b.lot_id): b.on_hand for b in StockBalance.objects.filter(item=item)}
        assert {k: v for k, v in balances.items() if v} == {k: v for k, v in sums.items() if v}
        assert all(v >= 0 for v in balances.values())
        held = {"warehouse": Decimal(0), "point": Decimal(0)}
        for (w, _p, _lot), v in balances.items():
            held["warehouse" if w else "point"] += v
        assert held == model
