"""Baselines of a series: a centre and a lower/upper band, over a lookback
(:func:`baseline`) or per point from earlier points only (:func:`rolling_baseline`).

Methods:

* ``"intelligent"`` (default): median and robust SD (1.4826 x MAD); points
  with ``|value - median| > k * robust SD`` are excluded as outliers and the
  median and robust SD are recomputed on the rest. Band: centre +- k x SD.
* ``"median"``: the same without the exclusion step.
* ``"mean"``: mean +- k x standard deviation (ddof=1; 0 for one point).
* ``"percentile"``: centre is the median, band is
  ``[P(100 - percentile), P(percentile)]``.

Robust SD fallback (see :func:`robust_sigma`), in order, when the previous
one is 0: 1.4826 x MAD; IQR / 1.349; 1.2533 x mean absolute deviation from
the centre; 1 % of ``|centre|``; finally 0 (a constant zero series, whose
band collapses to the centre).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics._frames import TimeLike, series_arrays, to_timedelta, utc_timestamp

Method = Literal["intelligent", "mean", "median", "percentile"]
METHODS: tuple[str, ...] = ("intelligent", "mean", "median", "percentile")
MAD_TO_SD = 1.4826
IQR_TO_SD = 1.0 / 1.349
MEANABS_TO_SD = 1.2533
MIN_RELATIVE_SD = 0.01

FloatArray = npt.NDArray[np.float64]


def fast_median(v: FloatArray) -> float:
    """Median of a 1-d float array without NaNs (``nan`` when empty); a lean
    version of ``np.median`` for the per-point loops of the online detector.

    >>> fast_median(np.array([3.0, 1.0, 2.0, 10.0]))
    2.5
    """
    n = v.size
    if n == 0:
        return float("nan")
    s = np.sort(v)
    half = n // 2
    return float(s[half]) if n % 2 else 0.5 * float(s[half - 1] + s[half])


def _quantile_sorted(s: FloatArray, q: float) -> float:
    # numpy's default ("linear") quantile on an already sorted array.
    h = (s.size - 1) * q
    lo = int(h)
    hi = min(lo + 1, s.size - 1)
    return float(s[lo] + (h - lo) * (s[hi] - s[lo]))


def robust_sigma(values: npt.ArrayLike, centre: float | None = None) -> float:
    """Robust standard deviation with the documented fallbacks (NaNs ignored;
    0.0 for no values).

    >>> robust_sigma([1.0, 2.0, 3.0, 4.0, 100.0])
    1.4826
    >>> round(robust_sigma([5.0, 5.0, 5.0, 5.0, 6.0]), 5)  # MAD and IQR are 0
    0.25066
    """
    v = np.asarray(values, dtype=np.float64)
    v = np.sort(v[np.isfinite(v)])
    if v.size == 0:
        return 0.0
    c = _quantile_sorted(v, 0.5) if centre is None else centre
    mad = fast_median(np.abs(v - c))
    if mad > 0:
        return MAD_TO_SD * mad
    iqr = _quantile_sorted(v, 0.75) - _quantile_sorted(v, 0.25)
    if iqr > 0:
        return iqr * IQR_TO_SD
    meanabs = float(np.mean(np.abs(v - c)))
    if meanabs > 0:
        return MEANABS_TO_SD * meanabs
    return MIN_RELATIVE_SD * abs(c)


@dataclass(frozen=True)
class Baseline:
    """Centre and band of a series; ``None`` figures when no point was usable."""

    centre: float | None
    lower: float | None
    upper: float | None
    method: str
    n_used: int
    n_excluded: int
    sigma: float | None = None

    def as_dict(self) -> dict[str, object]:
        """Plain dict, in field order."""
        return asdict(self)


def _check(method: str, k: float, percentile: float) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown baseline method {method!r}; use one of {', '.join(METHODS)}")
    if not k > 0:
        raise ValueError("k must be positive")
    if not 50 <= percentile <= 100:
        raise ValueError("percentile must be in [50, 100]")


def _compute(v: FloatArray, method: str, k: float, percentile: float) -> Baseline:
    b = _compute_unclamped(v, method, k, percentile)
    if b.lower is not None and v.size and float(v.min()) >= 0.0 and b.lower < 0.0:
        # A series that never went below zero (durations, CPU seconds, counts):
        # its band stops at zero rather than promising negative values.
        b = replace(b, lower=0.0)
    return b


def _compute_unclamped(v: FloatArray, method: str, k: float, percentile: float) -> Baseline:
    n = int(v.size)
    if n == 0:
        return Baseline(None, None, None, method, 0, 0)
    if method == "mean":
        c = float(v.mean())
        s = float(v.std(ddof=1)) if n > 1 else 0.0
        return Baseline(c, c - k * s, c + k * s, method, n, 0, s)
    if method == "percentile":
        lo, c, hi = (float(x) for x in np.percentile(v, [100 - percentile, 50, percentile]))
        return Baseline(c, lo, hi, method, n, 0, None)
    c = float(np.median(v))
    s = robust_sigma(v, c)
    excluded = 0
    if method == "intelligent":
        keep = np.abs(v - c) <= k * s
        excluded = int(n - keep.sum())
        if excluded:
            v = v[keep]
            c = float(np.median(v))
            s = robust_sigma(v, c)
    return Baseline(c, c - k * s, c + k * s, method, int(v.size), excluded, s)


def baseline(
    series: pd.DataFrame,
    *,
    method: Method = "intelligent",
    lookback: int | str | pd.Timedelta | None = None,
    now: TimeLike | None = None,
    percentile: float = 95.0,
    k: float = 3.0,
    ts_col: str = "ts",
    value_col: str = "value",
) -> Baseline:
    """Baseline of a ``ts, value`` series over the lookback: the last N
    points when ``lookback`` is an int, the points in ``[now - lookback, now]``
    when it is a duration (``now`` defaults to the last timestamp), all
    points when None. Missing values are ignored.

    >>> ts = pd.date_range("2024-05-01", periods=7, freq="h", tz="UTC")
    >>> s = pd.DataFrame({"ts": ts, "value": [10.0, 11, 9, 10, 12, 8, 90]})
    >>> b = baseline(s)
    >>> b.centre, round(b.lower, 3), round(b.upper, 3), b.n_used, b.n_excluded
    (10.0, 5.552, 14.448, 6, 1)
    """
    _check(method, k, percentile)
    ts, vals = series_arrays(series, "baseline", ts_col, value_col)
    if isinstance(lookback, (str, pd.Timedelta)):
        if len(ts):
            ref = utc_timestamp(now, "now") if now is not None else pd.Timestamp(ts.max())
            mask = ((ts >= ref - to_timedelta(lookback, "lookback")) & (ts <= ref)).to_numpy()
            vals = vals[mask]
    elif isinstance(lookback, int):
        if lookback < 1:
            raise ValueError("baseline: lookback must be >= 1 points")
        vals = vals[np.isfinite(vals)][-lookback:]
    return _compute(vals[np.isfinite(vals)], method, k, percentile)


def _rows_robust_sigma(win: FloatArray, centre: FloatArray) -> FloatArray:
    # Vectorised robust_sigma over the rows of a NaN-padded window matrix.
    dev = np.abs(win - centre[:, None])
    sigma = MAD_TO_SD * np.nanmedian(dev, axis=1)
    q75, q25 = np.nanpercentile(win, [75, 25], axis=1)
    sigma = np.where(sigma > 0, sigma, (q75 - q25) * IQR_TO_SD)
    sigma = np.where(sigma > 0, sigma, MEANABS_TO_SD * np.nanmean(dev, axis=1))
    return np.where(sigma > 0, sigma, MIN_RELATIVE_SD * np.abs(centre))


def rolling_baseline(
    series: pd.DataFrame,
    *,
    method: Method = "intelligent",
    window: int = 30,
    min_periods: int = 5,
    percentile: float = 95.0,
    k: float = 3.0,
    ts_col: str = "ts",
    value_col: str = "value",
) -> pd.DataFrame:
    """Per-point baseline for chart bands: columns ``ts, value, centre, lower,
    upper, n_used``, where each row's figures use only the ``window`` earlier
    points (never the point itself nor later ones). Rows with fewer than
    ``min_periods`` earlier values have NaN figures. Sorted by ``ts``.

    >>> ts = pd.date_range("2024-05-01", periods=5, freq="h", tz="UTC")
    >>> s = pd.DataFrame({"ts": ts, "value": [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> rolling_baseline(s, method="median", window=3, min_periods=2, k=1)["centre"].tolist()
    [nan, nan, 1.5, 2.0, 3.0]
    """
    _check(method, k, percentile)
    if window < 1 or min_periods < 1:
        raise ValueError("rolling_baseline: window and min_periods must be >= 1")
    ts, vals = series_arrays(series, "rolling_baseline", ts_col, value_col)
    n = vals.size
    out = pd.DataFrame({"ts": ts, "value": vals})
    if n == 0:
        for name in ("centre", "lower", "upper"):
            out[name] = pd.Series([], dtype="float64")
        out["n_used"] = pd.Series([], dtype="int64")
        return out
    padded = np.concatenate([np.full(window, np.nan), vals])
    win = np.lib.stride_tricks.sliding_window_view(padded, window)[:n].copy()
    available = np.sum(np.isfinite(win), axis=1)
    with warnings.catch_warnings():
        # Rows still warming up are all-NaN; their NaN result is what we want.
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "mean":
            centre = np.nanmean(win, axis=1)
            sd = np.nanstd(win, axis=1, ddof=1)
            sd = np.where(np.isfinite(sd), sd, 0.0)
            lower, upper = centre - k * sd, centre + k * sd
        elif method == "percentile":
            lower, centre, upper = np.nanpercentile(win, [100 - percentile, 50, percentile], axis=1)
        else:
            centre = np.nanmedian(win, axis=1)
            sigma = _rows_robust_sigma(win, centre)
            if method == "intelligent":
                win = np.where(np.abs(win - centre[:, None]) <= k * sigma[:, None], win, np.nan)
                centre = np.nanmedian(win, axis=1)
                sigma = _rows_robust_sigma(win, centre)
            lower, upper = centre - k * sigma, centre + k * sigma
    used = np.sum(np.isfinite(win), axis=1)
    enough = available >= min_periods
    for name, arr in (("centre", centre), ("lower", lower), ("upper", upper)):
        out[name] = np.where(enough, arr, np.nan).astype("float64")
    out["n_used"] = np.where(enough, used, 0).astype("int64")
    return out
