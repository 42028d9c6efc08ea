"""Trend of a series (``ts, value``): Theil-Sen slope, fitted % change,
and the Mann-Kendall test for a monotonic trend.

Both are rank-based, so a few outliers neither bend the slope nor flip the
direction. The direction is ``"increasing"``/``"decreasing"`` only when the
Mann-Kendall p-value is below ``alpha`` (and the fitted change is at least
``min_change_pct``); otherwise ``"stable"``. Fewer than :data:`MIN_POINTS`
values (or a single distinct timestamp) give ``"insufficient_data"``.

Mann-Kendall: ``S = sum_{i<j} sign(x_j - x_i)`` over values in time order,
``Var(S) = [n(n-1)(2n+5) - sum_t t(t-1)(2t+5)] / 18`` where ``t`` runs over
the sizes of groups of tied values, ``z = (S - sign(S)) / sqrt(Var(S))``
(continuity correction), two-sided ``p = 2 (1 - Phi(|z|))``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics._frames import series_arrays

MIN_POINTS = 4
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class MannKendall:
    """Mann-Kendall statistic ``s``, its normal score ``z`` and two-sided p."""

    s: int
    z: float
    p_value: float


@dataclass(frozen=True)
class Trend:
    """Trend figures; fitted values come from the Theil-Sen line. Slopes are
    in value units per day. ``None`` where the data cannot say."""

    n: int
    direction: str
    significant: bool
    slope_per_day: float | None = None
    slope_low_per_day: float | None = None
    slope_high_per_day: float | None = None
    start_ts: pd.Timestamp | None = None
    end_ts: pd.Timestamp | None = None
    start_value: float | None = None
    end_value: float | None = None
    pct_change: float | None = None
    mk_s: int = 0
    mk_z: float = 0.0
    p_value: float | None = None
    alpha: float = 0.05

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly dict (timestamps as ISO strings)."""
        out = asdict(self)
        for key in ("start_ts", "end_ts"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


def mann_kendall(values: npt.ArrayLike) -> MannKendall:
    """Mann-Kendall test with tie correction on values in time order (NaNs
    dropped). Fewer than 2 values: ``s=0, z=0, p=1``.

    >>> r = mann_kendall([1.0, 2.0, 2.0, 3.0, 5.0])
    >>> r.s, round(r.z, 3), round(r.p_value, 4)
    (9, 2.021, 0.0433)
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 2:
        return MannKendall(0, 0.0, 1.0)
    s = 0
    # Row by row keeps memory O(n) where the full sign matrix would be O(n^2).
    for i in range(n - 1):
        s += int(np.sign(x[i + 1 :] - x[i]).sum())
    _, ties = np.unique(x, return_counts=True)
    ties = ties[ties > 1].astype(np.float64)
    var = (n * (n - 1) * (2 * n + 5) - float(np.sum(ties * (ties - 1) * (2 * ties + 5)))) / 18.0
    if var <= 0 or s == 0:
        return MannKendall(s, 0.0, 1.0)
    z = (s - np.sign(s)) / np.sqrt(var)
    p = math.erfc(abs(z) / math.sqrt(2.0))  # two-sided normal p-value, 2 * sf(|z|)
    return MannKendall(s, float(z), min(1.0, p))


def _reduce(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], max_points: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    # Block medians keep both statistics O(max_points^2) on long series.
    blocks = np.array_split(np.arange(x.size), max_points)
    return (np.array([np.median(x[b]) for b in blocks]), np.array([np.median(y[b]) for b in blocks]))


def trend(
    series: pd.DataFrame,
    *,
    alpha: float = 0.05,
    min_change_pct: float = 0.0,
    max_points: int = 2000,
    ts_col: str = "ts",
    value_col: str = "value",
) -> Trend:
    """Trend of a ``ts, value`` series (rows with missing values are ignored).

    Series longer than ``max_points`` are first reduced to ``max_points``
    block medians so the pairwise statistics stay fast.

    >>> ts = pd.date_range("2024-05-01", periods=10, freq="D", tz="UTC")
    >>> t = trend(pd.DataFrame({"ts": ts, "value": [10.0 + 2 * i for i in range(10)]}))
    >>> t.direction, t.slope_per_day, t.start_value, t.end_value, t.pct_change
    ('increasing', 2.0, 10.0, 28.0, 180.0)
    >>> trend(pd.DataFrame({"ts": ts[:3], "value": [1.0, 2.0, 3.0]})).direction
    'insufficient_data'
    """
    if not 0 < alpha < 1:
        raise ValueError("trend: alpha must be in (0, 1)")
    ts, vals = series_arrays(series, "trend", ts_col, value_col)
    ok = np.isfinite(vals) & ts.notna().to_numpy()
    ts, vals = ts[ok].reset_index(drop=True), vals[ok]
    n = int(vals.size)
    if n < MIN_POINTS or ts.nunique() < 2:
        return Trend(n=n, direction="insufficient_data", significant=False, alpha=alpha)
    start_ts, end_ts = pd.Timestamp(ts.iloc[0]), pd.Timestamp(ts.iloc[-1])
    x = ((ts - start_ts).dt.total_seconds() / SECONDS_PER_DAY).to_numpy(dtype=np.float64)
    y = vals
    if n > max_points:
        x, y = _reduce(x, y, max_points)
    from scipy import stats  # imported here: scipy.stats costs ~1 s at start-up of every process

    fit = stats.theilslopes(y, x, alpha=1 - alpha)
    slope, intercept = float(fit.slope), float(fit.intercept)
    span = float((end_ts - start_ts).total_seconds()) / SECONDS_PER_DAY
    start_value, end_value = intercept, intercept + slope * span
    pct = (end_value - start_value) / abs(start_value) * 100.0 if start_value != 0 else None
    mk = mann_kendall(y)
    significant = mk.p_value < alpha
    big_enough = pct is None or abs(pct) >= min_change_pct
    if significant and big_enough and slope > 0:
        direction = "increasing"
    elif significant and big_enough and slope < 0:
        direction = "decreasing"
    else:
        direction = "stable"
    return Trend(
        n=n,
        direction=direction,
        significant=significant,
        slope_per_day=slope,
        slope_low_per_day=float(fit.low_slope),
        slope_high_per_day=float(fit.high_slope),
        start_ts=start_ts,
        end_ts=end_ts,
        start_value=start_value,
        end_value=end_value,
        pct_change=pct,
        mk_s=mk.s,
        mk_z=mk.z,
        p_value=mk.p_value,
        alpha=alpha,
    )
