from decimal import Decimal

import pytest

from erpsync.connectors.base import ConnectorError
from erpsync.projects.amounts import money, quantity


@pytest.mark.parametrize("text", ["0", "0.01", "-12.50", "99999999999999.99", "1E+3"])
def test_amounts_the_registry_stores_exactly_pass_unchanged(text):
    assert money(Decimal(text), "here") == Decimal(text)


@pytest.mark.parametrize("text", ["0.001", "12.345", "100000000000000", "-100000000000000.00"])
def test_amounts_that_would_be_rounded_or_cut_are_refused(text):
    with pytest.raises(ConnectorError, match=f"^row 9: the amount {text} cannot be stored exactly"):
        money(Decimal(text), "row 9")


def test_quantities_keep_four_places():
    assert quantity(Decimal("1.2345"), "x") == Decimal("1.2345")
    with pytest.raises(ConnectorError, match="the quantity 1.23456 cannot be stored exactly"):
        quantity(Decimal("1.23456"), "x")
