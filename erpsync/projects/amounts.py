"""What amounts the registry stores exactly: money to the cent, quantities to 1/10,000."""

from decimal import Decimal

from erpsync.connectors.base import ConnectorError

# The registry's decimal fields, declared without Django so connectors and refreshes can check amounts.
MONEY = {"max_digits": 16, "decimal_places": 2, "default": 0}
QUANTITY = {"max_digits": 16, "decimal_places": 4, "default": 0}
PERCENT = {"max_digits": 7, "decimal_places": 2, "default": 0}

_MONEY_LIMIT = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"])
_QUANTITY_LIMIT = Decimal(10) ** (QUANTITY["max_digits"] - QUANTITY["decimal_places"])


_CENT = Decimal(1).scaleb(-MONEY["decimal_places"])
_QUANTUM = Decimal(1).scaleb(-QUANTITY["decimal_places"])


def money_fits(value: Decimal) -> bool:
    return -_MONEY_LIMIT < value < _MONEY_LIMIT and value.quantize(_CENT) == value


def quantity_fits(value: Decimal) -> bool:
    return -_QUANTITY_LIMIT < value < _QUANTITY_LIMIT and value.quantize(_QUANTUM) == value


def money(value: Decimal, where: str) -> Decimal:
    """An amount with finer fractions than cents is refused, never rounded."""
    if not money_fits(value):
        raise ConnectorError(
            f"{where}: the amount {value} cannot be stored exactly "
            f"(at most {MONEY['decimal_places']} decimal places and {MONEY['max_digits'] - MONEY['decimal_places']} digits before the point)."
        )
    return value


def quantity(value: Decimal, where: str) -> Decimal:
    if not quantity_fits(value):
        raise ConnectorError(
            f"{where}: the quantity {value} cannot be stored exactly (at most {QUANTITY['decimal_places']} decimal places)."
        )
    return value


def exact_sum(value, places: int) -> Decimal:
    """A database SUM of amounts, to the places they were stored with.

    PostgreSQL sums numerics exactly; SQLite sums them as binary floats, a few units in the last
    place off. The terms have at most `places` decimals, so their true sum does too: this is it.
    """
    return Decimal(value or 0).quantize(Decimal(1).scaleb(-places))
