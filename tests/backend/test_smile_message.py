"""The `smile` hub message: the front expiry's smile in integer columns, one billed 2 KB
Azure SignalR message for a real SPY front expiry, decoded back to what the chart draws."""

from __future__ import annotations

import math

import pytest

from spy_backend.ladder import build_ladder
from spy_backend.realtime.budget import MAX_MESSAGE_BYTES, UNIT_BYTES
from spy_backend.realtime.ladder import LadderFeed
from spy_backend.realtime.protocol import invocation
from spy_backend.realtime.smile import IV_UNIT, PRICE_UNIT, smile_message
from spy_core.cboe_csv import parse_cboe_csv

REAL_SPY = "cboe_spy_2023-09-14_1631ET.csv"


def decode(message: dict) -> list[list]:
    """The page's decoding (frontend/src/data.ts `decodeSmile`): rows of [strike, iv_bid,
    iv_ask, fit_iv, fair]."""
    columns = [message.get(name) for name in ("b", "a", "f", "v")]
    count = max((len(c) for c in columns if c is not None), default=0)
    index = message.get("ki", list(range(count)))
    rows = []
    for j in range(count):
        strike = round((message["k0"] + index[j] * message["dk"]) * 100) / 100
        values = [
            None if c is None or c[j] is None else c[j] * unit
            for c, unit in zip(columns, (IV_UNIT, IV_UNIT, IV_UNIT, PRICE_UNIT), strict=True)
        ]
        rows.append([strike, *values])
    return rows


def size(message: dict) -> int:
    """As the hub sends it: the JSON hub protocol invocation, with its record separator."""
    return len(invocation("smile", [message]).encode())


def close_to(decoded: list[list], rows: list[list]) -> bool:
    tolerance = (0, IV_UNIT / 2, IV_UNIT / 2, IV_UNIT / 2, PRICE_UNIT / 2)
    for got, want in zip(decoded, rows, strict=True):
        for g, w, tol in zip(got, want, tolerance, strict=True):
            if (g is None) != (w is None) or (g is not None and abs(g - w) > tol + 1e-9):
                return False
    return True


def smile_of(strikes: list[float], spot: float = 450.0) -> list[list]:
    """A smooth smile with realistic IVs (0.10–0.60) and fair values."""
    return [
        [
            k,
            round(0.12 + 0.4 * ((k - spot) / spot) ** 2 * 100 - 0.004, 4),
            round(0.12 + 0.4 * ((k - spot) / spot) ** 2 * 100 + 0.004, 4),
            round(0.12 + 0.4 * ((k - spot) / spot) ** 2 * 100, 4),
            round(3.0 * math.exp(-abs(k - spot) / 6), 3),
        ]
        for k in strikes
    ]


def test_the_real_spy_front_expiry_is_one_billed_message(real_chain_path) -> None:
    snapshot = parse_cboe_csv(real_chain_path(REAL_SPY).read_text()).snapshot
    ladder = build_ladder(snapshot)
    assert ladder is not None
    rows = ladder["smile"]
    # Between the outermost strikes with a bid: the ask-only wings (bid 0) are left out.
    assert rows[0][1] is not None and rows[-1][1] is not None
    assert len(rows) == 68
    feed = LadderFeed()
    feed.update(ladder)
    feed.take()
    message = feed.take_smile()
    assert size(message) <= MAX_MESSAGE_BYTES < UNIT_BYTES
    assert "ki" not in message  # $1 strikes, every one
    assert close_to(decode(message), rows)  # nothing lost that the chart or table shows


def test_a_hundred_strikes_fit_whole() -> None:
    rows = smile_of([400.0 + k for k in range(100)])
    message = smile_message("2026-03-06T10:00:00-05:00", "2026-03-06", 450.0, rows)
    assert size(message) <= MAX_MESSAGE_BYTES
    assert close_to(decode(message), rows)


def test_too_many_strikes_keep_those_nearest_spot() -> None:
    rows = smile_of([300.0 + 0.5 * k for k in range(600)])
    message = smile_message("2026-03-06T10:00:00-05:00", "2026-03-06", 450.0, rows)
    assert size(message) <= MAX_MESSAGE_BYTES
    decoded = decode(message)
    kept = [row[0] for row in decoded]
    assert 90 <= len(kept) < 600 and min(kept) < 450.0 < max(kept)
    assert max(kept) - 450.0 == pytest.approx(450.0 - min(kept), abs=0.5)
    assert close_to(decoded, [row for row in rows if row[0] in set(kept)])
    # One more strike would not fit.
    wider = [row for row in rows if min(kept) - 0.5 <= row[0] <= max(kept) + 0.5]
    wider_message = smile_message("2026-03-06T10:00:00-05:00", "2026-03-06", 450.0, wider)
    assert len(decode(wider_message)) == len(kept)


def test_gaps_nulls_and_empty_columns() -> None:
    rows = smile_of([440.0, 442.5, 445.0, 455.0])
    for row in rows:
        row[4] = None  # no fair values at all: the column is left out
    rows[0][1] = None  # no bid
    message = smile_message("2026-03-06T10:00:00-05:00", "2026-03-06", 450.0, rows)
    assert message["k0"] == 440 and message["dk"] == 2.5 and message["ki"] == [0, 1, 2, 6]
    assert "v" not in message and message["b"][0] is None
    assert close_to(decode(message), rows)
    empty = smile_message("2026-03-06T10:00:00-05:00", "2026-03-06", 450.0, [])
    assert empty == {"t": "2026-03-06T10:00:00-05:00", "x": "2026-03-06", "s": 450.0}
