"""The dashboard's backend pieces: runtime config, the exchange session, and the strike
ladder (built from a real snapshot, posted with the service token, broadcast as numbered
deltas that each fit one 2 KB hub message)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from spy_backend.ladder import BAND, ROW_FIELDS, build_ladder
from spy_backend.market_clock import MarketClock, MarketClockKind
from spy_backend.realtime.broadcaster import MAX_MESSAGE_BYTES
from spy_backend.realtime.ladder import LadderFeed
from spy_backend.realtime.protocol import invocation
from spy_backend.realtime.smile import smile_message
from spy_backend.settings import Settings
from spy_core import market_hours
from spy_core.synthetic import sample_chain

from .conftest import auth, changed, client_for

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
    assert len(ladder["smile"]) > len(strikes)  # the smile reaches past the band


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
    assert smile == smile_message(
        first["timestamp"], first["expiry"], first["spot"], first["smile"]
    )
    assert feed.take_smile() is None  # unchanged: not sent again
    moved = copy.deepcopy(first)
    moved["smile"][0][3] += 0.001
    feed.update(moved)
    feed.take()
    assert feed.take_smile()["f"][0] == round(moved["smile"][0][3] * 1e4)


def test_unwatched_posts_become_state_without_messages() -> None:
    feed = LadderFeed()
    assert feed.current() is None
    feed.update(_ladder())
    feed.commit_unsent()
    assert feed.current()["seq"] == 1 and not feed.pending


async def test_config_and_session(client: httpx.AsyncClient) -> None:
    assert (await client.get("/config.json")).json() == {"apiBase": "", "hubUrl": "/hub"}
    body = (await client.get("/api/session")).json()
    assert body["clock"] == "real" and body["rate"] == 1.0
    now = datetime.fromisoformat(body["now"])
    assert body["open"] == market_hours.is_market_open(now)
    assert body["phase"] == market_hours.phase(now).value
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
    for bad in (
        {**ladder, "rows": [[1.0, 2.0]]},
        {**ladder, "timestamp": "2026-03-06T10:00:00"},  # no UTC offset: whose 10:00?
        {**ladder, "timestamp": "yesterday"},
    ):
        answer = await client.post("/api/ladder/updates", json=bad, headers=auth(client))
        assert answer.status_code == 422


SATURDAY = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # 10:00 ET on a Saturday: no session


class _Wall:
    """The machine's clock, fixed; and a monotonic clock the test moves."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return SATURDAY

    def monotonic(self) -> float:
        return self.seconds


def _et(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=market_hours.NEW_YORK)


@contextlib.asynccontextmanager
async def _desk(settings: Settings, kind: MarketClockKind):
    """The app with its market clock on the fixed Saturday wall clock."""
    wall = _Wall()
    async with client_for(changed(settings, market_clock=kind.value)) as client:
        client.app.state.services.market_clock = MarketClock(
            kind, real=wall, monotonic=wall.monotonic
        )
        yield client, wall


async def _post_snapshot_time(client: httpx.AsyncClient, at: datetime) -> None:
    ladder = {**_ladder(), "timestamp": at.isoformat()}
    answer = await client.post("/api/ladder/updates", json=ladder, headers=auth(client))
    assert answer.status_code == 204


async def test_a_real_feed_session_follows_the_machine_clock(settings: Settings) -> None:
    async with _desk(settings, MarketClockKind.REAL) as (client, _):
        await _post_snapshot_time(client, _et("2026-03-06", "10:00"))  # ignored
        body = (await client.get("/api/session")).json()
    assert body["clock"] == "real"
    assert datetime.fromisoformat(body["now"]) == SATURDAY
    assert body["open"] is False and body["phase"] == "closed" and body["session"] is None
    assert body["next"]["day"] == "2026-03-09"


async def test_a_simulated_session_follows_the_snapshots_not_the_wall_clock(
    settings: Settings,
) -> None:
    async with _desk(settings, MarketClockKind.SIMULATED) as (client, wall):
        body = (await client.get("/api/session")).json()
        assert body == {
            "clock": "simulated",
            "now": None,
            "rate": 1.0,
            "open": None,
            "phase": None,
            "session": None,
            "next": None,
        }  # no data yet: no market time to show
        # The simulator plays Friday's session at 10 market seconds per wall second.
        for step in range(6):
            wall.seconds = 0.5 * step
            await _post_snapshot_time(
                client, _et("2026-03-06", "10:00") + timedelta(seconds=5 * step)
            )
        wall.seconds += 0.3  # 3 market seconds after the latest snapshot
        body = (await client.get("/api/session")).json()
    now = datetime.fromisoformat(body["now"])
    assert body["clock"] == "simulated" and body["rate"] == pytest.approx(10.0)
    assert now == _et("2026-03-06", "10:00:28")
    assert body["open"] is True and body["phase"] == "open"
    assert body["session"]["day"] == "2026-03-06" and body["session"]["early_close"] is False
    # The header's countdown: to Friday's 16:00 ET close.
    close = datetime.fromisoformat(body["session"]["close"])
    assert close - now == timedelta(hours=5, minutes=59, seconds=32)
    assert body["next"]["day"] == "2026-03-09"


async def test_a_simulated_early_close_and_an_old_snapshot(settings: Settings) -> None:
    async with _desk(settings, MarketClockKind.SIMULATED) as (client, wall):
        await _post_snapshot_time(client, _et("2026-11-27", "12:00"))  # the day after Thanksgiving
        wall.seconds = 1.0
        await _post_snapshot_time(client, _et("2026-11-27", "11:59"))  # a late one: ignored
        body = (await client.get("/api/session")).json()
    assert datetime.fromisoformat(body["now"]) == _et("2026-11-27", "12:00:01")
    assert body["session"]["early_close"] is True and body["phase"] == "open"
    assert datetime.fromisoformat(body["session"]["close"]) == _et("2026-11-27", "13:00")


def test_the_market_clock_rate_is_robust_to_a_jump_over_the_night() -> None:
    wall = _Wall()
    clock = MarketClock(MarketClockKind.SIMULATED, real=wall, monotonic=wall.monotonic)
    assert clock.now() is None and clock.rate == 1.0
    # Friday's last half-minute at 10 market seconds a second, then (the simulator continues
    # from the next session's open) Monday's first.
    friday = [_et("2026-03-06", "15:59:30") + timedelta(seconds=5 * i) for i in range(6)]
    monday = [_et("2026-03-09", "09:30") + timedelta(seconds=5 * i) for i in range(4)]
    for step, at in enumerate(friday + monday):
        wall.seconds = 0.5 * step
        clock.observe(at)
    assert clock.rate == pytest.approx(10.0)
    assert market_hours.phase(clock.now()) is market_hours.Phase.OPEN


def test_phase_of_the_day() -> None:
    assert market_hours.phase(_et("2026-03-06", "09:29")) is market_hours.Phase.PRE
    assert market_hours.phase(_et("2026-03-06", "09:30")) is market_hours.Phase.OPEN
    assert market_hours.phase(_et("2026-11-27", "13:00")) is market_hours.Phase.AFTER
    assert market_hours.phase(SATURDAY) is market_hours.Phase.CLOSED
