"""The `smile` hub target's message: the front expiry's smile as columns of integers, so a
real front expiry (~100 strikes) is one billed 2 KB Azure SignalR message (as a row of
floats per strike it was ~3.5 KB, two).

    {"t": market time, "x": expiry, "s": spot,
     "k0": first strike, "dk": strike step, "ki": [grid index of each strike],
     "b": [bid IV], "a": [ask IV], "f": [fitted IV], "v": [fair value]}

Strike j is `k0 + ki[j]·dk`; `ki` is left out when the strikes are every step from `k0`
(strike j is then `k0 + j·dk`). IVs are integers in 0.0001 (0.01 vol point: finer than
the chart's pixels and the table's tenths of a point), fair values in cents; a null entry
is a missing value, and a column with no value at all is left out. When the strikes do not
fit one message, those farthest from spot go.
"""

from __future__ import annotations

import functools
import math
from itertools import pairwise

from .budget import MAX_MESSAGE_BYTES
from .protocol import invocation

IV_UNIT = 1e-4
PRICE_UNIT = 0.01
# name, position in a `spy_backend.ladder` smile row [strike, iv_bid, iv_ask, fit_iv, fair], unit
COLUMNS = (("b", 1, IV_UNIT), ("a", 2, IV_UNIT), ("f", 3, IV_UNIT), ("v", 4, PRICE_UNIT))


def smile_message(timestamp: str, expiry: str, spot: float, rows: list[list]) -> dict:
    """The message for smile `rows` (`spy_backend.ladder`'s), within `MAX_MESSAGE_BYTES`."""
    head = {"t": timestamp, "x": expiry, "s": spot}
    rows = sorted((row for row in rows if row[0] is not None), key=lambda row: row[0])
    message = _columns(head, rows)
    if _size(message) <= MAX_MESSAGE_BYTES:
        return message
    nearest = sorted(range(len(rows)), key=lambda i: abs(rows[i][0] - spot))
    fits, too_many = 0, len(rows)  # the most strikes nearest spot that fit
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        if _size(_columns(head, _nearest(rows, nearest, middle))) <= MAX_MESSAGE_BYTES:
            fits = middle
        else:
            too_many = middle
    return _columns(head, _nearest(rows, nearest, fits))


def _nearest(rows: list[list], nearest: list[int], count: int) -> list[list]:
    return [rows[i] for i in sorted(nearest[:count])]


def _size(message: dict) -> int:
    return len(invocation("smile", [message]).encode())


def _columns(head: dict, rows: list[list]) -> dict:
    message = dict(head)
    if not rows:
        return message
    cents = [round(row[0] * 100) for row in rows]
    step = functools.reduce(math.gcd, (b - a for a, b in pairwise(cents)), 0) or 100
    index = [(c - cents[0]) // step for c in cents]
    message["k0"] = _dollars(cents[0])
    message["dk"] = _dollars(step)
    if index[-1] != len(index) - 1:
        message["ki"] = index
    for name, at, unit in COLUMNS:
        column = [None if row[at] is None else round(row[at] / unit) for row in rows]
        if any(value is not None for value in column):
            message[name] = column
    return message


def _dollars(cents: int) -> int | float:
    return cents // 100 if cents % 100 == 0 else cents / 100
