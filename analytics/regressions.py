"""Step (change-point) detection in per-run execution metrics: regressions
and improvements of a script's duration, memory or any named metric.

Steps come from the asv-style piecewise-constant fit of :mod:`analytics.potts`
(L1 cost, penalty per step chosen by an information criterion, small or
insignificant steps merged away). Segments are at least ``min_size`` runs
long (default 4), so one outlier - or two in a row - cannot create a step; the
cost is that a new level is reported once it has held for ``min_size`` runs.
Whether a step is a regression depends on ``higher_is_better`` (default
False: durations and memory, where lower is better).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics._frames import require_columns, require_frame, series_arrays, utc_series
from analytics.potts import fit_segments

STEP_COLUMNS = ["start_index", "start_ts", "before", "after", "size", "size_pct", "kind"]


def detect_steps(
    series: pd.DataFrame,
    *,
    higher_is_better: bool = False,
    min_size: int = 4,
    min_relative_size: float = 0.05,
    ts_col: str = "ts",
    value_col: str = "value",
) -> pd.DataFrame:
    """Steps of a per-run series (``ts, value``, one row per run): columns
    ``start_index`` (position of the first run at the new level in the
    time-sorted input), ``start_ts``, ``before`` and ``after`` (medians of the
    levels), ``size`` (after - before, in value units), ``size_pct``
    (relative to before; NaN when before is 0) and ``kind`` (``"regression"``
    when worse, ``"improvement"`` when better). Runs with a missing value are
    skipped but keep their position.

    >>> ts = pd.date_range("2024-05-01", periods=12, freq="h", tz="UTC")
    >>> s = pd.DataFrame({"ts": ts, "value": [1.0, 1.1, 0.9, 1.0, 1.0, 1.1,
    ...                                       1.5, 1.4, 1.6, 1.5, 1.5, 1.4]})
    >>> detect_steps(s)[["start_index", "before", "after", "size_pct", "kind"]].to_dict("records")
    [{'start_index': 6, 'before': 1.0, 'after': 1.5, 'size_pct': 50.0, 'kind': 'regression'}]
    """
    ts, vals = series_arrays(series, "detect_steps", ts_col, value_col)
    ok = np.flatnonzero(np.isfinite(vals))
    y = vals[ok]
    edges = fit_segments(y, min_size=min_size, min_relative_size=min_relative_size)
    rows = []
    starts = [0] + edges[:-1]
    for j in range(1, len(edges)):
        before = float(np.median(y[starts[j - 1] : edges[j - 1]]))
        after = float(np.median(y[starts[j] : edges[j]]))
        size = after - before
        worse = size < 0 if higher_is_better else size > 0
        pos = int(ok[starts[j]])
        rows.append(
            {
                "start_index": pos,
                "start_ts": ts.iloc[pos],
                "before": before,
                "after": after,
                "size": size,
                "size_pct": size / abs(before) * 100.0 if before != 0 else np.nan,
                "kind": "regression" if worse else "improvement",
            }
        )
    out = pd.DataFrame(rows, columns=STEP_COLUMNS)
    out["start_index"] = out["start_index"].astype("int64")
    out["start_ts"] = utc_series(out["start_ts"], "start_ts").dt.as_unit("us")
    for col in ("before", "after", "size", "size_pct"):
        out[col] = out[col].astype("float64")
    out["kind"] = out["kind"].astype(object)
    return out


def step_fit(
    series: pd.DataFrame,
    *,
    min_size: int = 4,
    min_relative_size: float = 0.05,
    ts_col: str = "ts",
    value_col: str = "value",
) -> pd.DataFrame:
    """The fitted levels for a chart overlay: ``ts, value, level, segment``
    per run (time order); runs with a missing value take their segment's level.

    >>> ts = pd.date_range("2024-05-01", periods=8, freq="h", tz="UTC")
    >>> s = pd.DataFrame({"ts": ts, "value": [1.0] * 4 + [3.0] * 4})
    >>> step_fit(s)["level"].tolist()
    [1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0]
    """
    ts, vals = series_arrays(series, "step_fit", ts_col, value_col)
    ok = np.flatnonzero(np.isfinite(vals))
    y = vals[ok]
    edges = fit_segments(y, min_size=min_size, min_relative_size=min_relative_size)
    segment = np.zeros(vals.size, dtype=np.int64)
    level = np.full(vals.size, np.nan)
    a = 0
    for j, b in enumerate(edges):
        # A run with a missing value belongs to the segment before it.
        first = int(ok[a]) if j else 0
        last = int(ok[b]) if b < y.size else vals.size
        segment[first:last] = j
        level[first:last] = float(np.median(y[a:b]))
        a = b
    return pd.DataFrame({"ts": ts, "value": vals, "level": level, "segment": segment})


def detect_regressions(
    df: pd.DataFrame,
    *,
    by: str | Sequence[str] = "script",
    ts_col: str = "started_at",
    value_col: str = "duration_ms",
    higher_is_better: bool = False,
    min_size: int = 4,
    min_relative_size: float = 0.05,
) -> pd.DataFrame:
    """:func:`detect_steps` per group: the ``by`` columns followed by the step
    columns, sorted by group then ``start_ts``. Executions frame: the defaults;
    metrics frame: ``by=["script", "name"], value_col="value"``.

    >>> ts = pd.date_range("2024-05-01", periods=10, freq="h", tz="UTC")
    >>> runs = pd.DataFrame({"script": ["a.py"] * 10, "started_at": ts,
    ...                      "duration_ms": [100.0] * 5 + [80.0] * 5})
    >>> detect_regressions(runs)[["script", "start_index", "kind"]].to_dict("records")
    [{'script': 'a.py', 'start_index': 5, 'kind': 'improvement'}]
    """
    require_frame(df, "detect_regressions")
    keys = [by] if isinstance(by, str) else list(by)
    require_columns(df, [*keys, ts_col, value_col], "detect_regressions")
    parts = []
    for key, group in df.groupby(keys, sort=True, dropna=True):
        steps = detect_steps(
            group,
            higher_is_better=higher_is_better,
            min_size=min_size,
            min_relative_size=min_relative_size,
            ts_col=ts_col,
            value_col=value_col,
        )
        for name, v in zip(keys, key if isinstance(key, tuple) else (key,)):
            steps.insert(keys.index(name), name, v)
        parts.append(steps)
    if not parts:
        empty = detect_steps(
            pd.DataFrame({"ts": pd.Series([], dtype="datetime64[us, UTC]"), "value": pd.Series([], dtype="float64")})
        )
        for i, name in enumerate(keys):
            empty.insert(i, name, pd.Series([], dtype=object))
        return empty
    return pd.concat(parts, ignore_index=True)
