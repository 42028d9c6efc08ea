"""Distribution figures of a measure (usually ``duration_ms``): count, min,
max, mean, median and percentiles, exact from raw rows or from rollups, and
histograms for charts.

Exact percentiles use linear interpolation between order statistics (numpy's
and pandas' default), so ``median == p50``. Rollup percentiles come from the
log-scale duration histogram and are within ``histogram.RELATIVE_ERROR``
(about 9 %) of the true value; min, max, mean and count from rollups are exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analytics._frames import float_values, require_columns, require_frame
from analytics.histogram import (
    RELATIVE_ERROR,
    STEPS_PER_OCTAVE,
    percentiles_from_hist,
)

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0)
_FIELDS = ["count", "min", "max", "mean", "median", "p50", "p90", "p95", "p99", "relative_error"]


@dataclass(frozen=True)
class Summary:
    """Distribution summary. All figures are ``None`` when ``count`` is 0.
    ``relative_error`` is 0.0 for exact figures and the histogram's bound for
    percentiles read from rollups."""

    count: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    median: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    relative_error: float = 0.0

    def as_dict(self) -> dict[str, float | int | None]:
        """Plain dict, in field order."""
        return asdict(self)


def _exact(values: np.ndarray) -> Summary:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return Summary(count=0)
    p50, p90, p95, p99 = (float(x) for x in np.percentile(v, PERCENTILES))
    return Summary(
        count=int(v.size),
        min=float(v.min()),
        max=float(v.max()),
        mean=float(v.mean()),
        median=p50,
        p50=p50,
        p90=p90,
        p95=p95,
        p99=p99,
    )


def summary_stats(df: pd.DataFrame, *, column: str = "duration_ms") -> Summary:
    """Exact summary of ``column`` over raw rows; NaN and missing values are
    ignored (they are not counted).

    >>> df = pd.DataFrame({"duration_ms": [10.0, 20.0, 30.0, 40.0, None]})
    >>> s = summary_stats(df)
    >>> s.count, s.min, s.mean, s.median, s.p90
    (4, 10.0, 25.0, 25.0, 37.0)
    """
    require_frame(df, "summary_stats")
    require_columns(df, [column], "summary_stats")
    return _exact(float_values(df, column))


def summary_stats_by(df: pd.DataFrame, *, by: str | Sequence[str], column: str = "duration_ms") -> pd.DataFrame:
    """:func:`summary_stats` per group (e.g. avg and p95 response time per
    endpoint): the ``by`` columns followed by the summary fields, one row per
    group, sorted by the group keys. Missing keys form no group.

    >>> df = pd.DataFrame({"entity": ["/a", "/a", "/b"], "duration_ms": [1.0, 3.0, 5.0]})
    >>> summary_stats_by(df, by="entity")[["entity", "count", "mean"]].to_dict("list")
    {'entity': ['/a', '/b'], 'count': [2, 1], 'mean': [2.0, 5.0]}
    """
    require_frame(df, "summary_stats_by")
    keys = [by] if isinstance(by, str) else list(by)
    require_columns(df, [*keys, column], "summary_stats_by")
    rows = []
    values = pd.Series(float_values(df, column), index=df.index)
    for key, part in values.groupby([df[k] for k in keys], sort=True, dropna=True):
        key_tuple = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key_tuple)), **_exact(part.to_numpy()).as_dict()})
    out = pd.DataFrame(rows, columns=[*keys, *_FIELDS])
    out["count"] = out["count"].astype("int64")
    for col in _FIELDS[1:]:
        out[col] = out[col].astype("float64")
    return out


def rollup_summary(
    rollups: pd.DataFrame,
    hist: pd.DataFrame | None = None,
    *,
    prefix: str = "dur",
) -> Summary:
    """Summary from rollups: count, min, max and mean exact from the
    ``{prefix}_count/_sum/_min/_max`` columns; percentiles from the duration
    histogram ``hist`` (``bucket, count`` rows, already filtered like the
    rollups) with ``relative_error`` set, clamped to the exact min and max.
    Without ``hist`` percentiles are None.

    >>> r = pd.DataFrame({"dur_count": [3, 1], "dur_sum": [30.0, 50.0],
    ...                   "dur_min": [9.6, 50.0], "dur_max": [10.4, 50.0]})
    >>> h = pd.DataFrame({"bucket": [13, 22], "count": [3, 1]})
    >>> s = rollup_summary(r, h)
    >>> s.count, s.min, s.max, s.mean, round(s.p50, 2), round(s.p99, 2)
    (4, 9.6, 50.0, 20.0, 10.37, 49.35)
    """
    require_frame(rollups, "rollup_summary")
    cols = [f"{prefix}_count", f"{prefix}_sum", f"{prefix}_min", f"{prefix}_max"]
    require_columns(rollups, cols, "rollup_summary")
    count = int(np.nansum(float_values(rollups, cols[0])))
    if count <= 0:
        return Summary(count=0)
    mins, maxs = float_values(rollups, cols[2]), float_values(rollups, cols[3])
    total = float(np.nansum(float_values(rollups, cols[1])))
    pct: dict[float, float | None] = {q: None for q in PERCENTILES}
    rel = 0.0
    if hist is not None:
        require_columns(hist, ["bucket", "count"], "rollup_summary")
        pct = percentiles_from_hist(hist, list(PERCENTILES))
        rel = RELATIVE_ERROR
    lo = float(np.nanmin(mins)) if np.isfinite(mins).any() else None
    hi = float(np.nanmax(maxs)) if np.isfinite(maxs).any() else None
    # A bucket midpoint can lie outside the exact range; the range is known.
    for q, v in pct.items():
        if v is not None:
            pct[q] = min(max(v, lo if lo is not None else v), hi if hi is not None else v)
    return Summary(
        count=count,
        min=lo,
        max=hi,
        mean=total / count,
        median=pct[50.0],
        p50=pct[50.0],
        p90=pct[90.0],
        p95=pct[95.0],
        p99=pct[99.0],
        relative_error=rel,
    )


def rollup_summary_by(
    rollups: pd.DataFrame,
    hist: pd.DataFrame | None = None,
    *,
    by: str | Sequence[str] = "entity",
    prefix: str = "dur",
) -> pd.DataFrame:
    """:func:`rollup_summary` per group (e.g. avg and p95 response time per
    endpoint over a long window): the ``by`` columns followed by the summary
    fields, one row per group of ``rollups``, sorted by the group keys.
    ``hist`` must carry the same ``by`` columns.

    >>> r = pd.DataFrame({"entity": ["/a", "/b"], "dur_count": [2, 1], "dur_sum": [3.0, 8.0],
    ...                   "dur_min": [1.0, 8.0], "dur_max": [2.0, 8.0]})
    >>> h = pd.DataFrame({"entity": ["/a", "/a", "/b"], "bucket": [0, 4, 12], "count": [1, 1, 1]})
    >>> out = rollup_summary_by(r, h)
    >>> out[["entity", "count", "mean", "p95"]].to_dict("list")
    {'entity': ['/a', '/b'], 'count': [2, 1], 'mean': [1.5, 8.0], 'p95': [2.0, 8.0]}
    """
    require_frame(rollups, "rollup_summary_by")
    keys = [by] if isinstance(by, str) else list(by)
    require_columns(rollups, keys, "rollup_summary_by")
    hist_groups: dict[tuple[object, ...], pd.DataFrame] = {}
    if hist is not None:
        require_columns(hist, [*keys, "bucket", "count"], "rollup_summary_by")
        hist_groups = {
            k if isinstance(k, tuple) else (k,): part for k, part in hist.groupby(keys, sort=False, dropna=True)
        }
    empty_hist = pd.DataFrame({"bucket": pd.Series([], dtype="int64"), "count": pd.Series([], dtype="int64")})
    rows = []
    for key, part in rollups.groupby(keys, sort=True, dropna=True):
        key_tuple = key if isinstance(key, tuple) else (key,)
        part_hist = hist_groups.get(key_tuple, empty_hist) if hist is not None else None
        stats = rollup_summary(part, part_hist, prefix=prefix)
        rows.append({**dict(zip(keys, key_tuple)), **stats.as_dict()})
    out = pd.DataFrame(rows, columns=[*keys, *_FIELDS])
    out["count"] = out["count"].astype("int64")
    for col in _FIELDS[1:]:
        out[col] = out[col].astype("float64")
    return out


def duration_histogram(
    df: pd.DataFrame,
    *,
    column: str = "duration_ms",
    bins: int | Sequence[float] = 20,
    log: bool = False,
) -> pd.DataFrame:
    """Histogram of raw values for a chart: ``left, right, count`` per bin.

    ``bins`` is a number of equal-width bins over [min, max] (equal-ratio
    bins when ``log=True``; non-positive values are then dropped) or explicit
    edges. Every value lands in a bin, the last bin includes its right edge.
    Empty input gives no rows.

    >>> df = pd.DataFrame({"duration_ms": [1.0, 2.0, 2.5, 4.0]})
    >>> duration_histogram(df, bins=3).to_dict("list")
    {'left': [1.0, 2.0, 3.0], 'right': [2.0, 3.0, 4.0], 'count': [1, 2, 1]}
    """
    require_frame(df, "duration_histogram")
    require_columns(df, [column], "duration_histogram")
    v = float_values(df, column)
    v = v[np.isfinite(v)]
    if log:
        v = v[v > 0]
    if v.size == 0:
        return pd.DataFrame(
            {
                "left": pd.Series([], dtype="float64"),
                "right": pd.Series([], dtype="float64"),
                "count": pd.Series([], dtype="int64"),
            }
        )
    if isinstance(bins, int):
        if bins < 1:
            raise ValueError("duration_histogram: bins must be >= 1")
        lo, hi = float(v.min()), float(v.max())
        if lo == hi:
            # A single distinct value still deserves a visible bar.
            lo, hi = (lo - 0.5, hi + 0.5) if not log else (lo / 1.5, hi * 1.5)
        edges = np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)
    else:
        edges = np.asarray(list(bins), dtype=np.float64)
        if edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError("duration_histogram: edges must increase")
    counts, edges = np.histogram(v, bins=edges)
    return pd.DataFrame({"left": edges[:-1], "right": edges[1:], "count": counts.astype("int64")})


def rollup_histogram(hist: pd.DataFrame) -> pd.DataFrame:
    """Chart bins from a rollup duration histogram: ``left, right, count`` per
    log-scale bucket present (several rows per bucket are summed).

    >>> h = pd.DataFrame({"bucket": [4, 0, 4], "count": [1, 2, 3]})
    >>> rollup_histogram(h).to_dict("list")
    {'left': [1.0, 2.0], 'right': [1.189207115002721, 2.378414230005442], 'count': [2, 4]}
    """
    require_frame(hist, "rollup_histogram")
    require_columns(hist, ["bucket", "count"], "rollup_histogram")
    counts = hist.groupby("bucket")["count"].sum().sort_index()
    b = counts.index.to_numpy(dtype=np.float64)
    return pd.DataFrame(
        {
            "left": 2 ** (b / STEPS_PER_OCTAVE),
            "right": 2 ** ((b + 1) / STEPS_PER_OCTAVE),
            "count": counts.to_numpy().astype("int64"),
        }
    )
