"""Amounts of money: exact decimals in a currency, rounded to the currency's minor unit by one stated rule.

The rule: amounts are computed exactly (numeric in PostgreSQL, Decimal in Python) and rounded once, at the end, to
the currency's minor unit, half away from zero (PostgreSQL's round(numeric, n); Python's ROUND_HALF_UP, which
rounds half away from zero for negative numbers too). 2,500.005 BDT becomes 2,500.01; 12.5 JPY becomes 13.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor units that are not 2 (the list's "E" column). Every other active code has two decimals.
ZERO_DECIMALS = frozenset("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split())
THREE_DECIMALS = frozenset("BHD IQD JOD KWD LYD OMR TND".split())

# Larger than any single transfer a social protection program makes, small enough that sums of a million
# entitlements stay inside numeric(18, 3) columns.
MAX_AMOUNT = Decimal("1000000000")


def minor_units(currency: str) -> int:
    """Decimals of the currency's minor unit (BDT 2, JPY 0, KWD 3)."""
    code = currency.upper()
    if code in ZERO_DECIMALS:
        return 0
    if code in THREE_DECIMALS:
        return 3
    return 2


def round_amount(amount: Decimal, currency: str) -> Decimal:
    """The stated rounding rule: half away from zero, to the currency's minor unit."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def parse_amount(value: object, *, field: str, currency: str, allow_zero: bool = True) -> Decimal:
    """A non-negative amount written as a string or number, exact to the currency's minor unit, or ValueError
    with a message naming `field`."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        # Floats are refused: 0.1 + 0.2 is not 0.3, and money must not depend on binary fractions.
        raise ValueError(f'{field}: write the amount as a decimal string such as "5000.00", not {value!r}.')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{field}: {value!r} is not an amount.") from None
    if not amount.is_finite():
        raise ValueError(f"{field}: {value!r} is not an amount.")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValueError(f"{field}: the amount must be {'zero or ' if allow_zero else ''}more than zero, not {amount}.")
    if amount > MAX_AMOUNT:
        raise ValueError(f"{field}: {amount} is larger than the largest amount accepted ({MAX_AMOUNT}).")
    if amount != round_amount(amount, currency):
        raise ValueError(f"{field}: {amount} has more decimals than {currency} allows ({minor_units(currency)}).")
    return amount
