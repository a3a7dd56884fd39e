"""The trader's endpoints: authenticated batch ingest, idempotent, and the four reads."""

from __future__ import annotations

import httpx
import pytest

from .conftest import T0, auth
from .trading_records import day_of_trading

pytestmark = pytest.mark.anyio


def body(records) -> dict:
    return {"records": [r.model_dump(mode="json") for r in records]}


async def test_trading_records_are_stored_once_and_read_back(client: httpx.AsyncClient) -> None:
    records = day_of_trading(T0)
    assert (await client.post("/api/trading", json=body(records))).status_code == 401
    first = await client.post("/api/trading", json=body(records), headers=auth(client))
    assert first.json() == {"accepted": len(records), "stored": len(records)}
    again = await client.post("/api/trading", json=body(records), headers=auth(client))
    assert again.json()["stored"] == 0
    window = {"since": T0.isoformat(), "until": "2026-03-10T00:00:00Z"}

    signals = (await client.get("/api/signals", params=window)).json()["items"]
    assert [s["signal"]["id"] for s in signals] == ["s-2", "s-1"]
    assert signals[0]["decision"]["rule"] == "max_open_positions"
    assert signals[1]["decision"]["taken"] is True

    trades = (await client.get("/api/trades", params=window)).json()
    assert [(o["order_ref"], o["status"], o["filled"]) for o in trades["orders"]] == [
        ("s-1:L0", "filled", 2)
    ]
    assert [f["exec_id"] for f in trades["fills"]] == ["e.2", "e.1"]

    positions = (await client.get("/api/positions", params=window)).json()["items"]
    assert [(p["contract"]["strike"], p["quantity"]) for p in positions] == [(580.0, 2)]

    pnl = (await client.get("/api/pnl", params=window)).json()
    assert pnl[0]["unrealized_fair"] == 50.0 and pnl[0]["state"] == "active"


async def test_an_unknown_record_type_or_field_is_refused_by_name(
    client: httpx.AsyncClient,
) -> None:
    record = day_of_trading(T0)[0].model_dump(mode="json")
    response = await client.post(
        "/api/trading", json={"records": [record | {"colour": "red"}]}, headers=auth(client)
    )
    assert response.status_code == 422 and "colour" in response.text
    response = await client.post(
        "/api/trading", json={"records": [record | {"type": "bet"}]}, headers=auth(client)
    )
    assert response.status_code == 422


async def test_the_trader_relay_without_a_trader(client: httpx.AsyncClient) -> None:
    """No SPY_TRADER_URL: the state says so, and the kill switch needs the token, then
    answers 404 (the real relay to a running trader is tested in tests/frontend)."""
    assert (await client.get("/api/trader")).json() == {
        "configured": False,
        "reachable": False,
        "state": None,
        "reason": "",
        "ready": False,
        "limits": None,
    }
    command = {"on": True, "reason": "test"}
    assert (await client.post("/api/trader/kill-switch", json=command)).status_code == 401
    answer = await client.post("/api/trader/kill-switch", json=command, headers=auth(client))
    assert answer.status_code == 404 and "SPY_TRADER_URL" in answer.text
