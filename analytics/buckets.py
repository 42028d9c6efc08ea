"""Time bucketing for charts: second/minute/hour/day/week buckets over a
complete index (empty buckets zero-filled), from raw events or from rollups,
and a chooser for a bucket size that gives a readable number of points.

Sub-day buckets are aligned to the Unix epoch in UTC (identical to local
alignment for whole-hour zones). Day and week buckets follow local calendar
days in ``tz`` (weeks start on Monday) and are returned as their UTC start.
Bucket timestamps are always UTC, ``datetime64[us, UTC]``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics._frames import (
    TimeLike,
    float_values,
    require_columns,
    require_frame,
    to_timedelta,
    utc_series,
    utc_timestamp,
    weights,
)

Agg = Literal["sum", "mean", "min", "max", "median"]
MAX_BUCKETS = 1_000_000  # a mistaken freq must not allocate gigabytes
_DAY_NAMES = {"d", "1d", "day", "days", "daily"}
_WEEK_NAMES = {"w", "1w", "w-mon", "week", "weeks", "weekly"}
_ALIASES = {
    "s": "1s",
    "second": "1s",
    "sec": "1s",
    "min": "1min",
    "minute": "1min",
    "t": "1min",
    "h": "1h",
    "hour": "1h",
    "hourly": "1h",
}
#: Candidate sizes for :func:`auto_bucket`, smallest first.
AUTO_CANDIDATES: tuple[str, ...] = (
    "1s",
    "5s",
    "10s",
    "30s",
    "1min",
    "5min",
    "10min",
    "15min",
    "30min",
    "1h",
    "3h",
    "6h",
    "12h",
    "D",
    "W",
)


def _parse_freq(freq: str) -> pd.Timedelta | Literal["D", "W"]:
    key = freq.strip().lower()
    if key in _DAY_NAMES:
        return "D"
    if key in _WEEK_NAMES:
        return "W"
    try:
        return to_timedelta(_ALIASES.get(key, freq.strip()), "freq")
    except ValueError as exc:
        raise ValueError(f"unknown bucket size {freq!r}") from exc


def bucket_seconds(freq: str) -> float:
    """Nominal length of one bucket in seconds (a day is 86,400 s).

    >>> bucket_seconds("5min"), bucket_seconds("W")
    (300.0, 604800.0)
    """
    spec = _parse_freq(freq)
    if spec == "D":
        return 86400.0
    if spec == "W":
        return 7 * 86400.0
    return float(spec.total_seconds())


def _local_start(ts: pd.Series, spec: Literal["D", "W"], tz: str) -> pd.Series:
    local = ts.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    if spec == "W":
        local = local - pd.to_timedelta(local.dt.day_of_week, unit="D")
    return local


def _to_utc(local_naive: pd.Series | pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    # Midnight can be skipped by DST in a few zones: shift to the first valid time.
    idx = pd.DatetimeIndex(local_naive)
    return idx.tz_localize(tz, nonexistent="shift_forward", ambiguous=False).tz_convert("UTC")


def bucket_keys(ts: pd.Series, freq: str, tz: str = "UTC") -> pd.Series:
    """UTC start of the bucket of each timestamp (same index as ``ts``).

    >>> ts = pd.Series(pd.to_datetime(["2024-05-01 10:07:30"], utc=True))
    >>> str(bucket_keys(ts, "5min")[0])
    '2024-05-01 10:05:00+00:00'
    """
    utc = utc_series(ts)
    spec = _parse_freq(freq)
    if isinstance(spec, pd.Timedelta):
        return utc.dt.floor(spec)
    local = _local_start(utc, spec, tz)
    return pd.Series(_to_utc(local, tz), index=ts.index)


def bucket_index(start: TimeLike, end: TimeLike, freq: str, tz: str = "UTC") -> pd.DatetimeIndex:
    """All bucket starts from the bucket holding ``start`` up to ``end``
    (exclusive; a bucket starting exactly at ``end`` is not included unless
    ``start == end``).

    >>> [str(t.time()) for t in bucket_index(pd.Timestamp("2024-05-01 10:07", tz="UTC"),
    ...  pd.Timestamp("2024-05-01 10:20", tz="UTC"), "5min")]
    ['10:05:00', '10:10:00', '10:15:00']
    """
    s = utc_timestamp(start, "start")
    e = utc_timestamp(end, "end")
    if e < s:
        raise ValueError(f"end {e} is before start {s}")
    spec = _parse_freq(freq)
    first = bucket_keys(pd.Series([s]), freq, tz).iloc[0]
    if isinstance(spec, pd.Timedelta):
        n = max(1, math.ceil((e - first) / spec))
        if n > MAX_BUCKETS:
            raise ValueError(f"{n} buckets of {freq} between {s} and {e}; use a larger size")
        idx = pd.date_range(first, periods=n, freq=spec)
    else:
        step = "D" if spec == "D" else "7D"
        local_first = _local_start(pd.Series([s]), spec, tz).iloc[0]
        local_last = _local_start(pd.Series([e]), spec, tz).iloc[0]
        local = pd.date_range(local_first, local_last, freq=step)
        idx = _to_utc(local, tz)
        if len(idx) > 1 and idx[-1] >= e:
            idx = idx[:-1]
    return pd.DatetimeIndex(idx).as_unit("us")


def _prepare(
    df: pd.DataFrame,
    ts_col: str,
    freq: str,
    start: TimeLike | None,
    end: TimeLike | None,
    tz: str,
) -> tuple[pd.DatetimeIndex, npt.NDArray[np.bool_], pd.DatetimeIndex] | None:
    """Complete bucket index, mask of the rows inside ``[start, end)`` and the
    bucket key of each of those rows; ``None`` when there is no span."""
    ts = utc_series(df[ts_col], ts_col)
    valid = ts.dropna()
    if start is None and valid.empty or end is None and valid.empty:
        return None
    s = utc_timestamp(start, "start") if start is not None else pd.Timestamp(valid.min())
    # Without an explicit end the last event must fall inside the last bucket.
    e = (
        utc_timestamp(end, "end")
        if end is not None
        else max(s, pd.Timestamp(valid.max())) + pd.Timedelta(microseconds=1)
    )
    if start is None and e < s:
        return None  # an explicit end before all the data: nothing to show
    index = bucket_index(s, e, freq, tz)
    inside = ((ts >= s) & (ts < e)).to_numpy(dtype=bool) if e > s else (ts == s).to_numpy(dtype=bool)
    keys = pd.DatetimeIndex(bucket_keys(ts[inside], freq, tz)).as_unit("us")
    return index, inside, keys


def bucket_counts(
    df: pd.DataFrame,
    *,
    freq: str,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    ts_col: str = "ts",
    value: str | None = None,
    agg: Agg = "sum",
    count_col: str | None = None,
    tz: str = "UTC",
) -> pd.DataFrame:
    """Events per bucket over a complete index: columns ``ts, count`` and,
    when ``value`` is given, ``value`` aggregated with ``agg``.

    Rows outside ``[start, end)`` are ignored; when ``start``/``end`` are not
    given the data's span is used. Empty buckets have ``count`` 0 and
    ``value`` 0.0 for ``sum`` (NaN for the other aggregations). On rollups use
    ``ts_col="minute", count_col="count", value="value_sum"``. An empty frame
    without ``start``/``end`` gives an empty result.

    >>> ts = pd.to_datetime(["2024-05-01 10:00:10", "2024-05-01 10:00:50",
    ...                      "2024-05-01 10:02:00"], utc=True)
    >>> df = pd.DataFrame({"ts": ts, "value": [1.0, 2.0, 5.0]})
    >>> bucket_counts(df, freq="min", value="value")[["count", "value"]].to_dict("list")
    {'count': [2, 0, 1], 'value': [3.0, 0.0, 5.0]}
    """
    require_frame(df, "bucket_counts")
    require_columns(df, [ts_col, value, count_col], "bucket_counts")
    if agg not in ("sum", "mean", "min", "max", "median"):
        raise ValueError(f"bucket_counts: unknown agg {agg!r}")
    prepared = _prepare(df, ts_col, freq, start, end, tz)
    index = prepared[0] if prepared else pd.DatetimeIndex([], tz="UTC").as_unit("us")
    out = pd.DataFrame({"ts": index})
    if prepared is None:
        out["count"] = pd.Series([], dtype="int64")
        if value is not None:
            out["value"] = pd.Series([], dtype="float64")
        return out
    _, inside, keys = prepared
    w = weights(df, count_col).to_numpy()[inside]
    counts = pd.Series(w).groupby(keys).sum().reindex(index, fill_value=0)
    out["count"] = counts.to_numpy().astype("int64")
    if value is not None:
        vals = pd.Series(float_values(df, value)[inside])
        grouped = getattr(vals.groupby(keys), agg)()
        filled = grouped.reindex(index, fill_value=0.0 if agg == "sum" else np.nan)
        out["value"] = filled.to_numpy().astype("float64")
    return out


_ROLLUP_SUMS = ("count", "value_count", "value_sum", "dur_count", "dur_sum")
_ROLLUP_COLUMNS = [
    "ts",
    "count",
    "value_count",
    "value_sum",
    "value_min",
    "value_max",
    "value_mean",
    "dur_count",
    "dur_sum",
    "dur_min",
    "dur_max",
    "dur_mean",
]


def rollup_buckets(
    rollups: pd.DataFrame,
    *,
    freq: str,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    tz: str = "UTC",
) -> pd.DataFrame:
    """Re-bucket per-minute rollups to ``freq`` over a complete index.

    Columns ``ts, count, value_count, value_sum, value_min, value_max,
    value_mean, dur_count, dur_sum, dur_min, dur_max, dur_mean``: counts and
    sums are exact and zero-filled; min/max/mean are NaN for empty buckets.

    >>> r = pd.DataFrame({"minute": pd.to_datetime(["2024-05-01 10:00",
    ...     "2024-05-01 10:01"], utc=True), "count": [2, 3], "value_count": [2, 3],
    ...     "value_sum": [4.0, 6.0], "value_min": [1.0, 0.5], "value_max": [3.0, 4.0],
    ...     "dur_count": [0, 0], "dur_sum": [0.0, 0.0], "dur_min": [None, None],
    ...     "dur_max": [None, None]})
    >>> row = rollup_buckets(r, freq="h").iloc[0]
    >>> int(row["count"]), float(row["value_mean"]), float(row["value_min"])
    (5, 2.0, 0.5)
    """
    require_frame(rollups, "rollup_buckets")
    needed = ["minute", *_ROLLUP_SUMS, "value_min", "value_max", "dur_min", "dur_max"]
    require_columns(rollups, needed, "rollup_buckets")
    prepared = _prepare(rollups, "minute", freq, start, end, tz)
    if prepared is None:
        index = pd.DatetimeIndex([], tz="UTC").as_unit("us")
        inside = np.zeros(len(rollups), dtype=bool)
        keys = index
    else:
        index, inside, keys = prepared
    part = rollups.loc[inside, needed[1:]].apply(pd.to_numeric, errors="coerce")
    grouped = part.reset_index(drop=True).groupby(keys)
    out = pd.DataFrame({"ts": index})
    for col in _ROLLUP_SUMS:
        out[col] = grouped[col].sum().reindex(index, fill_value=0).to_numpy()
    for col in ("value_min", "dur_min"):
        out[col] = grouped[col].min().reindex(index).to_numpy().astype("float64")
    for col in ("value_max", "dur_max"):
        out[col] = grouped[col].max().reindex(index).to_numpy().astype("float64")
    for col in ("count", "value_count", "dur_count"):
        out[col] = out[col].astype("int64")
    for prefix in ("value", "dur"):
        total = out[f"{prefix}_sum"].astype("float64")
        n = out[f"{prefix}_count"].astype("float64")
        out[f"{prefix}_sum"] = total
        out[f"{prefix}_mean"] = total / n.where(n > 0)
    return out[_ROLLUP_COLUMNS]


def auto_bucket(start: TimeLike, end: TimeLike, *, max_points: int = 300) -> str:
    """Smallest bucket size from :data:`AUTO_CANDIDATES` that keeps the chart
    at or under ``max_points`` points (so roughly 60-300 for most spans).

    >>> s = pd.Timestamp("2024-05-01", tz="UTC")
    >>> auto_bucket(s, s + pd.Timedelta(hours=1)), auto_bucket(s, s + pd.Timedelta(days=7))
    ('30s', '1h')
    """
    s = utc_timestamp(start, "start")
    e = utc_timestamp(end, "end")
    span = max(float((e - s).total_seconds()), 0.0)
    for freq in AUTO_CANDIDATES:
        if math.ceil(span / bucket_seconds(freq)) <= max_points:
            return freq
    return AUTO_CANDIDATES[-1]
