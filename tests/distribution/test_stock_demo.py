"""The demo stock loads through the ledger, is idempotent, and shows alerts."""

import pytest

from distribution.demo import load_demo_facilities
from distribution.stock import selectors
from distribution.stock.demo import load_demo_stock
from distribution.stock.models import StockDocument
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_demo_stock_loads_once_and_raises_near_expiry_alerts():
    load_demo_facilities()
    first = load_demo_stock()
    assert first["items"] == 7 and first["receipts"] > 0
    assert load_demo_stock()["receipts"] == 0
    assert StockDocument.objects.filter(kind="receipt").count() == first["receipts"]
    assert selectors.convert("rice", 2, "bag") == 50
    stock = selectors.stock_on_hand(items=["rice"])
    assert stock and all(quantity > 0 for quantity in stock.values())
    kinds = {a["kind"] for a in selectors.stock_alerts(user=UserFactory(is_superuser=True))}
    assert "near_expiry" in kinds
