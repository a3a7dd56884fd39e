"""What the dashboard needs beyond the history reads: its runtime config, the exchange
session (from `spy_core.market_hours`, the one calendar, at the market clock's now:
`spy_backend.market_clock`), and the strike ladder's quotes (posted by the market-data
service, held in memory: only the latest matters)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from spy_core import market_hours

from ..deps import ServicesDep
from ..realtime.ladder import LadderFeed
from ..schemas import IsoDateTime
from ..wire import WRITE_ERRORS, StrictJsonRoute

router = APIRouter(tags=["desk"])  # reads: behind the read token when reads are protected
public = APIRouter(tags=["desk"])  # the page's runtime config
writes = APIRouter(tags=["desk"], route_class=StrictJsonRoute)  # the producer's, with the token


class LadderPost(BaseModel):
    """`spy_backend.ladder.build_ladder`'s record."""

    model_config = ConfigDict(extra="forbid")
    underlying: str = Field(min_length=1, max_length=16, pattern=r"^[A-Z0-9.]+$")
    timestamp: IsoDateTime  # the snapshot's market time
    spot: float = Field(gt=0)
    expiry: str = Field(max_length=10)
    forward: float = Field(gt=0)
    rows: list[Annotated[list[float | int | None], Field(min_length=20, max_length=20)]] = Field(
        max_length=200
    )
    smile: list[Annotated[list[float | None], Field(min_length=5, max_length=5)]] = Field(
        max_length=400
    )
    wall_ms: float | None = None


def feed(request: Request) -> LadderFeed:
    state = request.app.state
    if not hasattr(state, "ladder"):
        state.ladder = LadderFeed()
    return state.ladder


@public.get("/config.json", include_in_schema=False)
async def config() -> dict:
    """The dashboard's runtime config when served by this backend: same origin. A cloud
    deploy writes its own /config.json next to the static files instead."""
    return {"apiBase": "", "hubUrl": "/hub"}


def _session(found: market_hours.Session | None) -> dict | None:
    if found is None:
        return None
    return {
        "day": found.day.isoformat(),
        "open": found.open.isoformat(),
        "close": found.close.isoformat(),
        "early_close": found.is_early_close,
    }


@router.get("/api/session")
async def session(services: ServicesDep) -> dict:
    """The NYSE session of the market clock's ET day, where the market stands in it, and the
    next one. `clock` says whose time it is: `real` (a live feed: the machine's) or
    `simulated` (a simulator or a replay: the latest snapshot's, run on at `rate` market
    seconds per wall second); `now` is null until simulated data has arrived."""
    clock = services.market_clock
    now = clock.now()
    answer: dict = {"clock": clock.kind.value, "now": None, "rate": clock.rate}
    if now is None:
        return answer | {"open": None, "phase": None, "session": None, "next": None}
    today = now.astimezone(market_hours.NEW_YORK).date()
    return answer | {
        "now": now.isoformat(),
        "open": market_hours.is_market_open(now),
        "phase": market_hours.phase(now).value,
        "session": _session(market_hours.session(today)),
        "next": _session(market_hours.next_session(today)),
    }


@router.get("/api/ladder")
async def ladder(request: Request) -> dict | None:
    """The ladder as of the last `ladder` broadcast (with its `seq`), null before the first."""
    return feed(request).current()


@writes.post(
    "/api/ladder/updates",
    status_code=204,
    responses={**WRITE_ERRORS, 413: {"description": "body too big"}},
)
async def post_ladder(body: LadderPost, request: Request) -> None:
    feed(request).update(body.model_dump(mode="json"))
    request.app.state.services.market_clock.observe(body.timestamp)
    request.app.state.services.broadcaster.ladder(feed(request))
