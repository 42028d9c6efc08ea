"""Shared input checks and conversions for the analytics functions.

Private: the public modules call these on entry so that every function fails
the same way (``ValueError`` naming the function and the problem) on bad input,
and so that "timezone-aware UTC everywhere" is enforced in one place.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

TimeLike: TypeAlias = "pd.Timestamp | dt.datetime | str"
WindowLike: TypeAlias = "pd.Timedelta | dt.timedelta | str"

_DAYS_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*d\s*$", re.IGNORECASE)
_WEEKS_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*w\s*$", re.IGNORECASE)


def require_frame(df: object, where: str) -> pd.DataFrame:
    """Return ``df`` if it is a DataFrame, else raise ``TypeError``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}")
    return df


def require_columns(df: pd.DataFrame, columns: Iterable[str | None], where: str) -> None:
    """Raise ``ValueError`` listing the ``columns`` missing from ``df``."""
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise ValueError(f"{where}: missing column(s) {', '.join(missing)}")


def utc_timestamp(value: TimeLike, name: str = "timestamp") -> pd.Timestamp:
    """A tz-aware timestamp converted to UTC; naive input is refused because
    guessing its zone is how off-by-some-hours bugs start."""
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"{name} is missing (NaT)")
    if ts.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {ts}")
    return ts.tz_convert("UTC")


def utc_series(values: pd.Series, name: str = "ts") -> pd.Series:
    """A datetime Series in UTC. Strings and tz-aware datetimes are accepted;
    naive datetimes are refused (see :func:`utc_timestamp`)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        raise ValueError(f"column {name!r} must be timezone-aware (datetime64[.., UTC])")
    if len(values) == 0:
        return pd.Series(pd.DatetimeIndex([], tz="UTC"), index=values.index, name=values.name)
    try:
        converted = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"column {name!r} holds values that are not timestamps") from exc
    return converted


def to_timedelta(window: WindowLike, name: str = "window") -> pd.Timedelta:
    """A positive Timedelta from ``"10min"``, ``"1h"``, ``"7d"``, ``"2w"`` or a
    timedelta. Lower-case ``d``/``w`` are accepted because users type them."""
    if isinstance(window, str):
        m = _DAYS_RE.match(window)
        w = _WEEKS_RE.match(window)
        if m:
            td = pd.Timedelta(days=float(m.group(1)))
        elif w:
            td = pd.Timedelta(weeks=float(w.group(1)))
        else:
            try:
                td = pd.Timedelta(window)
            except ValueError as exc:
                raise ValueError(f"{name}: cannot read {window!r} as a duration") from exc
    else:
        td = pd.Timedelta(window)
    if td is pd.NaT or td <= pd.Timedelta(0):
        raise ValueError(f"{name} must be a positive duration, got {window!r}")
    return td


def float_values(df: pd.DataFrame, column: str) -> npt.NDArray[np.float64]:
    """Column as float64 numpy array; unparseable entries become NaN."""
    return np.asarray(pd.to_numeric(df[column], errors="coerce"), dtype=np.float64)


def weights(df: pd.DataFrame, count_col: str | None) -> pd.Series:
    """Per-row weight: 1 for raw events, the ``count`` column for rollups."""
    if count_col is None:
        return pd.Series(np.ones(len(df), dtype=np.int64), index=df.index)
    return pd.to_numeric(df[count_col], errors="coerce").fillna(0)


def empty_series_frame() -> pd.DataFrame:
    """The empty ``ts, value`` series frame with the conventional dtypes."""
    return pd.DataFrame(
        {
            "ts": pd.Series(pd.DatetimeIndex([], tz="UTC").as_unit("us")),
            "value": pd.Series([], dtype="float64"),
        }
    )


def series_arrays(
    series: pd.DataFrame, where: str, ts_col: str = "ts", value_col: str = "value"
) -> tuple[pd.Series, npt.NDArray[np.float64]]:
    """Time-sorted UTC timestamps and float values of a ``ts, value`` series
    frame. Rows without a timestamp are dropped; rows whose value is missing
    are kept (callers decide what NaN means)."""
    require_frame(series, where)
    require_columns(series, [ts_col, value_col], where)
    ts = utc_series(series[ts_col], ts_col)
    has_ts = ts.notna().to_numpy(dtype=bool)
    order = np.flatnonzero(has_ts)[np.argsort(ts[has_ts].to_numpy(), kind="stable")]
    ts_sorted = ts.iloc[order].reset_index(drop=True)
    vals = float_values(series, value_col)[order]
    return ts_sorted, vals
