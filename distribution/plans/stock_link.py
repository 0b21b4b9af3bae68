"""The plan's view of the stock catalogue and ledger (distribution.stock): base units, stock on hand, weights.

Kept in one module so the planner depends on three small functions, whatever shape the stock package takes.
"""

from __future__ import annotations

import importlib.util
from decimal import Decimal

STOCK_READY = importlib.util.find_spec("distribution.stock") is not None


def to_base(item: str, quantity: Decimal, unit: str) -> tuple[Decimal, str]:
    """(quantity in the item's base unit, base unit); ValidationError for an unknown item or unit."""
    if not STOCK_READY:
        return Decimal(quantity), unit
    raise NotImplementedError


def on_hand(*, items: list[str], points: list[int] = (), warehouses: list[int] = ()) -> dict[tuple[int, str], Decimal]:
    """{(location id, item): base quantity on hand} at the given points or warehouses."""
    if not STOCK_READY:
        return {}
    raise NotImplementedError


def weights_kg(items: list[str]) -> dict[str, Decimal | None]:
    """{item: kg per base unit} (None where the catalogue gives no weight)."""
    if not STOCK_READY:
        return {}
    raise NotImplementedError
