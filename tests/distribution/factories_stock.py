"""Stock catalogue helpers: items with their units, and stock put in place through the ledger (never by writing
balances, which only the ledger's trigger may)."""

from __future__ import annotations

import factory

from distribution.stock import services
from distribution.stock.models import StockItem, StockUnit


class StockItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockItem
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"item-{n}")
    name = factory.LazyAttribute(lambda i: i.code.replace("-", " ").title())
    base_unit = "kg"
    weight_kg = 1


def rice() -> StockItem:
    """Rice counted in kg, delivered in 25 kg bags and 50 kg sacks."""
    item = StockItemFactory(code="rice", name="Rice", category="food", base_unit="kg", weight_kg=1, kcal=3600)
    StockUnit.objects.get_or_create(
        item=item, code="bag", defaults={"factor": 25, "is_pack": True, "name": "25 kg bag"}
    )
    StockUnit.objects.get_or_create(item=item, code="sack", defaults={"factor": 50, "is_pack": True})
    return item


def tarpaulin() -> StockItem:
    item = StockItemFactory(code="tarpaulin", name="Tarpaulin", category="shelter", base_unit="piece", weight_kg=4)
    StockUnit.objects.get_or_create(item=item, code="bale", defaults={"factor": 10, "is_pack": True})
    return item


def receive(warehouse, item, quantity, unit=None, **line):
    """A goods received note of one line."""
    return services.stock_receive(
        warehouse_id=warehouse.pk,
        lines=[{"item": item.code, "quantity": quantity, "unit": unit or item.base_unit, **line}],
    )


def stock_point(warehouse, point, item, quantity, unit=None, **line):
    """Receive at the warehouse and dispatch to the point."""
    receive(warehouse, item, quantity, unit, **line)
    return services.stock_dispatch(
        warehouse_id=warehouse.pk,
        point_id=point.pk,
        lines=[{"item": item.code, "quantity": quantity, "unit": unit or item.base_unit}],
    )
