"""The market-data side: `HttpSink` posts real detector output, and its spool carries a
backend outage (and a sink restart) with nothing lost and nothing duplicated."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from spy_backend.client import HttpSink, analysis_summary, snapshot_summary
from spy_backend.spool import Spool
from spy_core.synthetic import sample_chain
from spy_detector import detect
from spy_detector.flow import PremiumFlowTracker

from .conftest import anomaly_event, auth, client_for
from .servers import TOKEN, BackendProcess

pytestmark = pytest.mark.anyio


async def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.02)


async def all_event_keys(base_url: str) -> list[str]:
    keys, cursor = [], None
    async with httpx.AsyncClient(base_url=base_url) as client:
        while True:
            params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/anomalies", params=params)).json()
            keys += [f"{e['id']}:{e['event']}:{e['at']}" for e in page["items"]]
            if (cursor := page["next_cursor"]) is None:
                return keys


async def test_real_detector_output_is_accepted(settings) -> None:
    snapshot, _ = sample_chain(seed=7, mispricings=3)
    analysis = detect(snapshot)
    flow = PremiumFlowTracker().update(snapshot)
    records = [snapshot_summary(snapshot), analysis_summary(snapshot, analysis, flow)]
    async with client_for(settings) as client:
        response = await client.post("/api/events", json={"records": records}, headers=auth(client))
        assert response.status_code == 200, response.text
        market = (await client.get("/api/market")).json()
    assert market["analysis"]["open_anomalies"] == len(analysis.anomalies)
    assert market["snapshot"]["quotes"] == len(snapshot.quotes)


async def test_outage_and_sink_restart_lose_nothing_and_duplicate_nothing(tmp_path) -> None:
    spool_path = tmp_path / "spool" / "backend.jsonl"
    backend = BackendProcess(tmp_path / "data")
    backend.start()
    try:
        sink = HttpSink(backend.url, TOKEN, spool_path, backoff_initial=0.05, backoff_max=0.2)
        sink.publish_events([anomaly_event(n) for n in range(50)])
        await wait_for(lambda: sink.backlog == 0)

        backend.stop()
        sink.publish_events([anomaly_event(n) for n in range(50, 150)])
        await asyncio.sleep(0.3)  # a few failed attempts
        assert sink.backlog == 100
        await sink.aclose(timeout=0.2)  # the process stops with the backend still down

        sink = HttpSink(backend.url, TOKEN, spool_path, backoff_initial=0.05, backoff_max=0.2)
        assert sink.backlog == 100  # replayed from disk
        backend.start()
        sink.publish_events([anomaly_event(n) for n in range(150, 200)])
        await wait_for(lambda: sink.backlog == 0)
        await sink.aclose()
        keys = await all_event_keys(backend.url)
    finally:
        backend.stop()
    assert len(keys) == len(set(keys)) == 200


def test_spool_replays_in_order_after_reopen_and_drops_a_torn_line(tmp_path) -> None:
    path = tmp_path / "s.jsonl"
    spool = Spool(path)
    for n in range(5):
        spool.append({"n": n})
    spool.ack(2)
    spool.close()
    with path.open("a") as file:
        file.write('{"n": 5')  # crash mid-write
    reopened = Spool(path)
    assert [json.loads(line)["n"] for line in reopened.peek(10)] == [2, 3, 4]
    reopened.append({"n": 6})
    assert [json.loads(line)["n"] for line in reopened.peek(10)] == [2, 3, 4, 6]


async def test_invalid_record_is_set_aside_and_the_rest_delivered(settings, tmp_path) -> None:
    async with client_for(settings) as client:
        token = client.app.state.services.token  # type: ignore[attr-defined]
        sink = HttpSink("http://test", token, tmp_path / "s.jsonl", client=client)
        sink.publish_events([anomaly_event(1)])
        sink._add({"type": "event", "id": "bad"})  # what a drifted producer might send
        sink.publish_events([anomaly_event(2)])
        await wait_for(lambda: sink.backlog == 0, 10)
        page = (await client.get("/api/anomalies")).json()
        sink.close()
    assert len(page["items"]) == 2
    rejected = (tmp_path / "s.rejected.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in rejected] == ["bad"]
