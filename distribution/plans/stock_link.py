"""The plan's view of the stock catalogue and ledger (distribution.stock): base units, stock on hand, weights.

Kept in one module so the planner depends on three small functions of the stock package.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from distribution.stock import selectors as stock


def to_base(item: str, quantity: Decimal, unit: str) -> tuple[Decimal, str]:
    """(quantity in the item's base unit, base unit); ValidationError for an unknown item or unit."""
    catalogue = stock.item_get(item)
    return stock.to_base(catalogue, quantity, unit), catalogue.base_unit


def on_hand(
    *,
    items: list[str],
    points: Iterable[int] | None = None,
    warehouses: Iterable[int] | None = None,
    usable_on: datetime.date | None = None,
) -> dict[tuple[int, str], Decimal]:
    """{(location id, item): base quantity on hand} at the given points or warehouses, leaving out lots expired
    before `usable_on` (the distribution's first day)."""
    if not items or (not points and not warehouses):
        return {}
    rows = stock.stock_on_hand(items=items, points=points, warehouses=warehouses, usable_on=usable_on)
    return {(location, item): quantity for (_, location, item), quantity in rows.items()}


def weights_kg(items: list[str]) -> dict[str, Decimal | None]:
    """{item: kg per base unit} (None where the catalogue gives no weight)."""
    return stock.item_weights(items)
