"""Security: writes need the service token (constant-time compare), reads open or protected
by setting, the dev token file is private, and the token never reaches logs or responses."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from unittest import mock

import httpx
import pytest

from spy_backend import token as token_module
from spy_backend.token import load_or_create

from .conftest import anomaly_event, auth, changed, client_for, event_record, token_of

pytestmark = pytest.mark.anyio

BATCH = {"records": [event_record(anomaly_event())]}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": ""},
    ],
    ids=["missing", "wrong", "basic", "empty-bearer", "empty"],
)
async def test_write_without_the_token_is_401(client: httpx.AsyncClient, headers) -> None:
    response = await client.post("/api/events", json=BATCH, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert token_of(client) not in response.text


async def test_token_is_compared_in_constant_time(client: httpx.AsyncClient) -> None:
    with mock.patch.object(
        token_module.hmac, "compare_digest", wraps=token_module.hmac.compare_digest
    ) as compare:
        response = await client.post("/api/events", json=BATCH, headers=auth(client))
    assert response.status_code == 200
    compare.assert_called_once()


async def test_reads_open_by_default_and_protected_by_setting(settings) -> None:
    async with client_for(settings) as open_reads:
        assert (await open_reads.get("/api/anomalies")).status_code == 200
        assert (await open_reads.post("/hub/negotiate")).status_code == 200
    async with client_for(changed(settings, protect_reads=True)) as protected:
        assert (await protected.get("/api/anomalies")).status_code == 401
        assert (await protected.post("/hub/negotiate")).status_code == 401
        ok = await protected.get("/api/anomalies", headers=auth(protected))
        assert ok.status_code == 200
        assert (await protected.get("/health")).status_code == 200


def test_dev_token_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "service-token"
    first = load_or_create(path)
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_or_create(path) == first


def test_configured_token_wins_and_no_file_is_written(settings) -> None:
    configured = changed(settings, service_token="k" * 40)
    assert token_module.service_token(configured) == "k" * 40
    assert not (settings.data_dir / "service-token").exists()


def test_wildcard_cors_is_refused(settings) -> None:
    with pytest.raises(ValueError, match="explicit origins"):
        changed(settings, cors_origins=["*"])


def test_prod_needs_a_configured_token(settings) -> None:
    with pytest.raises(ValueError, match="SPY_SERVICE_TOKEN"):
        changed(settings, environment="prod")


async def test_token_never_logged(client: httpx.AsyncClient, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secret = token_of(client)
    await client.post("/api/events", json=BATCH, headers=auth(client))
    await client.post("/api/events", json=BATCH, headers={"Authorization": f"Bearer {secret}x"})
    logging.getLogger("probe").info("header was Bearer %s", secret)
    from spy_backend.telemetry import JsonFormatter

    formatted = [JsonFormatter().format(r) for r in caplog.records]
    assert not any(secret in line for line in formatted)
