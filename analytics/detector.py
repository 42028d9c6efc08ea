"""The online anomaly detector: state that scores one point at a time from
the points it has already seen. :func:`analytics.anomalies.detect_anomalies`
runs it over a series; a live feed can keep one and call :meth:`update`.

Three predictors run side by side, each giving an expected value and a robust
SD (1.4826 x MAD, with the fallbacks of :func:`analytics.baselines.robust_sigma`):

* plain: median and robust SD of the previous ``window`` points;
* day / week: median of the previous values at the same local hour of the day
  (hour of the week) over the last ``seasons`` periods (7 days, 4 weeks), with
  the robust SD of that predictor's recent errors. ``season="auto"`` scores
  with the season whose mean absolute error over the last 500 points is at
  least 20 % below the plain predictor's (the lowest wins); ``"day"``/``"week"``
  use that season as soon as it has history; None uses plain only.

Robust z is ``(value - expected) / SD``; the score is ``1 - 2 ** -((z/k)**2)``
(0 at the expected value, 0.5 at ``k`` SDs, 0.94 at ``2k``). A point is an
anomaly when its score exceeds ``threshold``; ``lower``/``upper`` are where
the score crosses it (``expected +- k SD`` for the default threshold 0.5).

Heavy tails: the SD is widened by ``q95(|z|) / 1.96`` (never narrowed), where
``q95`` is the 95th percentile of the recent unflagged |z|; for Gaussian noise
this stays near 1, for heavy-tailed noise it keeps the flag rate down.

Level shifts: when ``shift_after`` consecutive points sit on the same side of
a predictor's expectation at ``|z| >= k/2``, that predictor moves its history
to the new level (their median offset), so a sustained shift is flagged at
most ``shift_after`` times. Each predictor keeps its own level, so a weekend
that looks like a shift to the daily one leaves the weekly one intact.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analytics._frames import TimeLike, utc_timestamp
from analytics.baselines import fast_median, robust_sigma

SEASON_PERIODS: dict[str, tuple[float, int]] = {"day": (86400.0, 7), "week": (604800.0, 4)}
SEASON_GAIN = 0.8
SEASON_COMPARE = 500
TAIL_WINDOW = 600
TAIL_MIN_POINTS = 100
TAIL_QUANTILE = 0.95
GAUSS_Q95 = 1.959964
RECHECK = 8
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def score_from_z(z: float, k: float) -> float:
    """Score in [0, 1] of a robust z.

    >>> score_from_z(0.0, 4.0), score_from_z(4.0, 4.0), round(score_from_z(-8.0, 4.0), 4)
    (0.0, 0.5, 0.9375)
    """
    if math.isinf(z):
        return 1.0
    return 1.0 - float(2.0 ** (-((z / k) ** 2)))


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

    def __post_init__(self) -> None:
        if self.season not in (None, "auto", "day", "week"):
            raise ValueError("season must be 'auto', 'day', 'week' or None")
        if self.window < 3 or self.min_history < 3:
            raise ValueError("window and min_history must be >= 3")
        if self.shift_after < 2 or self.min_season_points < 1:
            raise ValueError("shift_after must be >= 2 and min_season_points >= 1")
        if not (self.k > 0 and 0 < self.threshold < 1):
            raise ValueError("k must be > 0 and threshold in (0, 1)")


@dataclass(frozen=True)
class Scored:
    """The detector's verdict on one point (NaN figures when not scored)."""

    score: float
    is_anomaly: bool
    baseline: float
    lower: float
    upper: float
    reason: str


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


@dataclass(frozen=True)
class _Prediction:
    expected: float
    sigma: float | None  # None while the model cannot yet judge spread
    basis: str


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

    def predict(self, secs: float, phases: dict[str, int]) -> _Prediction | None:
        c = self.config
        if self.kind == "plain":
            if self.hist.size < c.min_history:
                return None
            ref = self.hist.tail(c.window) + self.offset
            centre = fast_median(ref)
            return _Prediction(centre, robust_sigma(ref, centre), f"median of previous {ref.size} points")
        period, default_seasons = SEASON_PERIODS[self.kind]
        horizon = secs - (c.seasons or default_seasons) * period - 3600.0
        positions, times = self.members.get(phases[self.kind], ([], []))
        sel = positions[bisect.bisect_left(times, horizon) :]
        if len(sel) < c.min_season_points:
            return None
        p = phases[self.kind]
        at = f"{p:02d}:00" if self.kind == "day" else f"{_DAYS[p // 24]} {p % 24:02d}:00"
        sigma = robust_sigma(self.errs.tail(c.window)) if self.errs.size >= c.min_history else None
        return _Prediction(
            fast_median(self.hist.data[sel]) + self.offset,
            sigma,
            f"median of {len(sel)} previous values at {at} {c.tz}",
        )

    def observe(
        self, secs: float, phases: dict[str, int], value: float, pred: _Prediction | None, tail: float
    ) -> float | None:
        """Store ``value``; return the level change when a shift is adopted."""
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
        if pred.sigma is None:
            return None
        spread = pred.sigma * tail
        strong = abs(diff) >= self.config.k / 2 * spread if spread > 0 else diff != 0
        sign = math.copysign(1.0, diff)
        if strong and self.run and sign == self.run_sign:
            self.run.append((pos, diff))
        elif strong:
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
        return delta


def _fmt(v: float) -> str:
    return f"{v:.6g}"


class OnlineDetector:
    """Scores points in time order; each verdict depends only on earlier points.

    >>> d = OnlineDetector(DetectorConfig(min_history=5, season=None))
    >>> t0 = pd.Timestamp("2024-05-01", tz="UTC")
    >>> for i, v in enumerate([10.0, 11.0, 9.0, 10.0, 11.0, 9.0]):
    ...     _ = d.update(t0 + pd.Timedelta(minutes=i), v)
    >>> r = d.update(t0 + pd.Timedelta(minutes=6), 30.0)
    >>> r.is_anomaly, r.baseline, r.reason
    (True, 10.0, 'value 30 is 13.5 robust SDs above the expected 10 (median of previous 6 points)')
    """

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = c = config or DetectorConfig()
        seasons = [] if c.season is None else (["day", "week"] if c.season == "auto" else [c.season])
        self._plain = _Model("plain", c)
        self._seasons = {s: _Model(s, c) for s in seasons}
        # Plain-model errors at the points each season predicted, for a fair comparison.
        self._plain_at = {s: _Buffer() for s in seasons}
        self._z_band = c.k * math.sqrt(math.log2(1.0 / (1.0 - c.threshold)))
        self._raw_z = _Buffer()
        self._scored = 0
        self._ranked: list[str] = []
        self._tail = 1.0
        self._last_secs = -math.inf

    def update(self, ts: TimeLike, value: float) -> Scored:
        """Score ``value`` at ``ts`` (tz-aware, not earlier than the last point)."""
        utc = utc_timestamp(ts, "ts")
        local = utc.tz_convert(self.config.tz)
        secs = utc.timestamp()
        phases = {"day": local.hour, "week": local.day_of_week * 24 + local.hour}
        return self.update_at(secs, phases, value)

    def _refresh(self) -> None:
        """Re-rank the seasons and re-measure the tails. Done every
        :data:`RECHECK` scored points: both drift slowly, and a fixed schedule
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
        self._tail = 1.0
        if self._raw_z.size >= TAIL_MIN_POINTS:
            recent = self._raw_z.tail(TAIL_WINDOW)
            at = int(TAIL_QUANTILE * (recent.size - 1))
            self._tail = max(1.0, float(np.partition(recent, at)[at]) / GAUSS_Q95)

    def update_at(self, secs: float, phases: dict[str, int], value: float) -> Scored:
        """:meth:`update` with the time as epoch seconds and the local phases
        (``{"day": hour, "week": weekday * 24 + hour}``) already computed."""
        c = self.config
        if secs < self._last_secs:
            raise ValueError("points must be given in time order")
        self._last_secs = secs
        if not math.isfinite(value):
            return Scored(0.0, False, math.nan, math.nan, math.nan, "missing value")
        plain = self._plain.predict(secs, phases)
        preds = {s: m.predict(secs, phases) for s, m in self._seasons.items()}
        chosen = "plain"
        if plain is None:
            verdict = Scored(
                0.0,
                False,
                math.nan,
                math.nan,
                math.nan,
                f"warming up: {self._plain.hist.size} of {c.min_history} earlier points",
            )
        else:
            if self._scored % RECHECK == 0:
                self._refresh()
            self._scored += 1
            pred = plain
            for s in self._ranked:
                candidate = preds[s]
                if candidate is not None and candidate.sigma is not None:
                    chosen, pred = s, candidate
                    break
            verdict = self._judge(value, pred)
        shifts = {"plain": self._plain.observe(secs, phases, value, plain, self._tail)}
        for s, model in self._seasons.items():
            # Seasons are judged only where the plain predictor is too, so that
            # their errors and the plain errors cover the same points.
            pred_s = preds[s] if plain is not None else None
            if pred_s is not None and plain is not None:
                self._plain_at[s].append(value - plain.expected)
            shifts[s] = model.observe(secs, phases, value, pred_s, self._tail)
        delta = shifts[chosen]
        if delta is not None:
            verdict = Scored(
                verdict.score,
                verdict.is_anomaly,
                verdict.baseline,
                verdict.lower,
                verdict.upper,
                verdict.reason + f"; sustained shift over the last "
                f"{c.shift_after} points: level re-learned ({delta:+.4g})",
            )
        return verdict

    def _judge(self, value: float, pred: _Prediction) -> Scored:
        c = self.config
        sigma = pred.sigma if pred.sigma is not None else 0.0
        diff = value - pred.expected
        z_raw = diff / sigma if sigma > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
        basis = pred.basis
        if self._tail > 1.05:
            basis += f"; SD widened x{self._tail:.2f} for heavy-tailed noise"
        z, spread = z_raw / self._tail, sigma * self._tail
        score = score_from_z(z, c.k)
        flagged = score > c.threshold
        if not flagged:
            # Flagged points stay out so that spikes do not widen the SD.
            self._raw_z.append(min(abs(z_raw), 1e6))
        if z == 0:
            reason = f"value {_fmt(value)} equals the expected {_fmt(pred.expected)} ({basis})"
        else:
            side = "above" if z > 0 else "below"
            size = f"{abs(z):.1f} robust SDs" if math.isfinite(z) else "far (no spread)"
            reason = f"value {_fmt(value)} is {size} {side} the expected {_fmt(pred.expected)} ({basis})"
        return Scored(
            score,
            flagged,
            pred.expected,
            pred.expected - self._z_band * spread,
            pred.expected + self._z_band * spread,
            reason,
        )
