"""Period figures: revenue-style sums per hour/day/week (total, average per
period, peak) and the weekday x hour-of-day activity matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics._frames import (
    TimeLike,
    WindowLike,
    require_columns,
    require_frame,
    utc_series,
    weights,
)
from analytics.breakdowns import classify_statuses
from analytics.buckets import bucket_counts
from analytics.windows import filter_window

WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _empty_periods() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": pd.Series(pd.DatetimeIndex([], tz="UTC").as_unit("us")),
            "total": pd.Series([], dtype="float64"),
            "count": pd.Series([], dtype="int64"),
        }
    )


@dataclass(frozen=True)
class PeriodTotals:
    """Sums per period over a complete index (periods without rows are 0).
    ``average`` is ``total / n_periods``; the peak is the earliest period with
    the largest sum. Figures are ``None`` when there are no periods."""

    freq: str
    n_periods: int
    total: float
    average: float | None
    peak_period: pd.Timestamp | None
    peak_amount: float | None
    periods: pd.DataFrame = field(default_factory=_empty_periods, repr=False)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly dict (timestamps as ISO strings, periods as records)."""
        return {
            "freq": self.freq,
            "n_periods": self.n_periods,
            "total": self.total,
            "average": self.average,
            "peak_period": self.peak_period.isoformat() if self.peak_period is not None else None,
            "peak_amount": self.peak_amount,
            "periods": [
                {"period": pd.Timestamp(p).isoformat(), "total": float(t), "count": int(c)}
                for p, t, c in zip(self.periods["period"], self.periods["total"], self.periods["count"])
            ],
        }


def period_totals(
    df: pd.DataFrame,
    *,
    freq: str = "D",
    value: str = "value",
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    tz: str = "UTC",
    success_only: bool = False,
    status_col: str = "status",
    ts_col: str = "ts",
    count_col: str | None = None,
) -> PeriodTotals:
    """Sum of ``value`` per hour (``"h"``), day (``"D"``) or week (``"W"``,
    Monday start) in ``tz``, over ``[start, end)`` (default: the data's span).
    ``success_only`` keeps rows whose status is a success (see
    :mod:`analytics.breakdowns`). On rollups pass ``ts_col="minute",
    value="value_sum", count_col="count"``.

    >>> ts = pd.to_datetime(["2024-05-01 10:00", "2024-05-01 11:00",
    ...                      "2024-05-03 09:00"], utc=True)
    >>> df = pd.DataFrame({"ts": ts, "value": [10.0, 5.0, 30.0],
    ...                    "status": ["success", "failed", "success"]})
    >>> r = period_totals(df, freq="D", success_only=True)
    >>> r.n_periods, r.total, r.average, str(r.peak_period.date()), r.peak_amount
    (3, 40.0, 13.333333333333334, '2024-05-03', 30.0)
    """
    require_frame(df, "period_totals")
    require_columns(df, [ts_col, value, count_col], "period_totals")
    if success_only:
        require_columns(df, [status_col], "period_totals")
        df = df.loc[(classify_statuses(df[status_col]) == "success").to_numpy()]
    sums = bucket_counts(
        df, freq=freq, start=start, end=end, ts_col=ts_col, value=value, agg="sum", count_col=count_col, tz=tz
    )
    periods = pd.DataFrame({"period": sums["ts"], "total": sums["value"], "count": sums["count"]})
    if periods.empty:
        return PeriodTotals(freq, 0, 0.0, None, None, None, periods)
    totals = periods["total"].to_numpy()
    peak = int(np.argmax(totals))
    total = float(totals.sum())
    return PeriodTotals(
        freq=freq,
        n_periods=len(periods),
        total=total,
        average=total / len(periods),
        peak_period=pd.Timestamp(periods["period"].iloc[peak]),
        peak_amount=float(totals[peak]),
        periods=periods,
    )


def activity_matrix(
    df: pd.DataFrame,
    *,
    tz: str = "UTC",
    window: WindowLike | None = None,
    now: TimeLike | None = None,
    ts_col: str = "ts",
    count_col: str | None = None,
    value: str | None = None,
) -> pd.DataFrame:
    """Activity heatmap: 7 rows (index ``weekday``: Mon..Sun) x 24 columns
    (local hours 0..23 in ``tz``), zero-filled. Cells are event counts
    (``int64``), or sums of ``value`` (``float64``) when given.

    >>> ts = pd.to_datetime(["2024-05-06 09:15", "2024-05-06 09:45",
    ...                      "2024-05-12 23:30"], utc=True)  # Mon, Mon, Sun
    >>> m = activity_matrix(pd.DataFrame({"ts": ts}))
    >>> m.shape, int(m.loc["Mon", 9]), int(m.loc["Sun", 23]), int(m.to_numpy().sum())
    ((7, 24), 2, 1, 3)
    >>> int(activity_matrix(pd.DataFrame({"ts": ts}), tz="Asia/Tokyo").loc["Mon", 8])
    1
    """
    require_frame(df, "activity_matrix")
    require_columns(df, [ts_col, count_col, value], "activity_matrix")
    if window is not None:
        df = filter_window(df, window=window, now=now, ts_col=ts_col)
    local = utc_series(df[ts_col], ts_col).dt.tz_convert(tz)
    ok = local.notna().to_numpy()
    if value is not None:
        cell = pd.to_numeric(df[value], errors="coerce").fillna(0.0).astype("float64")
    else:
        cell = weights(df, count_col).astype("int64")
    grid = np.zeros((7, 24), dtype=cell.dtype)
    np.add.at(
        grid,
        (local.dt.day_of_week.to_numpy()[ok].astype(int), local.dt.hour.to_numpy()[ok].astype(int)),
        cell.to_numpy()[ok],
    )
    out = pd.DataFrame(grid, index=pd.Index(list(WEEKDAYS), name="weekday"), columns=pd.Index(range(24), name="hour"))
    return out
