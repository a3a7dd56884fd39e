"""The simulated SPY market: a spot path, the day's listed options and their quotes.

Pure and deterministic: no clock, no I/O. The server tells the model what time it is
(`advance_to`); the model moves in fixed steps of simulated trading time, so the same seed
gives the same path whatever the wall clock or the caller's cadence. Each day's smiles, rate
and dividend yield come from `spy_core.synthetic.random_scenario`; each view's quotes come
from `quote_chain` with a generator seeded by (seed, step), so quotes at step n depend only
on the seed and n. Volume, open interest and last trades are kept here because a stream
needs them cumulative, which one-off synthetic chains do not.

Time to expiry follows `spy_core.market_hours` (calendar time). The model never steps onto
or past the session close, so today's expiry always has time left; after the close it waits
for the next session.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from spy_core.market_hours import NEW_YORK, Session, next_session, session, time_to_expiry
from spy_core.models import ChainSnapshot, ContractKey, OptionQuote, Right, Side
from spy_core.synthetic import (
    DEFAULT_SIZES,
    TICK,
    InjectedMispricing,
    MarketScenario,
    SmileParams,
    fair_values,
    misprice_quote,
    quote_chain,
    random_scenario,
)

from .instruments import STOCK, Instrument, option

_TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600.0
_DAILY_OPTION_VOLUME = 40_000.0  # at the money, today's expiry (as spy_core.synthetic)
_DAILY_STOCK_VOLUME = 60_000_000.0
_MAX_LAG_DAYS = 10  # catching up further than this restarts at the latest session


@dataclass(frozen=True)
class MarketConfig:
    """How the market behaves. Rates are per simulated minute, lifetimes simulated seconds."""

    seed: int = 7
    step_seconds: float = 1.0
    expiries: int = 4
    strikes_each_side: int = 30  # today's expiry; each later one lists `strike_taper` fewer
    strike_taper: int = 5
    annual_vol: float = 0.15  # of the spot path, on a trading-time clock
    jumps_per_day: float = 2.0
    jump_size: float = 0.003  # standard deviation of a jump's log-return
    mispricing_rate: float = 0.5
    mispricing_lifetime: float = 120.0
    mispricing_sizes: tuple[float, ...] = DEFAULT_SIZES
    mispricing_band: float = 0.015  # candidates: front two expiries, strikes within ±1.5%


@dataclass(frozen=True)
class StockQuote:
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    last: float
    volume: int


@dataclass(frozen=True)
class MarketView:
    """Everything a client can see at one step; built once per step and shared."""

    step: int
    timestamp: datetime
    spot: float
    rate: float
    dividend_yield: float
    snapshot: ChainSnapshot  # option quotes, mispricings applied
    fair: dict[ContractKey, float]  # model fair values (the truth behind the quotes)
    model_vols: dict[ContractKey, float]
    stock: StockQuote
    injected: tuple[InjectedMispricing, ...]  # live mispricings as applied to these quotes

    @functools.cached_property
    def quotes(self) -> dict[ContractKey, OptionQuote]:
        return {(q.expiry, q.strike, q.right): q for q in self.snapshot.quotes}


@dataclass
class _Mispricing:
    key: ContractKey
    side: Side
    size: float
    until: datetime


@dataclass
class _Day:
    """The listing and the day-long parameters of one session."""

    session: Session
    rate: float
    dividend_yield: float
    expiries: tuple[date, ...]
    open_smiles: tuple[SmileParams, ...]  # smiles at the open; rescaled to the time of a view
    strikes: dict[date, tuple[float, ...]]
    keys: list[ContractKey] = field(default_factory=list)
    instruments: tuple[Instrument, ...] = ()
    by_con_id: dict[int, Instrument] = field(default_factory=dict)
    open_interest: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    intensity: np.ndarray = field(default_factory=lambda: np.zeros(0))  # contracts/second
    volume: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_side: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    stock_volume: int = 0


def default_start(now: datetime) -> datetime:
    """The open of the session on `now`'s New York date, or of the latest one before it."""
    day = now.astimezone(NEW_YORK).date()
    while (found := session(day)) is None:
        day -= timedelta(days=1)
    return found.open


class MarketModel:
    """The SPY market stepped on a simulated trading clock; see the module docstring."""

    def __init__(self, config: MarketConfig, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.config = config
        self._path_rng = np.random.default_rng([config.seed, 0])
        self._step = 0
        day = _session_at_or_before(start)
        first = random_scenario(self._day_rng(day.day), timestamp=day.open)
        self._spot = first.spot
        self._day = self._new_day(day)
        self._time = day.open
        self._mispricings: list[_Mispricing] = []
        self._view: MarketView | None = None
        self.advance_to(start)

    # -- time -------------------------------------------------------------------------
    @property
    def time(self) -> datetime:
        return self._time

    @property
    def step(self) -> int:
        return self._step

    def advance_to(self, now: datetime) -> None:
        """Step until the model's time reaches `now` (never onto a session close)."""
        step = timedelta(seconds=self.config.step_seconds)
        while True:
            upcoming = next_session(self._day.session.day)
            if now >= upcoming.open:
                self._roll_to(_session_at_or_before(now) if self._far_behind(now) else upcoming)
                continue
            target = min(now, self._day.session.close - step)
            while self._time + step <= target:
                self._advance_one(step)
            return

    def _far_behind(self, now: datetime) -> bool:
        return now - self._time > timedelta(days=_MAX_LAG_DAYS)

    # -- listing ------------------------------------------------------------------------
    @property
    def expiries(self) -> tuple[date, ...]:
        return self._day.expiries

    def strikes(self, expiry: date) -> tuple[float, ...]:
        return self._day.strikes.get(expiry, ())

    def instruments(self) -> tuple[Instrument, ...]:
        """SPY and every option listed today (built once per day: every order and contract
        request looks it up)."""
        return self._day.instruments

    def instrument(self, con_id: int) -> Instrument | None:
        """The instrument listed today under `con_id`, if any."""
        return self._day.by_con_id.get(con_id)

    # -- mispricings ----------------------------------------------------------------------
    def inject(
        self,
        key: ContractKey,
        side: Side,
        size: float,
        lifetime: float | None = None,
        now: datetime | None = None,
    ) -> None:
        """Misprice one listed contract from now for `lifetime` simulated seconds.

        `now` is the clock's time when the model lags behind it (a slow step: the next
        `advance_to` catches up several steps at once): the lifetime counts from there, not
        from the model's time, or a short-lived mispricing could expire within the catch-up
        and never be shown."""
        if key not in set(self._day.keys):
            raise KeyError(f"not listed today: {key}")
        seconds = self.config.mispricing_lifetime if lifetime is None else lifetime
        start = self._time if now is None else max(self._time, now)
        self._mispricings.append(_Mispricing(key, side, size, start + timedelta(seconds=seconds)))
        self._view = None

    def move_spot(self, fraction: float) -> None:
        """Jump the spot by `fraction` (0.01 = +1%) now: a control for tests and demos (the
        day's listing stays; later steps continue the path from the new level)."""
        if not fraction > -1.0:
            raise ValueError("the spot cannot fall by 100% or more")
        self._spot *= 1.0 + fraction
        self._view = None

    def live_mispricings(self) -> tuple[InjectedMispricing, ...]:
        """The mispricings in today's quotes, with their edge against fair right now."""
        return self.view().injected

    # -- the view -----------------------------------------------------------------------
    def view(self) -> MarketView:
        if self._view is None or self._view.step != self._step:
            self._view = self._build_view()
        return self._view

    def _build_view(self) -> MarketView:
        day, now = self._day, self._time
        years = [time_to_expiry(now, e) for e in day.expiries]
        open_years = [time_to_expiry(day.session.open, e) for e in day.expiries]
        smiles = tuple(
            s.ssvi_at(float(s.total_variance(0.0)) * t / t0)
            for s, t, t0 in zip(day.open_smiles, years, open_years, strict=True)
        )
        scenario = MarketScenario(
            spot=self._spot,
            timestamp=now,
            rate=day.rate,
            dividend_yield=day.dividend_yield,
            expiries=day.expiries,
            smiles=smiles,
            listed_strikes=day.strikes[day.expiries[0]],
        )
        rng = np.random.default_rng([self.config.seed, 2, self._step])
        fair = fair_values(scenario)
        chain = quote_chain(scenario, rng)
        listed = {key: i for i, key in enumerate(day.keys)}
        live = {(m.key, m.side): m.size for m in self._mispricings}
        quotes, injected = [], []
        for quote in chain.quotes:
            key = (quote.expiry, quote.strike, quote.right)
            if key in listed:
                shown, records = self._shown_quote(quote, listed[key], fair[key], live)
                quotes.append(shown)
                injected.extend(records)
        return MarketView(
            step=self._step,
            timestamp=now,
            spot=self._spot,
            rate=day.rate,
            dividend_yield=day.dividend_yield,
            snapshot=chain.model_copy(update={"quotes": tuple(quotes)}),
            fair={key: fair[key] for key in day.keys},
            model_vols=_model_vols(scenario, day.keys),
            stock=self._stock_quote(rng),
            injected=tuple(injected),
        )

    def _shown_quote(
        self,
        quote: OptionQuote,
        index: int,
        fair: float,
        live: dict[tuple[ContractKey, Side], float],
    ) -> tuple[OptionQuote, list[InjectedMispricing]]:
        """The quote with today's activity and any live mispricing applied."""
        shown = self._with_activity(quote, index)
        records = []
        for side in Side:
            size = live.get(((quote.expiry, quote.strike, quote.right), side))
            moved = None if size is None else misprice_quote(shown, fair, side, size)
            if moved is not None:
                shown, record = moved
                records.append(record)
        return shown, records

    def _with_activity(self, quote: OptionQuote, index: int) -> OptionQuote:
        day = self._day
        volume = int(day.volume[index])
        side = int(day.last_side[index])
        last = None if volume == 0 or side == 0 else (quote.ask if side > 0 else quote.bid)
        return quote.model_copy(
            update={
                "volume": volume,
                "open_interest": int(day.open_interest[index]),
                "last": last,
            }
        )

    def _stock_quote(self, rng: np.random.Generator) -> StockQuote:
        bid = math.floor(self._spot / TICK) * TICK
        return StockQuote(
            bid=round(bid, 2),
            ask=round(bid + TICK, 2),
            bid_size=int(rng.integers(1, 50)) * 100,
            ask_size=int(rng.integers(1, 50)) * 100,
            last=round(self._spot, 2),
            volume=self._day.stock_volume,
        )

    # -- stepping -----------------------------------------------------------------------
    def _advance_one(self, step: timedelta) -> None:
        cfg, rng, day = self.config, self._path_rng, self._day
        dt = step.total_seconds()
        sd = cfg.annual_vol * math.sqrt(dt / _TRADING_SECONDS_PER_YEAR)
        log_return = sd * rng.standard_normal() - 0.5 * sd * sd
        if rng.random() < cfg.jumps_per_day * dt / _session_seconds(day.session):
            log_return += cfg.jump_size * rng.standard_normal()
        self._spot *= math.exp(log_return)
        traded = rng.poisson(day.intensity * dt)
        sides = np.where(rng.random(traded.size) < 0.5, 1, -1).astype(np.int8)
        day.volume += traded
        day.last_side = np.where(traded > 0, sides, day.last_side)
        day.stock_volume += int(
            rng.poisson(_DAILY_STOCK_VOLUME * dt / _session_seconds(day.session))
        )
        self._time += step
        self._step += 1
        self._mispricings = [m for m in self._mispricings if m.until > self._time]
        if rng.random() < cfg.mispricing_rate * dt / 60.0:
            self._spawn_mispricing(rng)

    def _spawn_mispricing(self, rng: np.random.Generator) -> None:
        cfg, day = self.config, self._day
        front = set(day.expiries[:2])
        band = cfg.mispricing_band * self._spot
        taken = {m.key for m in self._mispricings}
        candidates = [
            key
            for key in day.keys
            if key[0] in front and abs(key[1] - self._spot) <= band and key not in taken
        ]
        if not candidates:
            return
        key = candidates[int(rng.integers(len(candidates)))]
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        size = float(rng.choice(cfg.mispricing_sizes))
        until = self._time + timedelta(seconds=cfg.mispricing_lifetime)
        self._mispricings.append(_Mispricing(key, side, size, until))

    # -- days ---------------------------------------------------------------------------
    def _day_rng(self, day: date) -> np.random.Generator:
        return np.random.default_rng([self.config.seed, 1, day.toordinal()])

    def _roll_to(self, found: Session) -> None:
        self._day = self._new_day(found)
        self._time = found.open
        self._mispricings = []
        self._view = None

    def _new_day(self, found: Session) -> _Day:
        cfg = self.config
        rng = self._day_rng(found.day)
        scenario = random_scenario(rng, timestamp=found.open, expiries=cfg.expiries)
        centre = round(self._spot)
        strikes = {
            expiry: tuple(float(centre + i) for i in range(-width, width + 1) if centre + i > 0)
            for expiry, width in zip(
                scenario.expiries,
                [max(cfg.strikes_each_side - cfg.strike_taper * n, 1) for n in range(cfg.expiries)],
                strict=True,
            )
        }
        day = _Day(
            session=found,
            rate=scenario.rate,
            dividend_yield=scenario.dividend_yield,
            expiries=scenario.expiries,
            open_smiles=scenario.smiles,
            strikes=strikes,
        )
        day.keys = [(e, k, r) for e in day.expiries for r in Right for k in strikes[e]]
        day.instruments = (STOCK, *(option(*key) for key in day.keys))
        day.by_con_id = {i.con_id: i for i in day.instruments}
        atm_sd = {
            e: math.sqrt(float(s.total_variance(0.0)))
            for e, s in zip(scenario.expiries, scenario.smiles, strict=True)
        }
        away = np.array([abs(math.log(k / self._spot)) / atm_sd[e] for e, k, _ in day.keys])
        front = np.array([e == day.expiries[0] for e, _, _ in day.keys])
        day.intensity = (
            _DAILY_OPTION_VOLUME * np.exp(-away / 2.0) * np.where(front, 1.0, 0.3)
        ) / _session_seconds(found)
        day.open_interest = rng.poisson(20_000 * np.exp(-away / 4.0)).astype(np.int64)
        day.volume = np.zeros(len(day.keys), np.int64)
        day.last_side = np.zeros(len(day.keys), np.int8)
        return day


def _session_seconds(found: Session) -> float:
    return (found.close - found.open).total_seconds()


def _session_at_or_before(moment: datetime) -> Session:
    """The session that contains `moment`, else the latest one before it."""
    day = moment.astimezone(NEW_YORK).date()
    while (found := session(day)) is None or found.open > moment:
        day -= timedelta(days=1)
    return found


def _model_vols(scenario: MarketScenario, keys: Sequence[ContractKey]) -> dict[ContractKey, float]:
    """The smile's implied vol for each contract (the model's own vol)."""
    vols: dict[ContractKey, float] = {}
    for expiry, smile in zip(scenario.expiries, scenario.smiles, strict=True):
        t = scenario.years(expiry)
        forward = scenario.forward(expiry)
        for key in keys:
            if key[0] == expiry:
                w = float(smile.total_variance(math.log(key[1] / forward)))
                vols[key] = math.sqrt(w / t)
    return vols
