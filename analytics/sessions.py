"""Session figures for the macro-sessions scenario: total boxes, duration,
average speed, current (trailing-window) speed and speed over time.

"Speed" is ``sum(value) / seconds`` (boxes per second when ``value`` holds
the boxes of each interaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics._frames import (
    TimeLike,
    WindowLike,
    empty_series_frame,
    float_values,
    require_columns,
    require_frame,
    to_timedelta,
    utc_series,
    utc_timestamp,
)
from analytics.buckets import auto_bucket, bucket_counts, bucket_seconds
from analytics.windows import current_rate


@dataclass(frozen=True)
class SessionSummary:
    """Figures of one session. Speeds are per second; ``None`` when the
    session has no duration to divide by (no events, or a single instant)."""

    events: int
    total: float
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    duration_seconds: float
    average_speed: float | None
    current_speed: float | None
    speed_window_seconds: float
    speed: pd.DataFrame = field(default_factory=empty_series_frame, repr=False)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly dict (timestamps as ISO strings, speed as records)."""
        speed = [
            {"ts": pd.Timestamp(t).isoformat(), "value": float(v)}
            for t, v in zip(self.speed["ts"], self.speed["value"])
        ]
        return {
            "events": self.events,
            "total": self.total,
            "start": self.start.isoformat() if self.start is not None else None,
            "end": self.end.isoformat() if self.end is not None else None,
            "duration_seconds": self.duration_seconds,
            "average_speed": self.average_speed,
            "current_speed": self.current_speed,
            "speed_window_seconds": self.speed_window_seconds,
            "speed": speed,
        }


def speed_over_time(
    df: pd.DataFrame,
    *,
    freq: str | None = None,
    value: str = "value",
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    ts_col: str = "ts",
) -> pd.DataFrame:
    """Series ``ts, value`` where value is the bucket's ``sum(value)`` divided
    by the bucket length in seconds; empty buckets are 0. ``freq`` defaults
    to :func:`analytics.buckets.auto_bucket` over the span.

    >>> ts = pd.to_datetime(["2024-05-01 10:00:10", "2024-05-01 10:01:10"], utc=True)
    >>> df = pd.DataFrame({"ts": ts, "value": [30.0, 60.0]})
    >>> speed_over_time(df, freq="min")["value"].tolist()
    [0.5, 1.0]
    """
    require_frame(df, "speed_over_time")
    require_columns(df, [ts_col, value], "speed_over_time")
    ts = utc_series(df[ts_col], ts_col).dropna()
    if ts.empty and (start is None or end is None):
        return empty_series_frame()
    lo = utc_timestamp(start, "start") if start is not None else pd.Timestamp(ts.min())
    hi = utc_timestamp(end, "end") if end is not None else pd.Timestamp(ts.max())
    size = freq or auto_bucket(lo, hi)
    counts = bucket_counts(df, freq=size, start=start, end=end, ts_col=ts_col, value=value, agg="sum")
    return pd.DataFrame({"ts": counts["ts"], "value": counts["value"] / bucket_seconds(size)})


def session_summary(
    df: pd.DataFrame,
    *,
    value: str = "value",
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    now: TimeLike | None = None,
    window: WindowLike = "10min",
    freq: str | None = None,
    ts_col: str = "ts",
) -> SessionSummary:
    """Summary of one session's events (the caller filters by session).

    The session runs from ``start`` (default: first event) to ``end``
    (default: last event). The current speed covers the trailing ``window``
    ending at ``now`` (default: the session end), clamped to the session
    start so a young session is not under-reported.

    >>> ts = pd.to_datetime(["2024-05-01 10:00", "2024-05-01 10:05",
    ...                      "2024-05-01 10:20"], utc=True)
    >>> df = pd.DataFrame({"ts": ts, "value": [6.0, 3.0, 3.0]})
    >>> s = session_summary(df)
    >>> s.total, s.duration_seconds, s.average_speed, s.current_speed
    (12.0, 1200.0, 0.01, 0.005)
    """
    require_frame(df, "session_summary")
    require_columns(df, [ts_col, value], "session_summary")
    win_seconds = float(to_timedelta(window).total_seconds())
    ts = utc_series(df[ts_col], ts_col)
    vals = float_values(df, value)
    valid = ts.dropna()
    lo = (
        utc_timestamp(start, "start") if start is not None else (pd.Timestamp(valid.min()) if not valid.empty else None)
    )
    hi = utc_timestamp(end, "end") if end is not None else (pd.Timestamp(valid.max()) if not valid.empty else None)
    if lo is None or hi is None:
        return SessionSummary(len(df), float(np.nansum(vals)), lo, hi, 0.0, None, None, win_seconds)
    if hi < lo:
        raise ValueError(f"session_summary: end {hi} is before start {lo}")
    inside = ((ts >= lo) & (ts <= hi)).to_numpy(dtype=bool)
    total = float(np.nansum(vals[inside]))
    duration = float((hi - lo).total_seconds())
    ref = utc_timestamp(now, "now") if now is not None else hi
    current: float | None = None
    if (ref - lo).total_seconds() > 0:
        current = current_rate(df.loc[inside], window=window, now=ref, since=lo, ts_col=ts_col, value=value)
    speed = speed_over_time(
        df.loc[inside], freq=freq, value=value, start=lo, end=hi + pd.Timedelta(microseconds=1), ts_col=ts_col
    )
    return SessionSummary(
        events=int(inside.sum()),
        total=total,
        start=lo,
        end=hi,
        duration_seconds=duration,
        average_speed=total / duration if duration > 0 else None,
        current_speed=current,
        speed_window_seconds=win_seconds,
        speed=speed,
    )
