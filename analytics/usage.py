"""Per-entity, per-bucket usage history for the tool-usage scenario: for each
tool and minute, how many events, which users, and how many were flagged
(e.g. overage borrows) - the shape its live charts and tooltips expect::

    [{"timestamp": "2025-11-04T10:30:00Z", "count": 3,
      "users": ["alice", "bob"], "overage_count": 1}, ...]
"""

from __future__ import annotations

import math

import pandas as pd

from analytics._frames import (
    TimeLike,
    WindowLike,
    require_columns,
    require_frame,
    utc_series,
)
from analytics.buckets import bucket_index, bucket_keys
from analytics.windows import filter_window, resolve_now, window_bounds

HISTORY_COLUMNS = ["entity", "timestamp", "count", "users", "overage_count"]


def _truthy(attrs: object, key: str) -> bool:
    if not isinstance(attrs, dict):
        return False
    flag = attrs.get(key)
    if isinstance(flag, str):
        # Flags arrive from JSON clients as "true"/"1" as often as true.
        return flag.strip().lower() in {"1", "true", "yes", "y", "on"}
    if isinstance(flag, float) and math.isnan(flag):
        return False
    return bool(flag)


def _iso(ts: pd.Timestamp) -> str:
    return str(ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"))


def minute_history(
    df: pd.DataFrame,
    *,
    window: WindowLike | None = None,
    now: TimeLike | None = None,
    freq: str = "1min",
    flag_key: str = "overage",
    complete: bool = False,
    entity_col: str = "entity",
    user_col: str = "user",
    attrs_col: str = "attrs",
    ts_col: str = "ts",
) -> pd.DataFrame:
    """One row per entity and bucket: ``entity, timestamp`` (ISO 8601 UTC with
    ``Z``), ``count``, ``users`` (sorted unique names, a list) and
    ``overage_count`` (rows whose ``attrs[flag_key]`` is truthy). Sorted by
    entity then time. The caller filters event types (e.g. borrows only).

    Only buckets with events appear unless ``complete=True``, which fills every
    bucket of the span (or of the window) for every entity with zeros.
    ``frame.groupby("entity")`` then ``to_dict("records")`` gives the scenario's
    per-tool lists; see :func:`history_by_entity`.

    >>> ts = pd.to_datetime(["2025-11-04 10:30:05", "2025-11-04 10:30:40",
    ...                      "2025-11-04 10:30:50"], utc=True)
    >>> df = pd.DataFrame({"ts": ts, "entity": ["vec"] * 3,
    ...                    "user": ["bob", "alice", "bob"],
    ...                    "attrs": [{"overage": True}, None, {"overage": False}]})
    >>> minute_history(df).drop(columns="entity").to_dict("records")
    [{'timestamp': '2025-11-04T10:30:00Z', 'count': 3, 'users': ['alice', 'bob'], 'overage_count': 1}]
    """
    require_frame(df, "minute_history")
    require_columns(df, [ts_col, entity_col, user_col, attrs_col], "minute_history")
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None
    if window is not None:
        ref = resolve_now(df, now, ts_col)
        if ref is not None:
            lo, hi = window_bounds(window, now=ref)
            span = (lo, hi + pd.Timedelta(microseconds=1))
        df = filter_window(df, window=window, now=now, ts_col=ts_col)
    ts = utc_series(df[ts_col], ts_col)
    keep = (ts.notna() & df[entity_col].notna()).to_numpy()
    work = pd.DataFrame(
        {
            "entity": df[entity_col].to_numpy()[keep],
            "bucket": pd.DatetimeIndex(bucket_keys(ts[keep], freq)).as_unit("us"),
            "user": df[user_col].to_numpy()[keep],
            "flag": [_truthy(a, flag_key) for a in df[attrs_col].to_numpy()[keep]],
        }
    )
    rows: list[dict[str, object]] = []
    for (entity, bucket), part in work.groupby(["entity", "bucket"], sort=True):
        users = sorted({str(u) for u in part["user"] if pd.notna(u) and str(u) != ""})
        rows.append(
            {
                "entity": str(entity),
                "bucket": pd.Timestamp(bucket),
                "count": len(part),
                "users": users,
                "overage_count": int(part["flag"].sum()),
            }
        )
    out = pd.DataFrame(rows, columns=["entity", "bucket", "count", "users", "overage_count"])
    if complete and not out.empty:
        if span is None:
            span = (out["bucket"].min(), out["bucket"].max() + pd.Timedelta(microseconds=1))
        index = bucket_index(span[0], span[1], freq)
        filled = []
        for entity, part in out.groupby("entity", sort=True):
            part = part.set_index(pd.DatetimeIndex(part["bucket"]).as_unit("us")).reindex(index)
            part["entity"] = entity
            part["count"] = part["count"].fillna(0)
            part["overage_count"] = part["overage_count"].fillna(0)
            part["users"] = [u if isinstance(u, list) else [] for u in part["users"]]
            part["bucket"] = index
            filled.append(part.reset_index(drop=True))
        out = pd.concat(filled, ignore_index=True)
    out["count"] = out["count"].astype("int64")
    out["overage_count"] = out["overage_count"].astype("int64")
    out["entity"] = out["entity"].astype(object)
    out["users"] = out["users"].astype(object)
    out["timestamp"] = [_iso(pd.Timestamp(b)) for b in out["bucket"]]
    return out[HISTORY_COLUMNS].reset_index(drop=True)


def history_by_entity(history: pd.DataFrame) -> dict[str, list[dict[str, object]]]:
    """``{entity: [record, ...]}`` from a :func:`minute_history` frame, the
    scenario's ``tool_metrics`` payload.

    >>> h = pd.DataFrame({"entity": ["a"], "timestamp": ["2025-11-04T10:30:00Z"],
    ...                   "count": [1], "users": [["bob"]], "overage_count": [0]})
    >>> history_by_entity(h)
    {'a': [{'timestamp': '2025-11-04T10:30:00Z', 'count': 1, 'users': ['bob'], 'overage_count': 0}]}
    """
    require_frame(history, "history_by_entity")
    require_columns(history, HISTORY_COLUMNS, "history_by_entity")
    out: dict[str, list[dict[str, object]]] = {}
    for entity, part in history.groupby("entity", sort=True):
        records = part.drop(columns="entity").to_dict("records")
        out[str(entity)] = [
            {
                "timestamp": str(r["timestamp"]),
                "count": int(r["count"]),
                "users": list(r["users"]),
                "overage_count": int(r["overage_count"]),
            }
            for r in records
        ]
    return out
