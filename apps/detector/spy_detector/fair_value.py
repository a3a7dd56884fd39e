"""Fair value of every quote in an expiry, and how well it is known.

The evidence, strongest first:
- The quote's own strike: by put-call parity a call and a put of one strike have one implied
  vol, so the other quote of the strike pins it (the fit takes both, each at its own
  position, and judges each leave-one-out, so the other one still speaks).
- Its neighbours, through a smooth smile fitted twice (log-moneyness and stretched
  moneyness, `smile.py`).
- Without a smile (too few two-sided quotes: minutes before expiry), parity alone prices an
  in-the-money quote from a tight out-of-the-money one.
- Model-free bounds from neighbours (monotonicity) and from earlier expiries (time value
  only grows with time) cap the edge a fitted value may claim.

The error a finding is scored in is the fit's own (noise through the smoother) with its
local bias (how far it misses the quote's fitted neighbours beyond their widths), converted
to dollars over the price's convexity in vol.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from spy_core.arrays import median
from spy_core.models import ExerciseStyle
from spy_core.pricing import black76_price, black76_vega, implied_vol

from . import _native
from .arbitrage import convexity_caps
from .config import DetectorConfig
from .slices import ExpirySlice
from .smile import SmileFit, SmileQuotes, fit_smiles

# An in-the-money quote informs the smile when its vol band is at most this many times the
# median two-sided out-of-the-money band (`_informative_itm`).
ITM_WIDTH_RATIO = 10.0
# Fitted neighbours either side whose misses measure a fit's local bias (`_local_bias`).
BIAS_NEIGHBOURS = 2
# Without a smile, an out-of-the-money quote at most this many ticks wide prices its
# in-the-money counterpart by parity (`_parity_values`).
PARITY_MAX_TICKS = 3


@dataclass(frozen=True, slots=True)
class FairValues:
    """Per quote of a slice (same order): fair price, its standard error and the smile vol."""

    fair: np.ndarray
    fair_error: np.ndarray  # dollars
    vol: np.ndarray
    buy_edge: np.ndarray  # fair − ask (NaN where there is no offer)
    # bid − the most the quote is worth: an American one's fair plus the bound on its early
    # exercise premium, or its exercise value (NaN where there is no bid)
    sell_edge: np.ndarray
    fit: SmileFit | None
    fitted_quotes: int
    bound_quotes: int
    # Bound-only quotes (bid at one tick or less) beyond the outermost two-sided quote: the
    # smile there is an extrapolation that their own caps hold down, so they get no smile
    # findings (the sparse, far wings of newly listed or long-dated expiries).
    extrapolated: np.ndarray | None = None


def fair_values(chain: ExpirySlice, config: DetectorConfig) -> FairValues:
    """Fit the smile on the two-sided out-of-the-money quotes (puts below the forward, calls
    at or above) and the in-the-money ones whose vol band is narrow enough to inform it
    (`_informative_itm`), and price every quote from it. The smile is fitted twice, in
    log-moneyness and in stretched moneyness (`_stretched_moneyness`), and a quote is judged
    against the fit nearer its mid, counting that fit's error (`_consensus`): each
    parameterisation has chains it fits badly, and a quote only both call mispriced is one
    the data, not the model, calls mispriced.

    Deep in-the-money prices carry almost no time value, so their implied vols are noise:
    their 1/width² weight is small, and beyond `ITM_WIDTH_RATIO` they are left out and parity
    lets the out-of-the-money side speak for both.
    """
    forward, t, df = chain.forward.forward, chain.t, chain.discount
    k = np.log(chain.strike / forward)
    otm = _out_of_the_money(chain)
    vols = implied_vol(
        np.array([chain.bid, chain.ask, 0.5 * (chain.bid + chain.ask)]),
        forward,
        chain.strike,
        t,
        df,
        chain.is_call,
    )
    iv_bid, iv_ask, iv_mid = vols
    usable = (chain.bid > chain.tick + 1e-9) & np.logical_and.reduce(np.isfinite(vols), axis=0)
    half_tick = _vol_of_half_tick(chain, np.where(usable, iv_mid, iv_ask))
    half_width = np.maximum(0.5 * (iv_ask - iv_bid), half_tick)
    # A quote in arbitrage with a neighbour may be the mispriced one: it informs no fit (a
    # lone wing quote bid up at the edge of the data bent the smile through itself, turned
    # its neighbours' offers into implausible caps and was judged against itself).
    cap, floor, crossed = _neighbour_bounds(chain)
    clean = usable & ~crossed
    two_sided = otm & clean
    # Out-of-the-money quotes first: they set the weights' scale (`SmileQuotes.primary`).
    primary = np.flatnonzero(two_sided)
    fit_quotes = np.concatenate(
        [primary, np.flatnonzero(_informative_itm(chain, clean & ~otm, half_width, primary))]
    )
    bound_quotes = np.flatnonzero(otm & ~crossed & ~usable & np.isfinite(iv_ask))
    quotes = SmileQuotes(
        fit_index=fit_quotes,
        mid_vol=iv_mid[fit_quotes],
        half_width=half_width[fit_quotes],
        bound_index=bound_quotes,
        upper_vol=iv_ask[bound_quotes],
        # Only the offer is information: a cap is as certain as half a tick.
        bound_half_width=half_tick[bound_quotes],
        primary=primary.size,
    )
    stretched = _stretched_moneyness(k, fit_quotes, iv_mid[fit_quotes], t, config)
    fits = fit_smiles((k, stretched), quotes, config.smile)
    if fits is None:
        # No smile: where a strike's out-of-the-money quote is tight, parity still prices its
        # in-the-money counterpart (model-free but for the forward, whose error is scored).
        vol = np.full(chain.strike.shape, np.nan)
        fair, fair_error = _parity_values(chain, otm & ~crossed & ~_above_convexity(chain))
        fit = None
    else:
        fair, fair_error, vol = _consensus(chain, fits, quotes)
        fit = fits[0]
        # Where the smile agrees with a strike's tight out-of-the-money quote, parity from that
        # quote prices the in-the-money one more closely than the smile can (deep in the
        # money, far from any fitted quote, the smile's value there is an extrapolation).
        agrees = (fair >= chain.bid - chain.tick) & (fair <= chain.ask + chain.tick)
        parity, parity_error = _parity_values(chain, otm & ~crossed & agrees)
        closer = parity_error < fair_error
        fair = np.where(closer, parity, fair)
        fair_error = np.where(closer, parity_error, fair_error)
    most = fair  # the most the option can be worth, which a sale must clear
    if chain.style is ExerciseStyle.AMERICAN:
        fair, most = _american_adjustment(chain, fair, vol, in_the_money=~otm)
    with np.errstate(invalid="ignore"):
        buy_edge = np.where(chain.ask > 0, np.minimum(fair, cap) - chain.ask, np.nan)
        sell_edge = np.where(chain.bid > 0, chain.bid - np.maximum(most, floor), np.nan)
    extrapolated = None
    if fit_quotes.size:
        fitted_range = chain.strike[fit_quotes]
        beyond = (chain.strike < fitted_range.min()) | (chain.strike > fitted_range.max())
        extrapolated = beyond & (chain.bid <= chain.tick + 1e-9)
    return FairValues(
        fair,
        fair_error,
        vol,
        buy_edge,
        sell_edge,
        fit,
        fit_quotes.size,
        bound_quotes.size,
        extrapolated,
    )


class CalendarFloors:
    """Bids of out-of-the-money options at earlier expiries, which floor the same contract's
    value at a later one: time value does not shrink with time to expiry (total variance at
    a strike only grows), so a later option bid below an earlier one's bid is what a smile
    extrapolated too low in a sparse wing claims, not a sale above fair value. Fed the
    expiries nearest first; carry moves an out-of-the-money price far less than a tick."""

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.int64)  # sorted contract keys (`_key`)
        self._bids = np.empty(0)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # merged when next needed

    def apply(self, chain: ExpirySlice, values: FairValues) -> FairValues:
        otm = _out_of_the_money(chain)
        keys = _key(chain.strike, chain.is_call)
        floor = self._floors(keys, otm)
        self._pending.append((keys[otm], chain.bid[otm]))
        if floor is None:
            return values
        with np.errstate(invalid="ignore"):
            sell_edge = np.minimum(values.sell_edge, chain.bid - floor)
        return replace(values, sell_edge=sell_edge)

    def _floors(self, keys: np.ndarray, otm: np.ndarray) -> np.ndarray | None:
        """The highest earlier bid of each out-of-the-money contract (-inf where none)."""
        if self._pending:
            merged_keys = np.concatenate([self._keys, *(k for k, _ in self._pending)])
            merged_bids = np.concatenate([self._bids, *(b for _, b in self._pending)])
            order = np.argsort(merged_keys, kind="stable")
            self._keys, first = np.unique(merged_keys[order], return_index=True)
            self._bids = np.maximum.reduceat(merged_bids[order], first)
            self._pending.clear()
        if self._keys.size == 0:
            return None
        at = np.searchsorted(self._keys, keys).clip(max=self._keys.size - 1)
        known = otm & (self._keys[at] == keys)
        return np.where(known, self._bids[at], -np.inf) if known.any() else None


def _out_of_the_money(chain: ExpirySlice) -> np.ndarray:
    """Puts below the forward, calls at or above it."""
    return (chain.strike >= chain.forward.forward) == chain.is_call


def _key(strike: np.ndarray, is_call: np.ndarray) -> np.ndarray:
    """One integer per contract of a root family: the strike in thousandths, and the right."""
    return np.round(strike * 1000.0).astype(np.int64) * 2 + is_call


def _consensus(
    chain: ExpirySlice, fits: list[SmileFit], quotes: SmileQuotes
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fair value, its error and vol per quote: each quote is judged against whichever smile
    is nearer its mid, counting that smile's error there (|fair − mid| + error), so it is
    flagged only when both parameterisations call it mispriced, and a fit that is close only
    by being vague does not win. The error is the fit's own (noise through the smoother) and
    its local bias: how far the same fit misses the quote's nearest neighbours beyond their
    own widths (a sparse wing, a curvature the spline cannot follow), which the smoother's
    error cannot see."""
    forward, t, df = chain.forward.forward, chain.t, chain.discount
    # np.array, not np.stack, of rows of one shape: the same array for a fifth of the cost.
    vols = np.array([f.vol for f in fits])  # row 0 in log-moneyness, row 1 stretched
    errors = np.array([f.vol_error for f in fits])
    bias = _local_bias(chain.strike, vols, quotes)
    # The price is convex in vol, steeply so in a far wing: a linear (vega) error at a vol the
    # fit got too low is near zero. Half the price range over vol ± its error instead. Both
    # smiles and both ends priced in one call.
    spread = np.hypot(errors, bias)
    fairs, up, down = black76_price(
        forward,
        chain.strike,
        t,
        np.array([vols, vols + spread, np.maximum(vols - spread, 0.0)]),
        df,
        chain.is_call,
    )
    total = 0.5 * (up - down)
    mid = 0.5 * (chain.bid + chain.ask)
    nearer = (np.abs(fairs - mid) + total).argmin(axis=0)
    columns = np.arange(chain.strike.size)
    fair_error = total[nearer, columns]
    return fairs[nearer, columns], fair_error, vols[nearer, columns]


def _local_bias(strike: np.ndarray, vols: np.ndarray, quotes: SmileQuotes) -> np.ndarray:
    """Per fit (a row of `vols`) and quote, the fit's bias near the quote (vol): the median,
    over the nearest `BIAS_NEIGHBOURS` fitted quotes on each side (not the quote itself), of
    how far each one's leave-one-out value misses its mid beyond its own noise
    (half-width/√3). Outliers count: a run of them is a stretch the fit gave up on (a wing it
    extrapolates through), while one mispriced neighbour does not move a median. Computed by
    `_native.local_bias` (a loop over a few neighbours per quote)."""
    bias = np.empty(vols.shape)
    _native.local_bias(
        np.ascontiguousarray(strike, dtype=np.float64),
        np.ascontiguousarray(quotes.fit_index, dtype=np.int64),
        np.ascontiguousarray(quotes.mid_vol, dtype=np.float64),
        np.ascontiguousarray(quotes.half_width, dtype=np.float64),
        np.ascontiguousarray(vols, dtype=np.float64),
        BIAS_NEIGHBOURS,
        bias,
    )
    return bias


def _parity_values(chain: ExpirySlice, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each in-the-money quote's value from its strike's out-of-the-money quote by put-call
    parity, C − P = DF·(F − K), where that quote is at most `PARITY_MAX_TICKS` ticks wide and in
    no arbitrage with its neighbours (`usable`: else it may be the mispriced one); its
    error is the counterpart's (its mid is uniform within the quote). NaN elsewhere. The
    forward's own error is added where findings are scored (`detector.fair_value_error`).
    Computed by `_native.parity_values` (one pass over the strikes' call-put pairs)."""
    fair, error = np.empty(chain.strike.size), np.empty(chain.strike.size)
    _native.parity_values(
        *(
            np.ascontiguousarray(a, dtype=np.float64)
            for a in (chain.strike, chain.bid, chain.ask, chain.tick)
        ),
        np.ascontiguousarray(usable, dtype=np.bool_),
        chain.forward.forward,
        chain.discount,
        float(PARITY_MAX_TICKS),
        fair,
        error,
    )
    return fair, error


def _above_convexity(chain: ExpirySlice) -> np.ndarray:
    """Quotes bid above the interpolation of their neighbours' asks (the middle of a broken
    butterfly): such a quote may be the mispriced one, so it prices nothing by parity."""
    above = np.zeros(chain.strike.size, dtype=bool)
    for is_call in (True, False):
        offered = np.flatnonzero((chain.is_call == is_call) & (chain.ask > 0))
        if offered.size >= 3:
            _, mid, _, cap = convexity_caps(chain, offered)
            above[mid] = chain.bid[mid] > cap + 1e-9
    return above


def _informative_itm(
    chain: ExpirySlice, itm: np.ndarray, half_width: np.ndarray, two_sided: np.ndarray
) -> np.ndarray:
    """In-the-money quotes that inform the smile: by parity an in-the-money quote is its
    counterpart plus the forward, so its implied vol is the counterpart's. Near the money both
    are quoted tightly, and two quotes of one strike pin its vol far better than a spline
    through its neighbours can (a short expiry's sharp curvature; a strike whose other quote is
    itself mispriced; a stretch with few quotes). Deep in the money the vol band is wide
    (little time value) and the quote adds noise, not information: kept only where its band
    is at most `ITM_WIDTH_RATIO` times the median band of the two-sided out-of-the-money
    quotes (`two_sided`, their positions). An
    American quote whose early-exercise premium could exceed a quarter of its spread is left
    out: its Black-76 vol is biased up."""
    keep = itm.copy()
    if chain.style is ExerciseStyle.AMERICAN:
        dividends = max(chain.spot - chain.forward.forward * chain.discount, 0.0)
        premium = np.where(chain.is_call, dividends, chain.strike * (1.0 - chain.discount))
        keep &= premium <= 0.25 * (chain.ask - chain.bid)
    band = median(half_width[two_sided]) if two_sided.size else np.inf
    return keep & (half_width <= ITM_WIDTH_RATIO * band)


def _neighbour_bounds(chain: ExpirySlice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model-free bounds on each quote's value from its neighbours' executable prices: a
    call is worth at most the lowest ask of the calls below its strike and at least the
    highest bid above it (puts mirrored). A smile that overshoots them (a sparse wing) has
    its edge measured against the bound instead, so it can only lose findings, never make
    one. A neighbour in arbitrage with the quote itself (its bid above this ask, its ask
    below this bid) bounds nothing: one of the two is mispriced, which the model-free checks
    report; letting it bound would hide the quote's own finding behind its neighbour's.
    Returns (cap, floor, crossed): crossed marks the quotes likely mispriced among those in
    arbitrage with a neighbour: one crossing at least as many neighbours as any it crosses
    (both of a lone pair), not each neighbour it crosses once (one bid-up wing put crosses
    every richer put's offer; two such puts make each of those offers cross two, still fewer
    than either of them). Computed by `_native.neighbour_bounds` (running extremes along each
    right, pairwise only for the rare quotes a neighbour crosses)."""
    n = chain.strike.size
    cap, floor, crossed = np.empty(n), np.empty(n), np.empty(n, dtype=np.bool_)
    _native.neighbour_bounds(
        np.ascontiguousarray(chain.bid, dtype=np.float64),
        np.ascontiguousarray(chain.ask, dtype=np.float64),
        np.ascontiguousarray(chain.is_call, dtype=np.bool_),
        cap,
        floor,
        crossed,
    )
    return cap, floor, crossed


def _stretched_moneyness(
    k: np.ndarray, fitted: np.ndarray, fitted_vol: np.ndarray, t: float, config: DetectorConfig
) -> np.ndarray:
    """asinh(k / (c·σ_atm·√t)): log-moneyness in at-the-money standard deviations near the
    money, compressed logarithmically in the wings. Uniform knots in k cannot follow a short
    expiry's sharp at-the-money curvature when the quoted strikes span a wide range (an index
    chain out to strike 200); uniform knots here can, but bend too little in sparse wings."""
    if fitted.size == 0:
        return k
    nearest = np.argsort(np.abs(k[fitted]))[:3]
    atm_sd = median(fitted_vol[nearest]) * np.sqrt(t)
    return np.arcsinh(k / (config.smile.atm_stretch * atm_sd))


def _vol_of_half_tick(chain: ExpirySlice, iv_mid: np.ndarray) -> np.ndarray:
    """The vol move worth half a tick: the floor of a quote's vol band (locked markets)."""
    vega = black76_vega(chain.forward.forward, chain.strike, chain.t, iv_mid, chain.discount)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * chain.tick / vega


def _american_adjustment(
    chain: ExpirySlice, fair: np.ndarray, vol: np.ndarray, in_the_money: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(fair, most): an American option is worth at least its exercise value and at most
    the European value plus a bound on the early-exercise premium: for a put, what a
    European put struck at K/DF adds (`_put_premium_bound`), for a call the present value
    of dividends (S − F·DF); and at most its exercise value where
    that is more (deep in the money, exercised now). A sell flag must clear the most; the
    same premium also biases the parity forward, which is why it applies on the forward's
    side too. The bound is not added to the exercise value: a deep in-the-money put worth
    exercising is worth just that (six days out at 5%, the bound is $0.40 a share and hid
    every sale of such a put up to it).

    The exercise value floors fair only as far as the spot is known: a last trade a few cents
    off the options' own forward would otherwise put every deep in-the-money quote a few
    cents under "fair" (`spot_error`, the disagreement the underlying check allows)."""
    exercise = exercise_value(chain)
    floor = np.maximum(exercise - chain.spot_error, 0.0)
    dividends = max(chain.spot - chain.forward.forward * chain.discount, 0.0)
    bound = np.where(chain.is_call, dividends, _put_premium_bound(chain, vol))
    premium = np.where(in_the_money | (exercise > 0), bound, 0.0)
    return np.maximum(fair, floor), np.maximum(fair + premium, floor)


def _put_premium_bound(chain: ExpirySlice, vol: np.ndarray) -> np.ndarray:
    """The early-exercise premium of an American put is at most P(K/DF) − P(K), European
    puts at its vol: exercising at τ is worth K·e^{r(T−τ)} − S_T at expiry, which a European
    put struck at K·e^{rT} pays at least. At most K·(1−DF) (the put's slope in strike is at
    most DF), which it is where the vol is unknown; about half that at the money."""
    loose = chain.strike * (1.0 - chain.discount)
    known = np.isfinite(vol)
    if not known.any():
        return loose
    forward = chain.forward.forward
    shifted, at_strike = black76_price(
        forward,
        np.array([chain.strike / chain.discount, chain.strike]),
        chain.t,
        np.where(known, vol, 0.0),
        chain.discount,
        False,
    )
    return np.where(known, np.minimum(shifted - at_strike, loose), loose)


def exercise_value(chain: ExpirySlice) -> np.ndarray:
    """What exercising now pays (negative out of the money), at the spot the slice uses."""
    return np.where(chain.is_call, chain.spot - chain.strike, chain.strike - chain.spot)
