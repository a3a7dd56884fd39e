"""The retention job: once an hour, delete history older than the configured days, so the
local file and the cloud tables stay bounded without anyone remembering to clean them."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from .services import Services
from .storage.base import to_micros

_log = logging.getLogger(__name__)
INTERVAL_SECONDS = 3600.0


async def purge_once(services: Services, now: datetime | None = None) -> int:
    cutoff = (now or datetime.now(UTC)) - timedelta(days=services.settings.retention_days)
    removed = await services.call_storage("purge", services.storage.purge, to_micros(cutoff))
    if removed:
        _log.info("retention: removed %d records older than %s", removed, cutoff.isoformat())
    return removed


async def run_retention(services: Services, interval: float = INTERVAL_SECONDS) -> None:
    """First run one interval after start: a restart loop must not turn into a purge loop."""
    while True:
        await asyncio.sleep(interval)
        try:
            await purge_once(services)
        except Exception:
            _log.exception("retention run failed; next try in %.0f s", interval)
