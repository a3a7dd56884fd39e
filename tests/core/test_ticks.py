"""Minimum price increments per option class."""

from __future__ import annotations

import numpy as np
import pytest

from spy_core.ticks import INDEX_NICKEL_DIME, PENNY_EVERYWHERE, PENNY_PROGRAM, tick_rule


@pytest.mark.parametrize(
    ("option_class", "price", "tick"),
    [
        ("SPY", 0.50, 0.01),
        ("SPY", 12.00, 0.01),
        ("spy", 3.00, 0.01),
        ("SPX", 2.95, 0.05),
        ("SPX", 3.00, 0.10),
        ("SPXW", 0.05, 0.05),
        ("NDXP", 45.0, 0.10),
        ("XSP", 2.99, 0.01),
        ("XSP", 3.00, 0.05),
        ("AAPL", 7.25, 0.05),
    ],
)
def test_tick_by_class_and_price(option_class, price, tick):
    assert float(tick_rule(option_class).size(price)) == tick


def test_rules_are_vectorised_and_name_their_largest_increment():
    prices = np.array([0.05, 2.99, 3.0, 150.0])
    assert tick_rule("SPXW").size(prices).tolist() == [0.05, 0.05, 0.10, 0.10]
    assert (PENNY_EVERYWHERE.largest, PENNY_PROGRAM.largest, INDEX_NICKEL_DIME.largest) == (
        0.01,
        0.05,
        0.10,
    )
