"""Forecasts of a bucketed series with 80 % and 95 % prediction intervals.

:func:`forecast` takes a frame of ``bucket`` (timestamps, one per bucket) and
``value`` and returns the next ``horizon`` buckets: the point forecast
(``value``), the bounds ``lower_80``/``upper_80`` and ``lower_95``/``upper_95``,
and, on every row, the model chosen (``model``), its season length in buckets
(``season_length``, 0 for none) and why it was chosen (``reason``). Fit
diagnostics (history length, bucket size, seasonal strengths, residual
standard deviation, the smoothing parameters, AIC) are in
``result.attrs["diagnostics"]``.

How the model is chosen, from the data and the bucket size:

1. The history is put on a regular grid of its bucket size (given, or the
   median gap); a missing bucket is ``fill`` (0 for counts) or, without
   ``fill``, interpolated. At most :data:`MAX_HISTORY` buckets are used (the
   newest; of a seasonal series, at most :data:`MAX_CYCLES` cycles). With ``now``, a last bucket still filling at ``now`` is left out:
   its partial total would read as a drop; with ``now`` and ``fill``, the
   buckets after the last one with data, up to ``now``, are ``fill`` (a
   quiet hour of counts is 0); without ``fill`` they are forecast but left
   out (``gap_buckets`` in the diagnostics). Either way the forecast starts
   at the bucket in progress.
2. Candidate seasons are the cycles of a day, a week and a year that span
   a whole number (at least 2) of buckets: 24 for hourly buckets, 7 for
   daily ones, 168 and 24 for hourly ones over weeks, 12 for monthly ones.
   A candidate with at least :data:`MIN_CYCLES` cycles of history is kept
   when its seasonal strength (1 - var(remainder) / var(detrended), from a
   classical decomposition) is at least :data:`MIN_STRENGTH` and well above
   what noise gives with that many cycles (``1.5 / cycles``).
3. With one or two seasons: the seasons are removed by STL (MSTL for two),
   a damped-trend exponential smoothing model, ETS(A,Ad,N), forecasts the
   adjusted series and each season's last cycle is added back. Without a
   season: ETS(A,Ad,N) on the series itself. The intervals are the ETS
   model's, from its residual variance, so they widen with the horizon.
4. Short history falls back: with fewer than :data:`MIN_MODEL` buckets, or
   fewer than :data:`MIN_CYCLES` cycles of a season that the last cycle
   repeats well (correlation of at least 0.5 one cycle apart), the
   seasonal-naive model (each bucket repeats the one a cycle earlier) or the
   drift model (the line through the first and last points); with fewer
   than 3 buckets, the last value is carried forward with no interval.

``damped=False`` keeps the trend straight (capacity: a store grows until
something is deleted); ``lower_bound`` clips the forecast and its bounds
(0 for counts and sizes).

The statistical models are statsmodels' (``ETSModel``, ``STL``, ``MSTL``),
imported with this module: their import costs about 0.2 s once pandas and
SciPy are loaded (``python -X importtime``), too little to defer.

>>> import pandas as pd
>>> hist = pd.DataFrame({"bucket": pd.date_range("2026-01-01", periods=8, freq="D", tz="UTC"),
...                      "value": [10.0, 12, 14, 16, 18, 20, 22, 24]})
>>> fc = forecast(hist, horizon=3)
>>> fc["model"].iloc[0], [round(v, 1) for v in fc["value"]]
('drift', [26.0, 28.0, 30.0])
>>> bool((fc["upper_95"] - fc["lower_95"]).is_monotonic_increasing)
True
>>> forecast(hist.iloc[:0], horizon=3).empty
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics._frames import require_columns, require_frame

FloatArray = npt.NDArray[np.float64]

LEVELS = (80, 95)
Z = {80: 1.2815515655446004, 95: 1.959963984540054}  # two-sided normal quantiles
COLUMNS = ("bucket", "value", "lower_80", "upper_80", "lower_95", "upper_95", "model", "season_length", "reason")
CYCLES = (("daily", 86400.0), ("weekly", 7 * 86400.0), ("yearly", 365.25 * 86400.0))
MAX_HISTORY = 1000  # newest buckets used for the fit
MAX_CYCLES = 8  # newest cycles of the longest season used for a seasonal fit
MAX_SEASON = 400  # longest season in buckets (a week of 30-minute buckets)
MIN_CYCLES = 3  # cycles of history before a seasonal model
MIN_STRENGTH = 0.3
MIN_MODEL = 12  # buckets before an ETS model
MIN_REPEAT = 0.5  # correlation one cycle apart for the seasonal-naive fallback


@dataclass
class _Fit:
    model: str
    season: int
    reason: str
    mean: FloatArray
    sd: FloatArray  # forecast standard deviation per step (NaN: no interval)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    bounds: dict[int, tuple[FloatArray, FloatArray]] | None = None  # when not mean -+ z * sd


def forecast(
    df: pd.DataFrame,
    *,
    horizon: int,
    step_seconds: float | None = None,
    fill: float | None = None,
    damped: bool = True,
    lower_bound: float | None = None,
    now: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The next ``horizon`` buckets of the ``bucket``/``value`` series ``df``
    (see the module's documentation). Empty input, or a series with no
    value, gives an empty frame with the same columns."""
    require_frame(df, "forecast")
    require_columns(df, ("bucket", "value"), "forecast")
    if horizon < 1:
        raise ValueError("forecast: horizon must be at least 1")
    ts = pd.to_datetime(df["bucket"], utc=True, format="ISO8601") if len(df) else pd.Series(dtype="datetime64[ns, UTC]")
    values = pd.to_numeric(df["value"], errors="coerce").astype("float64")
    series = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(ts)).dropna()
    series = series[np.isfinite(series.to_numpy())]
    series = series.groupby(level=0).mean().sort_index()
    step = step_seconds or _median_step(series.index)
    if series.empty or step is None or step <= 0:
        return _empty({"history": len(series), "reason": "no history" if series.empty else "no bucket size"})
    delta = pd.Timedelta(seconds=step)
    grid = pd.date_range(series.index[0], series.index[-1], freq=delta)
    even = len(grid) > 0 and grid[-1] == series.index[-1]
    if not even:
        grid = series.index  # irregular buckets (calendar weeks, DST days): keep them as they are
    elif fill is not None and now is not None and pd.Timestamp(now) >= grid[-1] + delta:
        # A counting series has zeros, not gaps, after its last event: up to the bucket in progress.
        grid = pd.date_range(
            series.index[0], grid[-1] + delta * int((pd.Timestamp(now) - grid[-1]) // delta), freq=delta
        )
    if now is not None and len(grid) > 1 and grid[-1] + delta > pd.Timestamp(now):
        grid = grid[:-1]  # the bucket in progress is partial: the forecast starts there
    regular = series.reindex(grid)
    regular = regular.fillna(fill) if fill is not None else regular.interpolate(limit_direction="both")
    y = regular.to_numpy(dtype="float64")[-MAX_HISTORY:]
    # A series that stopped (a gauge gone quiet, a script no longer run): the
    # buckets between its last value and now are past, so the forecast runs
    # over them and keeps only those from the bucket in progress on.
    gap = max(0, int((pd.Timestamp(now) - grid[-1]) // delta) - 1) if now is not None and even else 0
    fit = _choose(y, step, gap + horizon, damped, lower_bound is not None and lower_bound >= 0 and bool(np.all(y >= 0)))
    out = pd.DataFrame({"bucket": [grid[-1] + delta * (i + 1) for i in range(gap + horizon)], "value": fit.mean})
    for level in LEVELS:
        lo, hi = fit.bounds[level] if fit.bounds else (fit.mean - Z[level] * fit.sd, fit.mean + Z[level] * fit.sd)
        out[f"lower_{level}"], out[f"upper_{level}"] = lo, hi
    out = out.iloc[gap:].reset_index(drop=True)
    if lower_bound is not None:
        for col in ("value", "lower_80", "upper_80", "lower_95", "upper_95"):
            out[col] = out[col].clip(lower=lower_bound)
    out["model"] = fit.model
    out["season_length"] = fit.season
    out["reason"] = fit.reason
    out.attrs["diagnostics"] = {"history": len(y), "step_seconds": step, "gap_buckets": gap, **fit.diagnostics}
    return out


def first_crossing(fc: pd.DataFrame, *, threshold: float, column: str = "value") -> pd.Timestamp | None:
    """The first forecast bucket whose ``column`` reaches ``threshold``
    (``upper_95`` for the earliest plausible one), or None.

    >>> fc = pd.DataFrame({"bucket": pd.date_range("2026-01-01", periods=3, freq="D", tz="UTC"),
    ...                    "value": [1.0, 2.0, 3.0]})
    >>> str(first_crossing(fc, threshold=2.0)), first_crossing(fc, threshold=9.0)
    ('2026-01-02 00:00:00+00:00', None)
    """
    if fc.empty or column not in fc:
        return None
    hit = fc[fc[column] >= threshold]
    return None if hit.empty else pd.Timestamp(hit["bucket"].iloc[0])


def seasons_for(step_seconds: float) -> list[tuple[str, int]]:
    """The day, week and year cycles that span a whole number of buckets.

    >>> seasons_for(3600), seasons_for(86400), seasons_for(60)
    ([('daily', 24), ('weekly', 168)], [('weekly', 7), ('yearly', 365)], [])
    """
    out = []
    for name, cycle in CYCLES:
        ratio = cycle / step_seconds
        m = round(ratio)
        if 2 <= m <= MAX_SEASON and abs(ratio - m) <= 0.01 * m:
            out.append((name, m))
    return out


def _empty(diagnostics: dict[str, Any]) -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    out["bucket"] = pd.Series(dtype="datetime64[ns, UTC]")
    out["model"] = pd.Series(dtype=object)
    out["reason"] = pd.Series(dtype=object)
    out["season_length"] = pd.Series(dtype="int64")
    out.attrs["diagnostics"] = diagnostics
    return out


def _median_step(index: pd.DatetimeIndex) -> float | None:
    if len(index) < 2:
        return None
    gaps = np.diff(index.asi8) / _unit_per_second(index)
    return float(np.median(gaps))


def _unit_per_second(index: pd.DatetimeIndex) -> float:
    return {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[index.unit]


def strength(y: FloatArray, m: int) -> float:
    """Seasonal strength of period ``m``: 1 - var(remainder) / var(detrended),
    from a centred moving-average trend and per-phase means (0 to 1).

    >>> t = np.arange(96.0)
    >>> round(strength(np.sin(2 * np.pi * t / 24), 24), 2), round(strength(t, 24), 2)
    (1.0, 0.0)
    """
    n = len(y)
    if n < 2 * m + 1:
        return 0.0
    kernel = np.ones(m + 1 if m % 2 == 0 else m)
    if m % 2 == 0:
        kernel[0] = kernel[-1] = 0.5
    kernel /= m
    trend = np.convolve(y, kernel, mode="valid")
    half = (len(kernel) - 1) // 2
    detr = y[half : half + len(trend)] - trend
    phase = (np.arange(len(detr)) + half) % m
    means = np.bincount(phase, weights=detr, minlength=m) / np.maximum(np.bincount(phase, minlength=m), 1)
    remainder = detr - means[phase]
    total = float(np.var(detr))
    if total <= 1e-12 * max(1.0, float(np.mean(y**2))):
        return 0.0
    return max(0.0, 1.0 - float(np.var(remainder)) / total)


def _choose(y: FloatArray, step: float, horizon: int, damped: bool, nonnegative: bool) -> _Fit:
    n = len(y)
    if n < 3:
        return _Fit(
            "naive",
            0,
            f"only {n} bucket{'s' if n != 1 else ''} of history: the last value carried forward, no interval",
            np.full(horizon, y[-1]),
            np.full(horizon, np.nan),
        )
    candidates = seasons_for(step)
    detected: list[tuple[str, int, float]] = []
    short: list[tuple[str, int, float]] = []
    for name, m in candidates:
        cycles = n / m
        if cycles >= MIN_CYCLES:
            s = strength(y, m)
            if s >= max(MIN_STRENGTH, 1.5 / cycles):
                detected.append((name, m, s))
        elif n >= m + 2:
            r = _lag_correlation(y, m)
            if r >= MIN_REPEAT:
                short.append((name, m, r))
    strengths = {f"strength_{name}": round(s, 3) for name, _, s in detected}
    if detected:
        detected = sorted(detected, key=lambda d: d[1])[-2:]  # the two longest detected cycles
        if n >= MIN_MODEL:
            return _seasonal_ets(y, detected, horizon, damped, n, strengths, nonnegative)
    if short and (not detected or n < MIN_MODEL):
        name, m, r = max(short, key=lambda s: s[2])
        return _seasonal_naive(
            y,
            m,
            horizon,
            f"{n / m:.1f} {name} cycles of history, too few for a seasonal model; "
            f"the last cycle repeats well (correlation {r:.2f}): seasonal naive",
        )
    if n < MIN_MODEL:
        return _drift(y, horizon, f"only {n} buckets of history: drift (the line through the first and last values)")
    why = _no_season_reason(candidates, n, step)
    return _ets(y, horizon, damped, why, strengths)


def _lag_correlation(y: FloatArray, m: int) -> float:
    """Correlation one cycle apart of ``y`` less its straight line (a trend
    alone repeats nothing)."""
    t = np.arange(len(y), dtype="float64")
    tiny = 1e-9 * (float(np.max(np.abs(y))) + 1.0)
    y = y - np.polyval(np.polyfit(t, y, 1), t)
    a, b = y[m:], y[:-m]
    if len(a) < 2 or np.std(a) <= tiny or np.std(b) <= tiny:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _no_season_reason(candidates: list[tuple[str, int]], n: int, step: float) -> str:
    if not candidates:
        return f"no daily, weekly or yearly cycle fits buckets of {_human_seconds(step)}; {n} buckets of history"
    names = ", ".join(f"{name} ({m} buckets)" for name, m in candidates)
    return f"no cycle found among {names} in {n} buckets of history"


def _human_seconds(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _seasonal_naive(y: FloatArray, m: int, horizon: int, reason: str) -> _Fit:
    steps = np.arange(horizon)
    mean = y[len(y) - m + (steps % m)]
    resid = y[m:] - y[:-m]
    sigma = float(np.sqrt(np.mean(resid**2))) if len(resid) else np.nan
    sd = sigma * np.sqrt(steps // m + 1.0)
    return _Fit(f"seasonal-naive({m})", m, reason, mean.astype("float64"), sd, {"sigma": _round(sigma)})


def _drift(y: FloatArray, horizon: int, reason: str) -> _Fit:
    n = len(y)
    slope = (y[-1] - y[0]) / (n - 1)
    h = np.arange(1, horizon + 1, dtype="float64")
    resid = np.diff(y) - slope
    sigma = float(np.sqrt(np.sum(resid**2) / max(n - 2, 1)))
    sd = sigma * np.sqrt(h * (1.0 + h / (n - 1)))
    return _Fit("drift", 0, reason, y[-1] + slope * h, sd, {"sigma": _round(sigma), "slope": _round(slope)})


def _ets_forecast(y: FloatArray, horizon: int, damped: bool) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    # statsmodels (and the scipy.stats it loads, ~90 MB and a second) is imported
    # at the first fit: a process that never forecasts does not carry it.
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    scale = float(np.std(y)) or max(1.0, abs(float(np.mean(y))))
    centre = float(np.mean(y))
    z = pd.Series((y - centre) / scale)  # a unit scale keeps the optimiser well conditioned
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ETSModel(
            z,
            error="add",
            trend="add",
            damped_trend=damped,
            initialization_method="heuristic" if len(z) >= 20 else "estimated",
        )
        result = model.fit(disp=False, maxiter=200)
        pred = result.get_prediction(start=len(z), end=len(z) + horizon - 1)
        mean = np.asarray(pred.predicted_mean, dtype="float64")
        sd = np.sqrt(np.maximum(np.asarray(pred.forecast_variance, dtype="float64"), 0.0))
    params = dict(zip(result.param_names, np.asarray(result.params, dtype="float64")))
    diag = {
        "alpha": _round(params.get("smoothing_level")),
        "beta": _round(params.get("smoothing_trend")),
        "phi": _round(params.get("damping_trend", 1.0)),
        "aic": _round(float(result.aic) if np.isfinite(result.aic) else None),
        "sigma": _round(float(np.std(np.asarray(result.resid))) * scale),
    }
    return centre + scale * mean, scale * sd, diag


def _ets(y: FloatArray, horizon: int, damped: bool, reason: str, strengths: dict[str, float]) -> _Fit:
    if np.ptp(y) == 0:
        return _Fit("constant", 0, f"{reason}; every value is the same", np.full(horizon, y[-1]), np.zeros(horizon))
    mean, sd, diag = _calibrated(lambda yy, hh: _ets_forecast(yy, hh, damped), y, horizon)
    name = "ets(A,Ad,N)" if damped else "ets(A,A,N)"
    return _Fit(name, 0, f"{reason}: {'damped' if damped else 'linear'} trend", mean, sd, diag | strengths)


def _seasonal_ets(
    y: FloatArray,
    seasons: list[tuple[str, int, float]],
    horizon: int,
    damped: bool,
    n: int,
    strengths: dict[str, float],
    nonnegative: bool,
) -> _Fit:
    periods = [m for _, m, _ in seasons]
    y = y[-MAX_CYCLES * periods[-1] :]
    n = len(y)
    # Counts with quiet hours vary more at their peaks: fitted on the square
    # root, where that variance is even, and squared back.
    root = nonnegative and float(np.quantile(y, 0.1)) < 0.35 * float(np.quantile(y, 0.9))
    work = np.sqrt(y) if root else y

    def fit(yy: FloatArray, hh: int) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        return _decomposed_forecast(yy, periods, hh, damped)

    mean, sd, diag = _calibrated(fit, work, horizon)
    bounds = None
    if root:
        bounds = {
            lv: (np.maximum(mean - Z[lv] * sd, 0.0) ** 2, np.maximum(mean + Z[lv] * sd, 0.0) ** 2) for lv in LEVELS
        }
        mean = np.maximum(mean, 0.0) ** 2
        diag = diag | {"transform": "sqrt"}
    label = "+".join(str(m) for m in periods)
    kind = "mstl" if len(periods) > 1 else "stl"
    trend = "Ad" if damped else "A"
    found = " and ".join(f"{name} cycle of {m} buckets (strength {s:.2f})" for name, m, s in seasons)
    reason = (
        f"{found} in {n} buckets of history: seasons removed by {kind.upper()}, "
        f"{'damped' if damped else 'linear'} trend{', fitted on the square root (deep cycle)' if root else ''}"
    )
    name = f"{kind}({label})+ets(A,{trend},N)"
    return _Fit(name, periods[-1], reason, mean, sd, diag | strengths, bounds)


def _decomposed_forecast(
    y: FloatArray, periods: list[int], horizon: int, damped: bool
) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """Seasons removed by STL (MSTL for two), ETS on the rest, each season's
    last cycle added back."""
    from statsmodels.tsa.seasonal import MSTL, STL

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(periods) == 1:
            parts = STL(pd.Series(y), period=periods[0], robust=True).fit()
            seasonal = np.asarray(parts.seasonal, dtype="float64").reshape(-1, 1)
        else:
            parts = MSTL(pd.Series(y), periods=periods).fit()
            seasonal = np.asarray(parts.seasonal, dtype="float64").reshape(len(y), -1)
    mean, sd, diag = _ets_forecast(y - seasonal.sum(axis=1), horizon, damped)
    steps = np.arange(horizon)
    for j, m in enumerate(periods):
        mean = mean + seasonal[-m:, j][steps % m]
    return mean, sd, diag


Fitter = Callable[[FloatArray, int], tuple[FloatArray, FloatArray, dict[str, Any]]]


def _calibrated(fit: Fitter, y: FloatArray, horizon: int) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """``fit(y, horizon)`` with its standard deviations scaled by how far off
    they were on the newest buckets: the same model is fitted without the
    last ``c`` buckets (c = the horizon, at most a fifth of the history) and
    the robust spread of its standardised errors there (median absolute
    value / 0.6745, which a few large errors at a peak do not inflate) widens the
    intervals when above 1 (at most 4 times). The model's own variance
    comes from in-sample residuals, which a decomposition and a fitted trend
    make too small."""
    mean, sd, diag = fit(y, horizon)
    c = min(horizon, len(y) // 5)
    factor = 1.0
    if c >= 2 and len(y) - c >= MIN_MODEL:
        held_mean, held_sd, _ = fit(y[:-c], c)
        ok = held_sd > 0
        if ok.any():
            z = (y[-c:][ok] - held_mean[ok]) / held_sd[ok]
            factor = float(np.clip(np.median(np.abs(z)) / 0.6745, 1.0, 4.0))
    return mean, sd * factor, diag | {"interval_scale": round(factor, 3), "calibration_buckets": c}


def _round(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)
