"""The pricing module's docstring examples run, and scalars come back as floats."""

from __future__ import annotations

import doctest

import numpy as np

from spy_core import pricing
from spy_core.pricing import black76_gamma, black76_greeks, black76_price, black76_vega, implied_vol


def test_docstring_examples():
    result = doctest.testmod(pricing, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10
    assert result.failed == 0


def test_a_float_in_gives_a_float_out_and_arrays_keep_their_shape():
    scalars = (100.0, 105.0, 0.1, 0.25, 0.99)
    price = black76_price(*scalars)
    assert type(price) is float
    assert type(implied_vol(price, *scalars[:3], 0.99)) is float
    assert type(black76_vega(*scalars)) is float
    assert type(black76_gamma(*scalars)) is float
    assert all(type(value) is float for value in black76_greeks(*scalars))
    strikes = np.array([[95.0, 100.0], [105.0, 110.0]])
    prices = black76_price(100.0, strikes, 0.1, 0.25)
    assert isinstance(prices, np.ndarray) and prices.shape == (2, 2)
    assert implied_vol(prices, 100.0, strikes, 0.1).shape == (2, 2)
    assert black76_vega(100.0, strikes, 0.1, 0.25).shape == (2, 2)
    assert all(np.shape(v) == (2, 2) for v in black76_greeks(100.0, strikes, 0.1, 0.25))
    one = black76_price(100.0, [100.0], 0.1, 0.25)  # a one-element array stays an array
    assert isinstance(one, np.ndarray) and one.shape == (1,)
