"""The dashboard's backend pieces: runtime config, the exchange session, and the strike
ladder (built from a real snapshot, posted with the service token, broadcast as numbered
deltas that each fit one 2 KB hub message)."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime

import httpx
import pytest

from spy_backend.ladder import BAND, ROW_FIELDS, build_ladder
from spy_backend.realtime.broadcaster import MAX_MESSAGE_BYTES
from spy_backend.realtime.ladder import LadderFeed
from spy_backend.realtime.protocol import invocation
from spy_core import market_hours
from spy_core.synthetic import sample_chain

from .conftest import auth

pytestmark = pytest.mark.anyio


def _ladder() -> dict:
    snapshot, _ = sample_chain(seed=7, mispricings=3)
    ladder = build_ladder(snapshot)
    assert ladder is not None
    return ladder


def test_ladder_is_the_band_with_every_field() -> None:
    ladder = _ladder()
    spot = ladder["spot"]
    strikes = [row[0] for row in ladder["rows"]]
    assert strikes == sorted(strikes)
    assert all(len(row) == len(ROW_FIELDS) == 20 for row in ladder["rows"])
    inside = [k for k in strikes if spot * (1 - BAND) <= k <= spot * (1 + BAND)]
    assert len(strikes) - len(inside) <= 2  # one strike beyond each edge
    assert any(row[1] is not None and row[19] is not None for row in ladder["rows"])
    assert len(ladder["smile"]) > len(strikes)  # the smile covers the whole chain


def test_deltas_chain_carry_only_changes_and_fit_a_hub_message() -> None:
    feed = LadderFeed()
    first = _ladder()
    feed.update(first)
    messages = feed.take()
    assert [m["base"] for m in messages] == list(range(len(messages)))
    assert feed.current()["seq"] == messages[-1]["seq"]
    second = copy.deepcopy(first)
    second["rows"][0][1] = (second["rows"][0][1] or 0) + 0.01
    removed = second["rows"].pop()[0]
    feed.update(second)
    (delta,) = feed.take()
    assert delta["base"] == messages[-1]["seq"] and delta["seq"] == delta["base"] + 1
    assert delta["rows"] == [second["rows"][0]] and delta["gone"] == [removed]
    # A wide band (60 strikes, every row changed) splits into messages under the limit.
    wide = copy.deepcopy(first)
    wide["rows"] = [[500.0 + i, *([123.4567] * 19)] for i in range(60)]
    feed.update(wide)
    parts = feed.take()
    assert len(parts) > 1
    for part in parts:
        assert len(invocation("ladder", [part]).encode()) <= MAX_MESSAGE_BYTES
    assert sum(len(p["rows"]) for p in parts) == 60


def test_the_smile_is_pushed_whole_once_per_change() -> None:
    feed = LadderFeed()
    assert feed.take_smile() is None  # nothing broadcast yet
    first = _ladder()
    feed.update(first)
    feed.take()
    smile = feed.take_smile()
    assert smile == {
        "t": first["timestamp"],
        "x": first["expiry"],
        "s": first["spot"],
        "smile": first["smile"],
    }
    assert feed.take_smile() is None  # unchanged: not sent again
    moved = copy.deepcopy(first)
    moved["smile"][0][3] += 0.001
    feed.update(moved)
    feed.take()
    assert feed.take_smile()["smile"] == moved["smile"]


def test_unwatched_posts_become_state_without_messages() -> None:
    feed = LadderFeed()
    assert feed.current() is None
    feed.update(_ladder())
    feed.commit_unsent()
    assert feed.current()["seq"] == 1 and not feed.pending


async def test_config_and_session(client: httpx.AsyncClient) -> None:
    assert (await client.get("/config.json")).json() == {"apiBase": "", "hubUrl": "/hub"}
    body = (await client.get("/api/session")).json()
    now = datetime.fromisoformat(body["now"])
    assert body["open"] == market_hours.is_market_open(now)
    today = market_hours.session(now.astimezone(market_hours.NEW_YORK).date())
    if today is None:
        assert body["session"] is None
    else:
        assert body["session"]["close"] == today.close.isoformat()
    assert datetime.fromisoformat(body["next"]["open"]) > now.astimezone(UTC).replace(hour=0)


async def test_ladder_post_needs_the_token_and_is_read_back(client: httpx.AsyncClient) -> None:
    ladder = _ladder()
    assert (await client.post("/api/ladder/updates", json=ladder)).status_code == 401
    assert (await client.get("/api/ladder")).json() is None
    assert (
        await client.post("/api/ladder/updates", json=ladder, headers=auth(client))
    ).status_code == 204
    for _ in range(100):  # no viewer: the broadcaster commits it without a message
        body = (await client.get("/api/ladder")).json()
        if body is not None:
            break
        await asyncio.sleep(0.01)
    assert body["seq"] == 1 and body["rows"] == ladder["rows"]
    bad = {**ladder, "rows": [[1.0, 2.0]]}
    assert (
        await client.post("/api/ladder/updates", json=bad, headers=auth(client))
    ).status_code == 422
