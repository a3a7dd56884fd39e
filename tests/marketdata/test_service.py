"""The market-data service end to end: ib_async over real loopback sockets to the gateway
simulator, the detector on the snapshots, results in an in-memory sink. Nothing of ours is
mocked; time is compressed with the simulator's speed, and waits have generous timeouts."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from datetime import datetime, timedelta

from spy_core.models import AnomalyEventType, Right, Side
from spy_gateway_sim import Faults, GatewaySimulator
from spy_marketdata.recording import SnapshotRecorder, replay
from spy_marketdata.sinks import FanOut, MemorySink
from spy_marketdata.status import State

from ..gateway_sim.conftest import START, TIMEOUT, run, simulator, wait_until
from .conftest import events_for, running_service

OPENED, CLEARED = AnomalyEventType.OPENED, AnomalyEventType.CLEARED


def otm_call(sim: GatewaySimulator, steps: int = 1) -> tuple:
    """Today's call `steps` strikes above spot: near the money, so inside the ±1% band."""
    expiry = sim.market.expiries[0]
    spot = sim.view().spot
    strike = min(k for k in sim.market.strikes(expiry) if k > spot) + steps - 1
    return (expiry, float(strike), Right.CALL)


def assert_clean_history(sink: MemorySink) -> None:
    """Snapshots strictly in time order, and every anomaly id opened once, cleared at most
    once and last: what 'nothing duplicated or lost' means to a consumer."""
    times = [s.timestamp for s in sink.snapshots]
    assert all(a < b for a, b in itertools.pairwise(times))
    by_id: dict[str, list[AnomalyEventType]] = {}
    for event in sink.events:
        by_id.setdefault(event.id, []).append(event.event)
    for kinds in by_id.values():
        assert kinds[0] is OPENED and kinds.count(OPENED) == 1
        assert kinds.count(CLEARED) <= 1 and CLEARED not in kinds[:-1]


def test_connects_discovers_todays_expiry_and_streams_snapshots_in_the_band():
    async def body():
        async with simulator(mispricing_rate=0.0) as sim, running_service(sim) as service:
            sink = service.pipeline.sink
            await wait_until(lambda: len(sink.snapshots) >= 5)
            status = service.status
            assert status.state is State.STREAMING and status.connected
            assert status.expiry == sim.market.expiries[0].isoformat()
            assert status.market_data_type == 1
            snapshot = sink.snapshots[-1]
            spot = snapshot.spot
            assert abs(spot - sim.view().spot) < 0.02 * spot
            strikes = {q.strike for q in snapshot.quotes}
            assert strikes and all(abs(k / service.book.spot - 1) <= 0.0125 for k in strikes)
            assert {q.right for q in snapshot.quotes} == set(Right)
            assert {q.expiry for q in snapshot.quotes} == {sim.market.expiries[0]}
            # One line for the underlying plus a call and a put per strike, all at the gateway.
            [session] = sim.sessions
            assert status.lines == len(session.subscriptions) == 1 + len(service.book.tracked)
            assert all(0 <= q.bid <= q.ask for q in snapshot.quotes)
            assert sink.analyses[-1][1].gex is not None  # GEX rides along with the analysis
            assert_clean_history(sink)

    run(body())


def test_injected_mispricing_opens_then_clears_and_a_replay_gives_the_same_events(tmp_path):
    recording = tmp_path / "day.jsonl.gz"

    async def body():
        live = MemorySink()
        recorder = SnapshotRecorder(recording, "SPY")
        async with (
            simulator(mispricing_rate=0.0) as sim,
            running_service(sim, FanOut(live, recorder)),
        ):
            await wait_until(lambda: len(live.snapshots) >= 3)
            key = otm_call(sim)
            sim.inject_mispricing(key, Side.SELL, 0.3, lifetime=90)
            await wait_until(lambda: events_for(live, key[1], Side.SELL, OPENED))
            [opened] = events_for(live, key[1], Side.SELL, OPENED)
            assert (opened.anomaly.expiry, opened.anomaly.right) == (key[0], Right.CALL)
            assert opened.anomaly.edge > 0.1
            await wait_until(lambda: events_for(live, key[1], Side.SELL, CLEARED))
            [cleared] = events_for(live, key[1], Side.SELL, CLEARED)
            assert cleared.id == opened.id and cleared.reason == "no longer mispriced"
        recorder.close()
        assert recorder.count == len(live.snapshots)
        replayed = MemorySink()
        counts = await replay(recording, replayed, speed=0)
        assert counts.snapshots == len(live.snapshots) and counts.dropped == 0
        assert replayed.snapshots == live.snapshots
        assert replayed.events == live.events
        assert_clean_history(live)

    run(body())


def test_reconnect_restores_lines_and_keeps_anomaly_ids_without_duplicates():
    async def body():
        async with simulator(mispricing_rate=0.0) as sim, running_service(sim) as service:
            sink = service.pipeline.sink
            key = otm_call(sim)
            sim.inject_mispricing(key, Side.SELL, 0.3, lifetime=400)
            await wait_until(lambda: events_for(sink, key[1], Side.SELL, OPENED))
            before = len(sink.snapshots)
            sim.drop_connections()
            await wait_until(lambda: service.status.reconnects >= 1)
            await wait_until(lambda: service.status.ready and len(sink.snapshots) > before + 2)
            [session] = sim.sessions  # the old session is gone; lines restored on the new one
            assert len(session.subscriptions) == service.status.lines
            assert service.status.lines == 1 + len(service.book.tracked) > 20
            await wait_until(lambda: events_for(sink, key[1], Side.SELL, CLEARED))
            [opened] = events_for(sink, key[1], Side.SELL, OPENED)
            [cleared] = events_for(sink, key[1], Side.SELL, CLEARED)
            assert cleared.id == opened.id and cleared.reason == "no longer mispriced"
            assert_clean_history(sink)

    run(body())


def test_live_data_refused_falls_back_to_delayed_data():
    async def body():
        faults = Faults(refuse_live_data=True)
        async with (
            simulator(mispricing_rate=0.0, faults=faults) as sim,
            running_service(sim) as service,
        ):
            sink = service.pipeline.sink
            await wait_until(lambda: len(sink.snapshots) >= 3)
            assert service.status.market_data_type == 3
            [session] = sim.sessions
            assert session.data_type == 3
            assert len(session.subscriptions) == service.status.lines
            await wait_until(lambda: len(sink.snapshots[-1].quotes) == len(service.book.tracked))

    run(body())


def test_follows_the_money_when_spot_moves():
    async def body():
        async with simulator(mispricing_rate=0.0) as sim, running_service(sim) as service:
            sink = service.pipeline.sink
            await wait_until(lambda: len(sink.snapshots) >= 2)
            first = {key[1] for key in service.book.tracked.values()}
            sim.move_spot(0.01)
            moved = sim.view().spot

            def recentred() -> bool:
                strikes = {key[1] for key in service.book.tracked.values()}
                return (
                    bool(strikes)
                    and min(strikes) > min(first)
                    and (min(abs(k - moved) for k in strikes) <= 1.0)
                )

            await wait_until(recentred)

            def in_band() -> bool:
                last = sink.snapshots[-1]
                strikes = {q.strike for q in last.quotes}
                return last.spot > moved * 0.995 and all(
                    abs(k / last.spot - 1) <= 0.0125 for k in strikes
                )

            await wait_until(in_band)
            [session] = sim.sessions  # requests may still be in the pacing queue: wait
            await wait_until(lambda: len(session.subscriptions) == service.status.lines)
            assert service.status.lines == 1 + len(service.book.tracked) <= 100

    run(body())


class _ShiftedClock:
    """Wall-clock pace from a chosen moment; `jump_to` moves it."""

    def __init__(self, moment: datetime) -> None:
        self.jump_to(moment)

    def jump_to(self, moment: datetime) -> None:
        self._base, self._origin = moment, time.monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._origin)


def test_market_closed_by_the_given_clock_means_no_lines_and_no_snapshots():
    async def body():
        from spy_marketdata.service import MarketDataService
        from spy_marketdata.settings import MarketDataSettings

        clock = _ShiftedClock(START - timedelta(hours=2))  # 07:30 New York: before the open
        async with simulator(mispricing_rate=0.0) as sim:
            sink = MemorySink()
            settings = MarketDataSettings(port=sim.port, client_id=22, interval=0.1)
            service = MarketDataService(settings, sink, clock=clock)
            task = asyncio.get_running_loop().create_task(service.run())
            await wait_until(lambda: service.status.state is State.MARKET_CLOSED)
            await asyncio.sleep(0.5)
            assert sink.snapshots == [] and service.status.lines == 0
            assert all(not s.subscriptions for s in sim.sessions)
            assert service.status.healthy and not service.status.ready
            clock.jump_to(START + timedelta(minutes=5))
            await wait_until(lambda: service.status.ready, TIMEOUT)
            assert sink.snapshots[0].timestamp >= START
            service.stop()
            await asyncio.wait_for(task, TIMEOUT)
            assert service.status.state is State.STOPPED

    run(body())


def test_stop_cancels_every_line_and_disconnects():
    async def body():
        async with simulator(mispricing_rate=0.0) as sim:
            async with running_service(sim) as service:
                assert Counter(len(s.subscriptions) > 0 for s in sim.sessions) == {True: 1}
            assert not service.status.connected
            assert service.status.state is State.STOPPED
            await wait_until(lambda: not sim.sessions)

    run(body())
