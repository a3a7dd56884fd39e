"""Leader election: one active trader, against a local stand-in of the Lease API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from spy_trader.lease import FileLease, KubernetesLease
from spy_trader.settings import LeaseSettings

from .conftest import run
from .lease_api import serving

T0 = datetime(2025, 10, 30, 14, 0, tzinfo=UTC)


def lease_pair(client, url):
    settings = LeaseSettings(kind="kubernetes", api_url=url, duration_seconds=15)
    clock = [0.0]
    a = KubernetesLease(settings, client, "trader-a", monotonic=lambda: clock[0])
    b = KubernetesLease(settings, client, "trader-b", monotonic=lambda: clock[0])
    return a, b, clock


def test_one_holder_takeover_after_expiry_and_the_old_holder_steps_down():
    async def body():
        async with serving() as url, httpx.AsyncClient() as client:
            a, b, clock = lease_pair(client, url)
            assert await a.try_acquire(T0)
            assert not await b.try_acquire(T0 + timedelta(seconds=5))
            assert await a.try_acquire(T0 + timedelta(seconds=10))  # renewal
            assert a.held() and not b.held()
            # a stops renewing; 15 s after its last renewal the lease is b's to take.
            assert not await b.try_acquire(T0 + timedelta(seconds=20))
            assert await b.try_acquire(T0 + timedelta(seconds=26))
            assert not await a.try_acquire(T0 + timedelta(seconds=27))
            assert b.held() and not a.held()
            lease = (await client.get(a._url)).json()
            assert lease["spec"]["holderIdentity"] == "trader-b"
            assert lease["spec"]["leaseTransitions"] == 1
            clock[0] = 16.0  # no renewal for longer than the duration: not held any more
            assert not b.held()

    run(body())


def test_two_replicas_racing_for_the_lease_get_exactly_one():
    async def body():
        async with serving() as url, httpx.AsyncClient() as client:
            for attempt in range(5):
                settings = LeaseSettings(
                    kind="kubernetes", api_url=url, name=f"race-{attempt}", duration_seconds=15
                )
                rivals = [KubernetesLease(settings, client, f"r{i}") for i in range(3)]
                won = await asyncio.gather(*(r.try_acquire(T0) for r in rivals))
                assert sum(won) == 1
                # All see the lease now; an expired one is replaced by one of them only.
                later = T0 + timedelta(seconds=60)
                won = await asyncio.gather(*(r.try_acquire(later) for r in rivals))
                assert sum(won) == 1

    run(body())


def test_the_file_lock_admits_one_trader(tmp_path):
    async def body():
        first, second = FileLease(tmp_path / "t.lock"), FileLease(tmp_path / "t.lock")
        assert first.try_acquire() and first.held()
        assert not second.try_acquire()
        await first.release()
        assert second.try_acquire()
        await second.release()

    run(body())
