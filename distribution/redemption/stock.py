"""The redemption's one door into the stock ledger (distribution.stock, helper h1's part): converting a quantity
to the item's base unit, issuing goods out of a point's ledger and taking them back on a correction. Kept in one
module so the coupling is in one place."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError


def to_base(item_code: str, quantity: Decimal, unit: str, *, field: str) -> tuple[Decimal, str]:
    """(quantity in the item's base unit, the base unit), or a ValidationError on `field` for an unknown item or
    unit."""
    from distribution.stock import selectors

    try:
        base = selectors.convert(item_code, quantity, unit)
        return Decimal(base), selectors.base_unit(item_code)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None


def issue(*, point_id: int, item_code: str, quantity: Decimal, unit: str, reference: str, user) -> list[int]:
    """Move goods out of the point's ledger, first expiry first, inside the caller's transaction; the ids of the
    movement lines written. Not enough stock is a ValidationError naming the item (from the stock service)."""
    from distribution.stock import services

    movements = services.stock_issue(
        point_id=point_id, item_code=item_code, quantity=quantity, unit=unit, reference=reference, user=user
    )
    return [movement.pk for movement in movements]


def give_back(*, point_id: int, item_code: str, quantity: Decimal, unit: str, reference: str, user) -> list[int]:
    """Return goods to the point's ledger (a correction of a redemption), inside the caller's transaction."""
    from distribution.stock import services

    movements = services.stock_return(
        point_id=point_id, item_code=item_code, quantity=quantity, unit=unit, reference=reference, user=user
    )
    return [movement.pk for movement in movements]
