"""Counts, sums and rates over trailing windows ("last 10 minutes", "today").

Works on raw event frames (one row per event, ``ts`` column) and on rollup
frames (one row per minute bucket): for rollups pass ``ts_col="minute"``,
``count_col="count"`` and ``value="value_sum"``. A rollup bucket is counted
when its minute start lies in the window, so rollup windows are exact to the
minute when ``now`` is on a minute boundary.

A trailing window is the closed interval ``[now - window, now]``. ``"today"``
starts at local midnight in ``tz`` (default UTC); ``"last_hour"`` is ``1h``.
When ``now`` is not given it defaults to the latest timestamp in the frame,
which keeps these functions pure (no clock reads).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics._frames import (
    TimeLike,
    WindowLike,
    require_columns,
    require_frame,
    to_timedelta,
    utc_series,
    utc_timestamp,
    weights,
)

#: Named trailing windows shown by the dashboards (1 minute to 7 days).
NAMED_WINDOWS: dict[str, pd.Timedelta] = {
    "1min": pd.Timedelta(minutes=1),
    "5min": pd.Timedelta(minutes=5),
    "10min": pd.Timedelta(minutes=10),
    "15min": pd.Timedelta(minutes=15),
    "30min": pd.Timedelta(minutes=30),
    "1h": pd.Timedelta(hours=1),
    "last_hour": pd.Timedelta(hours=1),
    "3h": pd.Timedelta(hours=3),
    "6h": pd.Timedelta(hours=6),
    "12h": pd.Timedelta(hours=12),
    "24h": pd.Timedelta(hours=24),
    "7d": pd.Timedelta(days=7),
}
DEFAULT_WINDOWS: tuple[str, ...] = ("1min", "10min", "1h", "today", "24h", "7d")


def window_bounds(window: WindowLike, *, now: TimeLike, tz: str = "UTC") -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start and end (both UTC, both inclusive) of a trailing window.

    ``window`` is a name from :data:`NAMED_WINDOWS`, ``"today"``, or any
    duration (``"90s"``, ``"2h"``, ``"3d"``, a ``timedelta``).

    >>> now = pd.Timestamp("2024-05-01 10:30", tz="UTC")
    >>> window_bounds("10min", now=now)[0]
    Timestamp('2024-05-01 10:20:00+0000', tz='UTC')
    >>> window_bounds("today", now=now, tz="America/New_York")[0]
    Timestamp('2024-05-01 04:00:00+0000', tz='UTC')
    """
    end = utc_timestamp(now, "now")
    if isinstance(window, str) and window.strip().lower() == "today":
        # Some zones skip midnight on DST days: the day then starts at 01:00.
        local_midnight = end.tz_convert(tz).floor("D", nonexistent="shift_forward", ambiguous=True)
        return local_midnight.tz_convert("UTC"), end
    if isinstance(window, str) and window in NAMED_WINDOWS:
        return end - NAMED_WINDOWS[window], end
    return end - to_timedelta(window), end


def resolve_now(df: pd.DataFrame, now: TimeLike | None, ts_col: str) -> pd.Timestamp | None:
    """``now`` in UTC, or the latest timestamp of ``df`` when not given
    (``None`` when both are absent).

    >>> df = pd.DataFrame({"ts": pd.to_datetime(["2024-05-01 10:00", "2024-05-01 10:25"], utc=True)})
    >>> resolve_now(df, None, "ts"), resolve_now(df.iloc[0:0], None, "ts")
    (Timestamp('2024-05-01 10:25:00+0000', tz='UTC'), None)
    """
    if now is not None:
        return utc_timestamp(now, "now")
    if df.empty:
        return None
    latest = utc_series(df[ts_col], ts_col).max()
    return None if latest is pd.NaT else pd.Timestamp(latest)


def filter_window(
    df: pd.DataFrame,
    *,
    window: WindowLike,
    now: TimeLike | None = None,
    ts_col: str = "ts",
    tz: str = "UTC",
) -> pd.DataFrame:
    """Rows of ``df`` whose timestamp lies in the trailing window (a copy).

    >>> ts = pd.to_datetime(["2024-05-01 10:00", "2024-05-01 10:25"], utc=True)
    >>> df = pd.DataFrame({"ts": ts, "value": [1.0, 2.0]})
    >>> filter_window(df, window="10min")["value"].tolist()
    [2.0]
    """
    require_frame(df, "filter_window")
    require_columns(df, [ts_col], "filter_window")
    ref = resolve_now(df, now, ts_col)
    if ref is None:
        return df.iloc[0:0].copy()
    start, end = window_bounds(window, now=ref, tz=tz)
    ts = utc_series(df[ts_col], ts_col)
    return df.loc[(ts >= start) & (ts <= end)].copy()


def window_summary(
    df: pd.DataFrame,
    *,
    windows: Sequence[WindowLike] = DEFAULT_WINDOWS,
    now: TimeLike | None = None,
    ts_col: str = "ts",
    count_col: str | None = None,
    value: str | None = None,
    tz: str = "UTC",
) -> pd.DataFrame:
    """One row per trailing window: ``window, start, end, seconds, count,
    value_sum, count_per_second, count_per_minute, value_per_second``.

    ``value_sum`` and ``value_per_second`` are NaN when ``value`` is None.
    With no ``now`` and an empty frame there is no reference time: the result
    has the columns and no rows.

    >>> ts = pd.to_datetime(["2024-05-01 10:00", "2024-05-01 10:25",
    ...                      "2024-05-01 10:29"], utc=True)
    >>> df = pd.DataFrame({"ts": ts, "value": [1.0, 2.0, 4.0]})
    >>> out = window_summary(df, windows=["10min", "1h"], value="value",
    ...                      now=pd.Timestamp("2024-05-01 10:30", tz="UTC"))
    >>> out[["window", "count", "value_sum", "count_per_minute"]].to_dict("list")
    {'window': ['10min', '1h'], 'count': [2, 3], 'value_sum': [6.0, 7.0], 'count_per_minute': [0.2, 0.05]}
    """
    require_frame(df, "window_summary")
    require_columns(df, [ts_col, count_col, value], "window_summary")
    ref = resolve_now(df, now, ts_col)
    rows: list[dict[str, object]] = []
    if ref is not None:
        ts = utc_series(df[ts_col], ts_col)
        w = weights(df, count_col)
        vals = pd.to_numeric(df[value], errors="coerce") if value is not None else None
        for window in windows:
            start, end = window_bounds(window, now=ref, tz=tz)
            mask = (ts >= start) & (ts <= end)
            seconds = float((end - start).total_seconds())
            count = int(w[mask].sum())
            vsum = float(vals[mask].sum()) if vals is not None else float("nan")
            rows.append(
                {
                    "window": str(window),
                    "start": start,
                    "end": end,
                    "seconds": seconds,
                    "count": count,
                    "value_sum": vsum,
                    "count_per_second": count / seconds if seconds > 0 else float("nan"),
                    "count_per_minute": 60.0 * count / seconds if seconds > 0 else float("nan"),
                    "value_per_second": vsum / seconds if seconds > 0 else float("nan"),
                }
            )
    columns = [
        "window",
        "start",
        "end",
        "seconds",
        "count",
        "value_sum",
        "count_per_second",
        "count_per_minute",
        "value_per_second",
    ]
    out = pd.DataFrame(rows, columns=columns)
    out["count"] = out["count"].astype("int64")
    for col in ("start", "end"):
        out[col] = pd.to_datetime(out[col], utc=True).dt.as_unit("us")
    return out


def current_rate(
    df: pd.DataFrame,
    *,
    window: WindowLike = "10min",
    now: TimeLike | None = None,
    since: TimeLike | None = None,
    ts_col: str = "ts",
    count_col: str | None = None,
    value: str | None = None,
) -> float:
    """Rate per second over the trailing window: ``sum(value) / seconds`` when
    ``value`` is given (e.g. boxes per second), else events per second.

    ``since`` clamps the window start (a session that began 3 minutes ago is
    measured over 3 minutes, not 10). Empty frames and zero-length windows
    give 0.0.

    >>> ts = pd.to_datetime(["2024-05-01 10:21", "2024-05-01 10:29"], utc=True)
    >>> df = pd.DataFrame({"ts": ts, "value": [300.0, 300.0]})
    >>> current_rate(df, value="value", now=pd.Timestamp("2024-05-01 10:30", tz="UTC"))
    1.0
    """
    require_frame(df, "current_rate")
    require_columns(df, [ts_col, count_col, value], "current_rate")
    ref = resolve_now(df, now, ts_col)
    if ref is None:
        return 0.0
    start, end = window_bounds(window, now=ref)
    if since is not None:
        start = max(start, utc_timestamp(since, "since"))
    seconds = float((end - start).total_seconds())
    if seconds <= 0 or df.empty:
        return 0.0
    ts = utc_series(df[ts_col], ts_col)
    mask = ((ts >= start) & (ts <= end)).to_numpy()
    if value is not None:
        total = float(np.nansum(pd.to_numeric(df[value], errors="coerce").to_numpy()[mask]))
    else:
        total = float(weights(df, count_col).to_numpy()[mask].sum())
    return total / seconds
