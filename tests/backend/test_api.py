"""The HTTP API in-process: ingest, reads, filters, pagination, idempotency, bad input."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from spy_core.models import Severity, Side

from .conftest import (
    T0,
    analysis_record,
    anomaly_event,
    auth,
    changed,
    client_for,
    event_record,
    snapshot_record,
)

pytestmark = pytest.mark.anyio


async def post(client: httpx.AsyncClient, records: list[dict]) -> httpx.Response:
    return await client.post("/api/events", json={"records": records}, headers=auth(client))


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).json() == {"ready": True, "storage": "ok"}


async def test_ready_is_503_when_storage_is_down(client: httpx.AsyncClient) -> None:
    client.app.state.services.storage.close()  # type: ignore[attr-defined]
    response = await client.get("/ready")
    assert response.status_code == 503
    assert response.json()["ready"] is False


async def test_batch_is_stored_once_and_read_newest_first(client: httpx.AsyncClient) -> None:
    records = [event_record(anomaly_event(n)) for n in range(5)]
    records += [analysis_record(), snapshot_record()]
    first = await post(client, records)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 7, "stored": 7}
    again = await post(client, records)
    assert again.json() == {"accepted": 7, "stored": 0}
    page = (await client.get("/api/anomalies")).json()
    assert [e["at"] for e in page["items"]] == sorted(
        (e["at"] for e in page["items"]), reverse=True
    )
    assert len(page["items"]) == 5
    assert page["next_cursor"] is None
    market = (await client.get("/api/market")).json()
    assert market["snapshot"]["quotes"] == 42
    assert market["analysis"]["spot"] == 580.5
    gex = (await client.get("/api/gex")).json()
    assert gex["call_wall"] == 585.0


async def test_events_of_one_scan_do_not_overwrite_each_other(
    client: httpx.AsyncClient,
) -> None:
    """The predecessor keyed rows by a seconds timestamp and lost all but one per scan."""
    same_time = [event_record(anomaly_event(n, at=T0)) for n in range(20)]
    assert (await post(client, same_time)).json()["stored"] == 20
    page = (await client.get("/api/anomalies", params={"limit": 500})).json()
    assert len(page["items"]) == 20


async def test_cursor_pages_cover_everything_once(client: httpx.AsyncClient) -> None:
    await post(client, [event_record(anomaly_event(n)) for n in range(23)])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/anomalies", params=params)).json()
        seen += [f"{e['id']}@{e['at']}" for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 23


async def test_filters(client: httpx.AsyncClient) -> None:
    records = [
        event_record(anomaly_event(0, side=Side.SELL, severity=Severity.LOW)),
        event_record(anomaly_event(1, side=Side.BUY, severity=Severity.HIGH)),
        event_record(anomaly_event(2, side=Side.BUY, severity=Severity.MEDIUM)),
    ]
    await post(client, records)

    async def ids(**params: str) -> list[int]:
        page = (await client.get("/api/anomalies", params=params)).json()
        return sorted(int(e["id"].rsplit("-", 1)[1]) - 1773068400000 for e in page["items"])

    assert await ids(side="buy") == [1, 2]
    assert await ids(severity="low") == [0]
    assert await ids(since=(T0 + timedelta(seconds=1)).isoformat()) == [1, 2]
    assert await ids(until=(T0 + timedelta(seconds=1)).isoformat()) == [0]
    assert await ids(expiry="2026-03-10") == []


async def test_flow_series(client: httpx.AsyncClient) -> None:
    await post(client, [analysis_record(T0 + timedelta(seconds=s)) for s in range(3)])
    points = (
        await client.get(
            "/api/flow", params={"since": T0.isoformat(), "until": "2026-03-10T00:00:00Z"}
        )
    ).json()
    assert [p["timestamp"] for p in points] == sorted(p["timestamp"] for p in points)
    assert len(points) == 3
    assert points[0]["flow"]["session"]["net"] == 550.0


async def test_unknown_field_is_rejected_with_its_name(client: httpx.AsyncClient) -> None:
    record = event_record(anomaly_event()) | {"colour": "red"}
    response = await post(client, [record])
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any("colour" in err["loc"] and err["type"] == "extra_forbidden" for err in detail)


async def test_schema_violation_names_the_field(client: httpx.AsyncClient) -> None:
    record = event_record(anomaly_event())
    record["anomaly"] = record["anomaly"] | {"side": "sideways"}
    response = await post(client, [record])
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][-1] == "side"
    assert "buy" in error["msg"]


async def test_naive_timestamp_and_unsafe_id_are_rejected(client: httpx.AsyncClient) -> None:
    naive = snapshot_record() | {"timestamp": "2026-03-09T15:00:00"}
    assert (await post(client, [naive])).status_code == 422
    slashed = event_record(anomaly_event()) | {"id": "a/b#c"}
    response = await post(client, [slashed])
    assert response.status_code == 422
    assert "id must be" in response.text


async def test_bad_cursor_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/anomalies", params={"cursor": "not-a-cursor!"})
    assert response.status_code == 422


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"records": [' + b" " * 2_000_000 + b"]}"
    response = await client.post(
        "/api/events", content=big, headers=auth(client) | {"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_oversized_chunked_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():
        for _ in range(40):
            yield b" " * 65536

    response = await client.post("/api/events", content=chunks(), headers=auth(client))
    assert response.status_code == 413


async def test_too_many_records_is_413(settings) -> None:
    async with client_for(changed(settings, max_batch=3)) as c:
        response = await post(c, [snapshot_record(T0 + timedelta(seconds=s)) for s in range(4)])
    assert response.status_code == 413


PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "x-signalr-user-agent",
}


async def allowed_origin(client: httpx.AsyncClient, url: str, origin: str) -> str | None:
    response = await client.options(url, headers={"Origin": origin} | PREFLIGHT)
    return response.headers.get("access-control-allow-origin")


async def test_cors_default_is_the_loopback_origins_of_the_servers_own_port(settings) -> None:
    """Unconfigured, the allowed origins follow the port the server listens on (the
    request's server port), not a fixed 8000."""
    async with client_for(settings) as c:
        for port in (8000, 8123):
            url = f"http://127.0.0.1:{port}/hub/negotiate"
            for host in ("127.0.0.1", "localhost"):
                origin = f"http://{host}:{port}"
                assert await allowed_origin(c, url, origin) == origin
            assert await allowed_origin(c, url, "http://127.0.0.1:9999") is None
            assert await allowed_origin(c, url, "https://evil.example") is None


async def test_cors_lists_explicit_origins(settings) -> None:
    configured = changed(settings, cors_origins=["https://dash.example"])
    async with client_for(configured) as c:
        url = "http://127.0.0.1:8000/hub/negotiate"
        assert await allowed_origin(c, url, "https://dash.example") == "https://dash.example"
        assert await allowed_origin(c, url, "http://127.0.0.1:8000") is None


async def test_metrics_count_requests_and_ingest(client: httpx.AsyncClient) -> None:
    await post(client, [snapshot_record()])
    text = (await client.get("/metrics")).text
    assert 'spy_ingested_records_total{kind="snapshot",new="true"} 1.0' in text
    assert 'route="/api/events"' in text
    assert "spy_storage_seconds_bucket" in text


async def test_docs_on_in_dev_off_in_prod(settings) -> None:
    async with client_for(settings) as dev:
        assert (await dev.get("/openapi.json")).status_code == 200
    prod = changed(settings, environment="prod", service_token="x" * 40)
    async with client_for(prod) as c:
        assert (await c.get("/openapi.json")).status_code == 404
        assert (await c.get("/docs")).status_code == 404
        assert (await c.get("/metrics")).status_code == 401
        ok = await c.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
        assert ok.status_code == 200


async def test_snapshot_warnings_and_expiry_notes_reach_the_market_state(
    client: httpx.AsyncClient,
) -> None:
    """The detector's warnings (stale underlying, closed market) and an expiry without a
    smile are stored and read back, so the desk can label the snapshot."""
    record = analysis_record()
    record["warnings"] = ["stale_underlying", "market_closed"]
    record["expiries"] = [
        {
            "expiry": "2026-03-09",
            "root": None,
            "minutes_to_expiry": 30.0,
            "forward": 580.4,
            "forward_strikes": 0,
            "discount": 1.0,
            "atm_vol": None,
            "quotes": 4,
            "fitted": 0,
            "bound_only": 4,
            "outliers": 0,
            "fit_residual_scale": None,
            "note": "no two-sided quotes: no smile; only model-free bounds checked",
        }
    ]
    assert (await post(client, [record])).status_code == 200
    analysis = (await client.get("/api/market")).json()["analysis"]
    assert analysis["warnings"] == ["stale_underlying", "market_closed"]
    assert analysis["expiries"][0]["note"].startswith("no two-sided quotes")
    record["warnings"] = ["Not A Kind!"]
    assert (await post(client, [record])).status_code == 422
