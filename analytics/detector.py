"""The online anomaly detector: state that scores one point at a time from
the points it has already seen. :func:`analytics.anomalies.detect_anomalies`
runs it over a series; a live feed can keep one and call :meth:`update`.

Prediction. Three predictors run side by side, each giving an expected value
and a robust SD (1.4826 x MAD, with the fallbacks of
:func:`analytics.baselines.robust_sigma`):

* plain: median and robust SD of the previous ``window`` points;
* day / week: median of the previous values at the same local hour of the day
  (hour of the week) over the last ``seasons`` periods (7 days, 4 weeks), with
  the robust SD of that predictor's recent errors. ``season="auto"`` scores
  with the season whose mean absolute error over the last 500 points is at
  least 20 % below the plain predictor's (the lowest wins); ``"day"``/``"week"``
  use that season as soon as it has history; None uses plain only.

Noise floor. The SD never falls below what the data can resolve: the value
resolution (smallest nonzero difference between distinct recent values),
1 % of the range of the last :data:`TAIL_WINDOW` values and a millionth of
the level. A flat stretch or an integer count therefore gives a finite,
meaningful ``x = |value - expected| / SD``. Event counts (non-negative
integers at least as noisy as Poisson counts) also get the counting noise
``sqrt(expected)``: a busy hour's count varies more than a quiet one's, and
one SD measured over the whole day would flag every busy hour.

Calibration. ``x`` is turned into a tail probability ``p`` (the chance, under
the series' recent behaviour, of a deviation at least this large) by a model
fitted to the detector's own recent ``x`` (the last :data:`TAIL_WINDOW`
scored points, flagged excursions left out): below the 90th percentile ``u``
a Gaussian shape through that quantile; above it a tail fitted to the
excesses ``y = x - u``, ``log p = log p(u) - a y - g y^2`` for light tails
(Gaussian noise gives g near 1/2) or a generalised Pareto tail
``log p = log p(u) - log1p(xi a y) / xi`` for heavy ones (``xi > 0``, e.g. 1/3
for Student-t with 3 degrees of freedom). The fit uses the median and the 90th
percentile of the excesses and is shrunk toward an exponential tail while
there are few of them. All of it is computed in log space, so ``p`` never
underflows to 0 and severities stay distinct.

Score. The surprise ``S = -log10 p`` maps to ``score = S / (S + S_half)``,
where ``S_half`` is the surprise of a Gaussian point ``k`` SDs out
(``k = 4``: ``p = 6.3e-5``, ``S_half = 4.2``). So score 0.5 means "a deviation
this large happens once in ~16,000 normal points", 0.6 once in ~2e6, 0.75 in
~4e12, 0.9 in ~1e38; the score is strictly increasing in ``x`` and below 1
for every finite value. A point is an anomaly when its score exceeds
``threshold``; ``lower``/``upper`` are where an undamped point's score
crosses it.

Episodes. After a flag, later points on the same side are damped (their
surprise scaled so they stay under the threshold) unless they are clearly
worse (a deviation more than :data:`WORSE` times the flagged one); the episode
ends after ``shift_after`` calm points (``p > 0.01``). Level shifts: when
``shift_after`` consecutive points sit on the same side of a predictor's
expectation at ``p < 0.01``, that predictor moves its history to the new level
(their median offset), so a sustained shift is flagged once, damped while it
is confirmed, then learned. For ``window`` points after a shift a point is
judged from the nearer of the new level and the one before it, so the end of
a short dip or burst (the return) is not a new alarm; the tails still learn
from the deviations from the expected value. Each predictor keeps its own
level, so a weekend that looks like a shift to the daily one leaves the
weekly one intact.

Cold start. Nothing is flagged while learning: the first ``min_history``
points, or more at high data rates (the points in ``learn_span`` seconds at
the rate of the first ``min_history`` points, at most ``max_learn``); those
points say ``status="learning"`` and get score 0.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from analytics._frames import TimeLike, utc_timestamp
from analytics.baselines import fast_median, robust_sigma

SEASON_PERIODS: dict[str, tuple[float, int]] = {"day": (86400.0, 7), "week": (604800.0, 4)}
SEASON_GAIN = 0.8
SEASON_COMPARE = 500
TAIL_WINDOW = 1000  # recent |z| the tail model is fitted to (and the range floor is taken over)
TAIL_MIN_POINTS = 30
TAIL_QUANTILE = 0.8
TAIL_PRIOR_WEIGHT = 40.0  # pseudo-excesses of the exponential prior tail
U_MIN = 0.5
XI_MAX = 0.5
TRIM = 0.1  # top fraction of the excesses left out of the tail fit
PRIOR_RATE = 1.5  # excess decay rate of the prior (exponential) tail, near the Gaussian one at u
COUNT_DISPERSION = 0.5  # counts: noise variance at least this share of the mean (Poisson: 1)
RANGE_FLOOR = 0.01  # SD >= this fraction of the recent range
LEVEL_FLOOR = 1e-6  # SD >= this fraction of |level|
ABS_FLOOR = 1e-12
STRONG_LOG10_P = -2.0  # p < 0.01: a point that counts toward a level shift / keeps an episode open
KEEP_BELOW = 3.0  # points with a surprise above this (p < 1e-3) teach the tail only when they are common
HELD_SHARE = 0.05  # ... more than this share of the last TAIL_WINDOW points
PERSIST = 1e-3
WORSE = 2.0  # inside an episode, a point is flagged again when its deviation is WORSE x the flagged one
RECHECK = 8
_LN10 = math.log(10.0)
_LN2 = math.log(2.0)
_SQRT2 = math.sqrt(2.0)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def gaussian_log10_sf(x: float) -> float:
    """log10 of the two-sided Gaussian tail ``P(|Z| >= x)``, accurate far out.

    >>> round(gaussian_log10_sf(0.0), 6), round(gaussian_log10_sf(4.0), 3), round(gaussian_log10_sf(40.0))
    (0.0, -4.198, -349)
    """
    x = abs(x)
    if x < 30.0:
        return math.log10(math.erfc(x / _SQRT2))
    # Asymptotic expansion of erfc: 2 phi(x) / x * (1 - 1/x^2 + 3/x^4).
    ln = -0.5 * x * x - math.log(x) + 0.5 * math.log(2.0 / math.pi) + math.log1p(-1.0 / x**2 + 3.0 / x**4)
    return ln / _LN10


def score_from_surprise(surprise: float, half: float) -> float:
    """Score in [0, 1) of a surprise ``S = -log10 p``: ``S / (S + half)``.

    >>> score_from_surprise(0.0, 4.0), score_from_surprise(4.0, 4.0), score_from_surprise(36.0, 4.0)
    (0.0, 0.5, 0.9)
    """
    if surprise <= 0.0:
        return 0.0
    if math.isinf(surprise):
        return 1.0
    return surprise / (surprise + half)


def score_from_z(z: float, k: float) -> float:
    """Score of a Gaussian z (no calibration): the surprise of ``P(|Z| >= |z|)``
    mapped as in :func:`score_from_surprise`, 0.5 at ``k`` SDs.

    >>> score_from_z(0.0, 4.0), score_from_z(4.0, 4.0), score_from_z(-4.0, 4.0)
    (0.0, 0.5, 0.5)
    >>> score_from_z(60.0, 4.0) < score_from_z(61.0, 4.0) < 1.0
    True
    """
    if math.isinf(z):
        return 1.0
    return score_from_surprise(-gaussian_log10_sf(z), -gaussian_log10_sf(k))


@dataclass(frozen=True)
class DetectorConfig:
    """Detector settings (see the module docstring)."""

    window: int = 60
    min_history: int = 30
    k: float = 4.0
    threshold: float = 0.5
    season: str | None = "auto"
    seasons: int | None = None
    min_season_points: int = 3
    shift_after: int = 4
    tz: str = "UTC"
    learn_span: float = 300.0
    max_learn: int = 1000

    def __post_init__(self) -> None:
        if self.season not in (None, "auto", "day", "week"):
            raise ValueError("season must be 'auto', 'day', 'week' or None")
        if self.window < 3 or self.min_history < 3:
            raise ValueError("window and min_history must be >= 3")
        if self.shift_after < 2 or self.min_season_points < 1:
            raise ValueError("shift_after must be >= 2 and min_season_points >= 1")
        if not (self.k > 0 and 0 < self.threshold < 1):
            raise ValueError("k must be > 0 and threshold in (0, 1)")
        if self.learn_span < 0 or self.max_learn < self.min_history:
            raise ValueError("learn_span must be >= 0 and max_learn >= min_history")


@dataclass(frozen=True)
class Scored:
    """The detector's verdict on one point (NaN figures when not scored).

    ``status`` is ``"scored"``, ``"learning"`` (cold start: never flagged) or
    ``"missing"``; ``predictor`` is ``"plain"``, ``"day"`` or ``"week"`` (empty
    when not scored); ``surprise`` is ``-log10`` of the point's tail
    probability before damping."""

    score: float
    is_anomaly: bool
    baseline: float
    lower: float
    upper: float
    reason: str
    status: str = "scored"
    predictor: str = ""
    surprise: float = 0.0


class _Buffer:
    """Append-only float array (amortised growth) with in-place updates."""

    def __init__(self) -> None:
        self.data: npt.NDArray[np.float64] = np.empty(256)
        self.size = 0

    def append(self, value: float) -> int:
        if self.size == self.data.size:
            self.data = np.concatenate([self.data, np.empty(self.data.size)])
        self.data[self.size] = value
        self.size += 1
        return self.size - 1

    def tail(self, count: int) -> npt.NDArray[np.float64]:
        return self.data[max(0, self.size - count) : self.size]


def _shape_table() -> tuple[npt.NDArray[np.float64], ...]:
    """Trimmed moments of the standard tail shapes (excess decay rate 1 at 0).

    Shapes run from the heaviest Pareto (``xi = XI_MAX``) through the
    exponential to the lightest quadratic (``log S = -t - r t^2``, ``r`` up to
    1e4). For each: ``xi``, ``r``, the mean of the lowest ``1 - TRIM`` of the
    excesses and the ratio mean^2 / variance of that same part."""
    p = (np.arange(20000) + 0.5) / 20000 * (1.0 - TRIM)
    lnp = -np.log1p(-p)
    xis = np.linspace(XI_MAX, 0.0, 60)[:-1]
    rs = np.concatenate([[0.0], np.logspace(-4.0, 4.0, 200)])
    rows = []
    for xi in xis:
        rows.append((xi, 0.0, np.expm1(xi * lnp) / xi))
    for r in rs:
        rows.append((0.0, r, lnp if r == 0 else (np.sqrt(1.0 + 4.0 * r * lnp) - 1.0) / (2.0 * r)))
    xi_col = np.array([row[0] for row in rows])
    r_col = np.array([row[1] for row in rows])
    m1 = np.array([row[2].mean() for row in rows])
    ratio = np.array([row[2].mean() ** 2 / row[2].var() for row in rows])
    return xi_col, r_col, m1, ratio


_SHAPE_XI, _SHAPE_R, _SHAPE_M1, _SHAPE_RATIO = _shape_table()


@dataclass(frozen=True)
class TailModel:
    """``log10 P(X >= x)`` of the deviations ``x = |z|`` (see the module docstring).

    >>> t = TailModel.prior()
    >>> t.log10_sf(0.0), t.log10_sf(1.0) > t.log10_sf(5.0) > t.log10_sf(50.0)
    (0.0, True)
    >>> round(t.isf(t.log10_sf(7.5)), 9)
    7.5
    """

    u: float
    log_zeta: float  # natural log of P(X >= u)
    s: float  # Gaussian body scale
    a: float  # 1 / beta: excess decay rate
    g: float  # quadratic (light tail) coefficient, >= 0
    xi: float  # generalised Pareto shape, >= 0 (0 with g > 0)

    @staticmethod
    def prior(u: float = 2.0) -> TailModel:
        # A Gaussian through u: its body scale is 1 (log space: u may be far out).
        return TailModel(u, gaussian_log10_sf(u) * _LN10, 1.0, PRIOR_RATE, 0.0, 0.0)

    @staticmethod
    def fit(x: npt.NDArray[np.float64]) -> TailModel:
        """Fit to observed deviations (prior while there are fewer than
        :data:`TAIL_MIN_POINTS`)."""
        n = x.size
        if n < TAIL_MIN_POINTS:
            return TailModel.prior()
        u = max(float(np.quantile(x, TAIL_QUANTILE)), U_MIN)
        y = x[x > u] - u
        m = TAIL_PRIOR_WEIGHT
        prior = TailModel.prior(u)
        zeta = (y.size + m * math.exp(prior.log_zeta)) / (n + m)
        zeta = min(max(zeta, 0.5 / (n + m)), 0.5)
        a, g, xi = prior.a, 0.0, 0.0
        if y.size >= 5:
            # Trimmed method of moments: the lowest 1 - TRIM of the excesses
            # (the top ones may be anomalies that slipped in unflagged); their
            # mean^2 / variance picks the shape, their mean the scale.
            kept = np.sort(y)[: max(5, int(math.ceil(y.size * (1.0 - TRIM))))]
            mean, var = float(kept.mean()), float(kept.var())
            if var > 0 and mean > 0:
                ratio = min(max(mean * mean / var, _SHAPE_RATIO[0]), _SHAPE_RATIO[-1])
                j = int(np.searchsorted(_SHAPE_RATIO, ratio))
                j = min(max(j, 1), _SHAPE_RATIO.size - 1)
                f = (ratio - _SHAPE_RATIO[j - 1]) / (_SHAPE_RATIO[j] - _SHAPE_RATIO[j - 1])
                xi_hat = float(_SHAPE_XI[j - 1] + f * (_SHAPE_XI[j] - _SHAPE_XI[j - 1]))
                r = float(_SHAPE_R[j - 1] + f * (_SHAPE_R[j] - _SHAPE_R[j - 1]))
                a_hat = float(_SHAPE_M1[j - 1] + f * (_SHAPE_M1[j] - _SHAPE_M1[j - 1])) / mean
                g_hat = r * a_hat * a_hat
            else:
                xi_hat, g_hat, a_hat = 0.0, 0.0, prior.a
            w = y.size / (y.size + m)
            a = w * a_hat + (1.0 - w) * prior.a
            g = w * g_hat
            xi = w * xi_hat
        return TailModel(u, math.log(zeta), u / -float(ndtri(zeta / 2.0)), a, g, xi)

    def log10_sf(self, x: float) -> float:
        """``log10 P(X >= x)``: 0 at 0, strictly decreasing, finite for finite x."""
        if x <= self.u:
            return gaussian_log10_sf(x / self.s) if self.s > 0 else 0.0
        y = x - self.u
        drop = math.log1p(self.xi * self.a * y) / self.xi if self.xi > 1e-9 else self.a * y
        return (self.log_zeta - drop - self.g * y * y) / _LN10

    def isf(self, log10_p: float) -> float:
        """The deviation ``x`` with ``log10_sf(x) == log10_p`` (inverse of :meth:`log10_sf`)."""
        lnp = log10_p * _LN10
        if lnp >= self.log_zeta:
            q = math.exp(lnp) / 2.0
            return self.s * -float(ndtri(q)) if q < 0.5 else 0.0
        drop = self.log_zeta - lnp
        if self.g > 0:
            y = (-self.a + math.sqrt(self.a * self.a + 4.0 * self.g * drop)) / (2.0 * self.g)
        elif self.xi > 1e-9:
            y = math.expm1(min(self.xi * drop, 700.0)) / (self.xi * self.a)
        else:
            y = drop / self.a
        return self.u + y


@dataclass(frozen=True)
class _Prediction:
    expected: float
    sigma: float | None  # None while the model cannot yet judge spread
    basis: str
    before: float | None = None  # the level before a shift re-learned within the last window points

    def deviation(self, value: float) -> tuple[float, bool]:
        """``value`` minus the nearer of the expected value and the level
        before a recent shift (a return to it ends a short excursion, it is
        not a new one), and whether that level was the nearer."""
        diff = value - self.expected
        if self.before is not None and abs(value - self.before) < abs(diff):
            return value - self.before, True
        return diff, False


class _Model:
    """One predictor: the plain window median, or the same-phase median of a
    season. Each keeps its own level offset, so a "shift" that only one model
    sees (a weekend, to a daily model) never rewrites the others' memory."""

    def __init__(self, kind: str, config: DetectorConfig) -> None:
        self.kind, self.config = kind, config
        self.hist = _Buffer()  # values minus this model's level offset when stored
        self.offset = 0.0
        self.errs = _Buffer()  # prediction errors, as measured
        self.members: dict[int, tuple[list[int], list[float]]] = {}
        self.run: list[tuple[int, float]] = []
        self.run_sign = 0.0
        self.shift_delta = 0.0  # the last level change adopted, and where
        self.shift_at = -1
        self.xs = _Buffer()  # this model's recent deviations (floored SDs), excursions left out
        self.tail = TailModel.prior()
        self.x_strong = self.tail.isf(STRONG_LOG10_P)
        self.held: deque[bool] = deque(maxlen=TAIL_WINDOW)  # which recent points were held out of the tail
        self.held_count = 0

    def hold(self, held: bool) -> None:
        if len(self.held) == TAIL_WINDOW:
            self.held_count -= self.held[0]
        self.held.append(held)
        self.held_count += held

    def refit(self) -> None:
        self.tail = TailModel.fit(self.xs.tail(TAIL_WINDOW))
        self.x_strong = self.tail.isf(STRONG_LOG10_P)

    def predict(self, secs: float, phases: dict[str, int]) -> _Prediction | None:
        c = self.config
        if self.kind == "plain":
            if self.hist.size < c.min_history:
                return None
            ref = self.hist.tail(c.window) + self.offset
            centre = fast_median(ref)
            return _Prediction(
                centre, robust_sigma(ref, centre), f"median of previous {ref.size} points", self.before_shift(centre)
            )
        period, default_seasons = SEASON_PERIODS[self.kind]
        horizon = secs - (c.seasons or default_seasons) * period - 3600.0
        positions, times = self.members.get(phases[self.kind], ([], []))
        sel = positions[bisect.bisect_left(times, horizon) :]
        if len(sel) < c.min_season_points:
            return None
        p = phases[self.kind]
        at = f"{p:02d}:00" if self.kind == "day" else f"{_DAYS[p // 24]} {p % 24:02d}:00"
        sigma = robust_sigma(self.errs.tail(4 * c.window)) if self.errs.size >= c.min_history else None
        expected = fast_median(self.hist.data[sel]) + self.offset
        return _Prediction(
            expected, sigma, f"median of {len(sel)} previous values at {at} {c.tz}", self.before_shift(expected)
        )

    def observe(
        self, secs: float, phases: dict[str, int], value: float, pred: _Prediction | None, strong: float | None
    ) -> float | None:
        """Store ``value``; return the level change when a shift is adopted.
        ``strong`` is the deviation (in this model's floored SDs) from which a
        point counts toward a shift; None while the model cannot judge."""
        pos = self.hist.append(value - self.offset)
        if self.kind != "plain":
            positions, times = self.members.setdefault(phases[self.kind], ([], []))
            positions.append(pos)
            times.append(secs)
        if pred is None:
            return None
        diff = value - pred.expected
        if self.kind != "plain":
            self.errs.append(diff)
        if pred.sigma is None or strong is None:
            return None
        is_strong = abs(diff) >= strong
        sign = math.copysign(1.0, diff)
        if is_strong and self.run and sign == self.run_sign:
            self.run.append((pos, diff))
        elif is_strong:
            self.run, self.run_sign = [(pos, diff)], sign
        else:
            self.run = []
        if len(self.run) < self.config.shift_after:
            return None
        # Sustained departure: adopt the new level for all of this model's history.
        delta = float(np.median([d for _, d in self.run]))
        self.offset += delta
        for p, _ in self.run:
            self.hist.data[p] -= delta
        self.run = []
        self.shift_delta, self.shift_at = delta, pos
        return delta

    def before_shift(self, expected: float) -> float | None:
        """The level this model predicted before a shift adopted within the
        last ``window`` points (its history still remembers it), else None."""
        if self.shift_at < 0 or self.hist.size - self.shift_at > self.config.window:
            return None
        return expected - self.shift_delta


@dataclass
class _Episode:
    sign: float
    peak: float  # deviation (floored SDs) of the last flagged point
    calm: int = 0
    length: int = 1  # strong points so far


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _odds(log10_p: float) -> str:
    """``1 in N`` for a tail probability given as log10.

    >>> _odds(-4.2), _odds(-40.0), _odds(-0.1)
    ('1 in 16,000', '1 in 1e+40', '1 in 1.3')
    """
    if log10_p > -1:
        return f"1 in {10**-log10_p:.2g}"
    if log10_p > -9:
        n = 10**-log10_p
        digits = int(math.floor(math.log10(n))) - 1
        return f"1 in {round(n, -digits):,.0f}"
    return f"1 in {10**-log10_p:.2g}" if log10_p > -300 else f"1 in 1e+{-log10_p:.0f}"


def _count_like(values: npt.NDArray[np.float64]) -> bool:
    """Whether recent values look like event counts: non-negative integers
    whose point-to-point noise is at least about Poisson (half the variance
    of successive differences at least :data:`COUNT_DISPERSION` x the mean).
    A gauge that holds integer levels for long stretches is not.

    >>> rng = np.random.default_rng(1)
    >>> _count_like(rng.poisson(12.0, 500).astype(float)), _count_like(np.full(500, 12.0))
    (True, False)
    >>> _count_like(np.round(rng.normal(50.0, 1.0, 500), 1))
    False
    """
    if values.size < 30 or values.min() < 0 or not np.all(values == np.round(values)):
        return False
    mean = float(values.mean())
    return mean > 0 and float(np.var(np.diff(values))) / 2.0 >= COUNT_DISPERSION * mean


class OnlineDetector:
    """Scores points in time order; each verdict depends only on earlier points.

    >>> import pandas as pd
    >>> d = OnlineDetector(DetectorConfig(min_history=5, season=None))
    >>> t0 = pd.Timestamp("2024-05-01", tz="UTC")
    >>> for i, v in enumerate([10.0, 11.0, 9.0, 10.0, 11.0, 9.0]):
    ...     _ = d.update(t0 + pd.Timedelta(minutes=i), v)
    >>> r = d.update(t0 + pd.Timedelta(minutes=6), 30.0)
    >>> r.is_anomaly, r.baseline, r.status, r.predictor
    (True, 10.0, 'scored', 'plain')
    >>> r.reason.split(";")[0]
    'value 30 is 13.5 SDs above the expected 10 (median of previous 6 points)'
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = c = config or DetectorConfig()
        seasons = [] if c.season is None else (["day", "week"] if c.season == "auto" else [c.season])
        self._plain = _Model("plain", c)
        self._seasons = {s: _Model(s, c) for s in seasons}
        # Plain-model errors at the points each season predicted, for a fair comparison.
        self._plain_at = {s: _Buffer() for s in seasons}
        self._half = -gaussian_log10_sf(c.k)
        self._s_thr = self._half * c.threshold / (1.0 - c.threshold)
        self._values = _Buffer()
        self._ticks = 0
        self._ranked: list[str] = []
        self._floor_res = math.inf
        self._floor_range = 0.0
        self._counts = False
        self._first_secs: list[float] = []
        self._learn: int | None = None
        self._episode: _Episode | None = None
        self._last_surprise = 0.0
        self._last_secs = -math.inf

    @property
    def learning_points(self) -> int | None:
        """Points of the cold start (known once ``min_history`` points are seen)."""
        return self._learn

    def update(self, ts: TimeLike, value: float) -> Scored:
        """Score ``value`` at ``ts`` (tz-aware, not earlier than the last point)."""
        utc = utc_timestamp(ts, "ts")
        local = utc.tz_convert(self.config.tz)
        secs = utc.timestamp()
        phases = {"day": local.hour, "week": local.day_of_week * 24 + local.hour}
        return self.update_at(secs, phases, value)

    def _refresh(self) -> None:
        """Re-rank the seasons, refit the tail and re-measure the floor. Done
        every :data:`RECHECK` points: all drift slowly, and a fixed schedule
        keeps every verdict a function of earlier points only."""
        ranked = []
        for s, model in self._seasons.items():
            if model.errs.size < self.config.min_history:
                continue
            # Mean, not robust, error: a daily model of a weekly series is right
            # on weekdays and badly wrong on 2 days in 7, and that must count.
            err = float(np.mean(np.abs(model.errs.tail(SEASON_COMPARE))))
            plain = float(np.mean(np.abs(self._plain_at[s].tail(SEASON_COMPARE))))
            ratio = err / plain if plain > 0 else (0.0 if err == 0 else math.inf)
            if self.config.season != "auto" or ratio < SEASON_GAIN:
                ranked.append((ratio, s))
        self._ranked = [s for _, s in sorted(ranked)]
        self._plain.refit()
        for model in self._seasons.values():
            model.refit()
        recent = self._values.tail(TAIL_WINDOW)
        if recent.size > 1:
            self._floor_range = RANGE_FLOOR * float(recent.max() - recent.min())
            steps = np.diff(np.unique(self._values.tail(self.config.window * 2)))
            if steps.size:
                self._floor_res = min(self._floor_res, float(steps.min()))
            self._counts = _count_like(recent)

    def _floor(self, level: float) -> float:
        res = self._floor_res if math.isfinite(self._floor_res) else 0.0
        counting = math.sqrt(max(level, 1.0)) if self._counts else 0.0
        return max(res, self._floor_range, LEVEL_FLOOR * abs(level), ABS_FLOOR, counting)

    def update_at(self, secs: float, phases: dict[str, int], value: float) -> Scored:
        """:meth:`update` with the time as epoch seconds and the local phases
        (``{"day": hour, "week": weekday * 24 + hour}``) already computed."""
        c = self.config
        if secs < self._last_secs:
            raise ValueError("points must be given in time order")
        self._last_secs = secs
        if not math.isfinite(value):
            return Scored(0.0, False, math.nan, math.nan, math.nan, "missing value", "missing")
        seen = self._plain.hist.size
        if self._learn is None:
            self._first_secs.append(secs)
            if len(self._first_secs) > c.min_history:
                gap = float(np.median(np.diff(self._first_secs)))
                rate_points = math.ceil(c.learn_span / gap) if gap > 0 else c.max_learn
                self._learn = min(c.max_learn, max(c.min_history, rate_points))
                self._first_secs = []
        plain = self._plain.predict(secs, phases)
        preds = {s: m.predict(secs, phases) for s, m in self._seasons.items()}
        if plain is not None:
            if self._ticks % RECHECK == 0:
                self._refresh()
            self._ticks += 1
        chosen, pred = "plain", plain
        for s in self._ranked:
            candidate = preds[s]
            if candidate is not None and candidate.sigma is not None:
                chosen, pred = s, candidate
                break
        learning = pred is None or self._learn is None or seen < self._learn
        floor = self._floor(pred.expected if pred is not None else value)
        model = self._seasons[chosen] if chosen != "plain" else self._plain
        verdict, keep = self._judge(value, pred, chosen, model.tail, floor, learning)
        shifts: dict[str, float | None] = {}
        for name, m in (("plain", self._plain), *self._seasons.items()):
            # Seasons are judged only where the plain predictor is too, so that
            # their errors and the plain errors cover the same points.
            p = plain if name == "plain" else (preds[name] if plain is not None else None)
            if name != "plain" and p is not None and plain is not None:
                self._plain_at[name].append(value - plain.expected)
            strong = None
            if p is not None and p.sigma is not None:
                sig = max(p.sigma, floor)
                # Measured from the expected value, not from the level before a
                # recent shift: the tail describes the predictor's own errors.
                x_m = abs(value - p.expected) / sig
                # Surprising points (flagged, in an excursion, p < 1e-3) do not
                # teach the tail, so that anomalies do not fatten it, unless
                # they are common: a deviation that keeps coming back is this
                # series' normal (else a recurring wiggle stays surprising for ever).
                held = not keep or -m.tail.log10_sf(x_m) > KEEP_BELOW
                if not held or m.held_count > HELD_SHARE * TAIL_WINDOW:
                    m.xs.append(x_m)
                m.hold(held)
                strong = m.x_strong * sig
            shifts[name] = m.observe(secs, phases, value, p, strong)
        self._values.append(value)
        delta = shifts[chosen]
        if delta is not None and verdict.status == "scored":
            verdict = Scored(
                verdict.score,
                verdict.is_anomaly,
                verdict.baseline,
                verdict.lower,
                verdict.upper,
                verdict.reason + f"; sustained shift over the last "
                f"{c.shift_after} points: level re-learned ({delta:+.4g})",
                verdict.status,
                verdict.predictor,
                verdict.surprise,
            )
        return verdict

    def _judge(
        self, value: float, pred: _Prediction | None, chosen: str, tail: TailModel, floor: float, learning: bool
    ) -> tuple[Scored, bool]:
        """The verdict, and whether the point may teach the tails (not when flagged or in an excursion)."""
        c = self.config
        if pred is None or learning:
            need = self._learn if self._learn is not None else c.min_history
            reason = f"learning: {self._plain.hist.size} of {need} points before scoring starts"
            return Scored(0.0, False, math.nan, math.nan, math.nan, reason, "learning"), True
        sigma = max(pred.sigma if pred.sigma is not None else 0.0, floor)
        diff, back = pred.deviation(value)
        x = abs(diff) / sigma
        log10_p = tail.log10_sf(x)
        # A sliver of the previous point's surprise breaks ties between equal
        # deviations (quantised data): a surprise that persists ranks higher.
        surprise = -log10_p + PERSIST * self._last_surprise
        # A decaying memory of earlier surprises (halved each point), not just
        # the last one: two equal deviations a few points apart still differ.
        self._last_surprise = 0.5 * self._last_surprise - log10_p
        sign = math.copysign(1.0, diff)
        ep = self._episode
        effective, note = surprise, ""
        if ep is not None:
            if surprise < -STRONG_LOG10_P:
                ep.calm += 1
                if ep.calm >= min(c.shift_after, ep.length):
                    self._episode = ep = None
            elif sign != ep.sign:
                self._episode = ep = None  # the excursion turned: a new one
            else:
                ep.calm = 0
                ep.length += 1
                bar = -tail.log10_sf(WORSE * ep.peak)
                if surprise <= bar:
                    effective = surprise * self._s_thr / bar
                    note = "; damped: same excursion as an earlier flag, not clearly worse"
        flagged = effective > self._s_thr
        if flagged:
            if ep is None:
                self._episode = _Episode(sign, x)
            else:
                ep.peak = x
                note = "; clearly worse than the earlier flag of this excursion"
        in_excursion = self._episode is not None and surprise >= -STRONG_LOG10_P
        basis = pred.basis
        ref = f"the expected {_fmt(pred.expected)}"
        if back:
            ref = f"{_fmt(value - diff)}, the level before a recent shift ({ref})"
        if x == 0:
            reason = f"value {_fmt(value)} equals {ref} ({basis})"
        else:
            side = "above" if diff > 0 else "below"
            reason = (
                f"value {_fmt(value)} is {x:.1f} SDs {side} {ref} ({basis}); as rare as {_odds(log10_p)} normal points"
            )
        band = tail.isf(-self._s_thr) * sigma
        scored = Scored(
            score_from_surprise(effective, self._half),
            flagged,
            pred.expected,
            pred.expected - band,
            pred.expected + band,
            reason + note,
            "scored",
            chosen,
            surprise,
        )
        # Flagged and damped points are held out so that an excursion does not widen the tail.
        return scored, not (flagged or in_excursion)
