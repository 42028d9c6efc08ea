"""The Explore query: filters + metric + group-by + bucket -> rows.

Rollups answer whenever they can (filters and group-by on source, type,
entity or status; buckets of a minute or more): the work is then
O(buckets), whatever the number of events. Everything else (users, attrs,
sub-minute buckets, percentiles of ``value``) reads raw events, bounded by
``MAX_RAW_ROWS``.

A grouped chart draws the top groups only (:func:`run_top`): ranked first
over the whole range (in SQL, one row per group), then only those groups
are fetched per bucket, and the rest become one "other" series when the
metric adds up over groups.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from analytics.breakdowns import MISSING_LABEL, classify_statuses
from analytics.buckets import bucket_index, bucket_keys, bucket_seconds
from analytics.histogram import hist_percentiles
from core.charts import ADDITIVE
from core.errors import TooLarge
from core.filters import DIMENSIONS
from core.query import BUCKETS as BUCKETS  # re-exported: the pages and jobs read them here
from core.query import FIELDS as FIELDS
from core.query import METRICS as METRICS
from core.query import Query as Query
from data import queries

MAX_RAW_ROWS = 500_000
OTHER_LABEL = "other"
_WEEK_OFFSET = 4 * 86400  # 1970-01-01 was a Thursday; weeks start on Monday


class QueryTooLarge(TooLarge):
    pass


def run(conn: Connection, q: Query) -> pd.DataFrame:
    """Rows with ``bucket`` (when bucketed), ``group`` (when grouped) and ``value``."""
    if q.uses_rollups():
        df = _from_rollups(conn, q)
    elif q.counts_in_sql():
        df = _counts_in_sql(conn, q)
    else:
        df = _from_events(conn, q)
    if q.group_by and len(df):
        # Rollups keep a missing entity/status as '': label it as raw events do.
        df["group"] = df["group"].replace("", MISSING_LABEL)
    cols = (["bucket"] if q.freq else []) + (["group"] if q.group_by else []) + ["value"]
    df = df[cols].sort_values(cols[:-1] or ["value"], ascending=bool(cols[:-1])).reset_index(drop=True)
    return df


def run_top(conn: Connection, q: Query, n: int) -> tuple[pd.DataFrame, int]:
    """The rows of ``q`` for its ``n`` largest groups, largest first, and
    how many groups were left out of them.

    Groups rank by their total over the whole range: the metric's own for a
    count, rate or sum, the number of events for any other metric. For a
    count, rate or sum the left-out groups are summed into one series named
    ``other`` (the whole, ungrouped, minus the top groups, per bucket); a
    mean, percentile, minimum, maximum or success rate of the rest is no sum
    of theirs, so they are left out and the caller says so.
    """
    if not q.group_by:
        return run(conn, q), 0
    totals = group_totals(conn, q)
    if len(totals) <= n:
        return run(conn, q), 0
    top = list(totals.index[:n])
    only = restricted(q, top)
    fetched = run(conn, only)
    shown = fetched[fetched["group"].isin(top)]
    if q.metric in ADDITIVE:
        label = OTHER_LABEL if OTHER_LABEL not in top else f"({OTHER_LABEL})"
        if only == q:  # every group was fetched: the rest is summed from them
            keys = ["bucket"] if q.freq else []
            others = fetched[~fetched["group"].isin(top)]
            rest = (
                others.groupby(keys)["value"].sum().reset_index()
                if keys
                else pd.DataFrame({"value": [others["value"].sum()]})
            ).assign(group=label)
        else:
            rest = _rest(run(conn, dataclasses.replace(q, group_by=None)), shown, label)
        cols = list(shown.columns)
        shown = pd.concat([shown, rest[cols]], ignore_index=True) if len(rest) else shown
        if q.metric == "count":
            shown = shown.astype({"value": "int64"})
    # Largest group first (legend and table alike), the rest last.
    rank = shown["group"].map({g: i for i, g in enumerate(top)}).fillna(len(top))
    keys = ["_rank"] + (["bucket"] if q.freq else [])
    shown = shown.assign(_rank=rank).sort_values(keys, kind="stable").drop(columns="_rank")
    return shown.reset_index(drop=True), len(totals) - n


def group_totals(conn: Connection, q: Query) -> pd.Series:
    """Each group's total over the range of ``q`` (see :func:`run_top`),
    largest first (ties by name)."""
    assert q.group_by
    rank = dataclasses.replace(q, bucket="none", metric="sum" if q.metric == "sum" else "count")
    if rank.metric == "count" and not rank.uses_rollups() and rank.group_by in DIMENSIONS and rank.attr_key is None:
        # Count in the database: one row per group (and per half of the range), not every event.
        df = queries.event_counts(
            conn,
            since=q.since,
            until=q.until,
            bucket_seconds=int(_span_seconds(q)) + 1,
            filters=q.filters,
            group_by=rank.group_by,
        )
        df["group"] = df["group"].astype(str).replace("", MISSING_LABEL)
        totals = df.groupby("group")["count"].sum().astype("float64")
    else:
        df = run(conn, rank)
        totals = df.set_index("group")["value"].astype("float64").fillna(0.0)
    order = sorted(totals.index, key=lambda g: (-totals[g], str(g)))
    return totals.reindex(order)


def restricted(q: Query, groups: list[str]) -> Query:
    """``q`` restricted to ``groups`` when the database can filter on them;
    the group of events without the dimension (``(none)``) is asked for as
    ``""``, which a filter reads as "missing" (empty or null).

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 12, 1, tzinfo=timezone.utc)
    >>> restricted(Query(since=t, until=t, group_by="entity"), ["a", "(none)"]).filters.entity
    ('a', '')
    """
    if q.group_by not in DIMENSIONS:
        return q
    wanted = tuple("" if g == MISSING_LABEL else g for g in groups)
    filters = dataclasses.replace(q.filters, **{q.group_by: wanted})
    return dataclasses.replace(q, filters=filters)


def answer(conn: Connection, q: Query) -> pd.DataFrame:
    """The rows of ``q``: its ``top`` largest groups and "other" when it asks for them, else every row."""
    return run_top(conn, q, q.top)[0] if q.top else run(conn, q)


def _rest(whole: pd.DataFrame, shown: pd.DataFrame, label: str) -> pd.DataFrame:
    """The whole minus the shown groups, per bucket (or over the range)."""
    if "bucket" in whole.columns:
        parts = shown.groupby("bucket")["value"].sum()
        total = whole.set_index("bucket")["value"]
        rest = (total - parts.reindex(total.index, fill_value=0)).reset_index()
    else:
        rest = pd.DataFrame({"value": [float(whole["value"].sum()) - float(shown["value"].sum())]})
    scale = max(1.0, float(whole["value"].abs().max() or 0.0)) if len(whole) else 1.0
    rest = rest[rest["value"].abs() > 1e-9 * scale]  # float residue of a subtraction is no event
    return rest.assign(group=label)


def bucket_starts(q: Query) -> list[str]:
    """Every bucket of ``q``'s range (ISO 8601, as :func:`to_records` writes
    them), so that a chart shows the buckets without rows; none unbucketed."""
    freq = q.freq
    if not freq:
        return []
    return [t.isoformat() for t in bucket_index(q.since, q.until, freq, q.tz)]


def _span_seconds(q: Query) -> float:
    return (q.until - q.since).total_seconds()


def _rate_divisor(q: Query) -> float:
    """Seconds per bucket (or of the whole range) for the ``rate`` metric (per minute)."""
    seconds = bucket_seconds(q.freq) if q.freq else _span_seconds(q)
    return max(seconds, 1.0) / 60.0


def _from_rollups(conn: Connection, q: Query) -> pd.DataFrame:
    freq = q.freq
    step = int(bucket_seconds(freq)) if freq else None
    group = (q.group_by,) if q.group_by else ()
    if q.metric == "success_rate":
        dims = tuple(dict.fromkeys((*group, "status")))  # grouping by status itself must not repeat the column
        df = queries.rollup_totals(
            conn,
            since=q.since,
            until=q.until,
            filters=q.filters,
            group_by=dims,
            bucket_seconds=step,
            bucket_offset=_offset(step),
        )
        df["outcome"] = classify_statuses(df["status"].replace("", None)) if len(df) else pd.Series(dtype=object)
        return _success(df.rename(columns={q.group_by: "group"} if q.group_by else {}), freq, bool(group))
    if q.metric.startswith("p"):
        hist = queries.hist_totals(
            conn,
            since=q.since,
            until=q.until,
            filters=q.filters,
            group_by=group,
            bucket_seconds=step,
            bucket_offset=_offset(step),
        )
        keys = (["time"] if step else []) + list(group)
        if hist.empty:
            return _empty(freq, bool(group))
        out = grouped_percentile(hist, keys, float(q.metric[1:]))
        return out.rename(columns={"time": "bucket", **({q.group_by: "group"} if q.group_by else {})})
    prefix = "dur" if q.field == "duration_ms" else "value"
    needed = {"count": ("count",), "rate": ("count",), "avg": (f"{prefix}_sum", f"{prefix}_count")}.get(
        q.metric, (f"{prefix}_{q.metric}",)
    )
    df = queries.rollup_totals(
        conn,
        since=q.since,
        until=q.until,
        filters=q.filters,
        group_by=group,
        bucket_seconds=step,
        bucket_offset=_offset(step),
        columns=needed,
    )
    if df.empty:
        values = pd.Series(dtype="float64")
    elif q.metric == "count":
        values = df["count"]
    elif q.metric == "rate":
        values = df["count"] / _rate_divisor(q)
    elif q.metric == "avg":
        values = df[f"{prefix}_sum"] / df[f"{prefix}_count"].replace(0, np.nan)
    else:  # sum, min, max
        values = df[f"{prefix}_{q.metric}"]
    out = df.assign(value=values)
    if q.group_by:
        out = out.rename(columns={q.group_by: "group"})
    return out


def grouped_percentile(hist: pd.DataFrame, keys: list[str], pct: float) -> pd.DataFrame:
    """The ``pct``-th percentile of each group of histogram rows (``keys``, ``bucket``,
    ``count``): one row per group in key order, ``value`` NaN where it counts nothing;
    ``percentiles_from_hist`` of each group, computed for all of them at once.

    >>> h = pd.DataFrame({"time": [1, 1, 2], "bucket": [0, 8, 4], "count": [50, 50, 7]})
    >>> grouped_percentile(h, ["time"], 50).round(2).to_dict("records")
    [{'time': 1, 'value': 1.09}, {'time': 2, 'value': 2.18}]
    """
    buckets = hist["bucket"].to_numpy(dtype=np.int64)
    counts = pd.to_numeric(hist["count"]).to_numpy(dtype=np.float64)
    if not keys:
        values, _ = hist_percentiles(np.zeros(len(hist), dtype=np.int64), buckets, counts, 1, pct)
        return pd.DataFrame({"value": values})
    grouped = hist.groupby(keys, sort=True)
    ids = grouped.ngroup().fillna(-1).to_numpy(dtype=np.int64)
    kept = ids >= 0  # rows of a NaN key belong to no group, as in a groupby
    values, _ = hist_percentiles(ids[kept], buckets[kept], counts[kept], grouped.ngroups, pct)
    return grouped.size().index.to_frame(index=False).assign(value=values)


def _offset(step: int | None) -> int:
    return _WEEK_OFFSET if step == 7 * 86400 else 0


def _success(df: pd.DataFrame, freq: str | None, grouped: bool) -> pd.DataFrame:
    keys = (["bucket"] if freq else []) + (["group"] if grouped else [])
    if df.empty:
        return _empty(freq, grouped)
    df = df.assign(
        ok=np.where(df["outcome"] == "success", df["count"], 0),
        bad=np.where(df["outcome"] == "failure", df["count"], 0),
    )
    agg = (
        df.groupby(keys, sort=True)[["ok", "bad"]].sum().reset_index() if keys else df[["ok", "bad"]].sum().to_frame().T
    )
    decided = agg["ok"] + agg["bad"]
    agg["value"] = np.where(decided > 0, 100.0 * agg["ok"] / decided.replace(0, 1), np.nan)
    return agg


def _counts_in_sql(conn: Connection, q: Query) -> pd.DataFrame:
    freq = q.freq
    assert freq is not None
    df = queries.event_counts(
        conn,
        since=q.since,
        until=q.until,
        bucket_seconds=int(bucket_seconds(freq)),
        filters=q.filters,
        group_by=q.group_by,
    )
    if df.empty:
        return _empty(freq, bool(q.group_by))
    if q.group_by:
        df["group"] = df["group"].astype(str).replace("", MISSING_LABEL)
    df["value"] = df.pop("count").astype("float64") / (_rate_divisor(q) if q.metric == "rate" else 1.0)
    return df


def _empty(freq: str | None, grouped: bool) -> pd.DataFrame:
    cols = (["bucket"] if freq else []) + (["group"] if grouped else []) + ["value"]
    return pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else object) for c in cols})


def _from_events(conn: Connection, q: Query) -> pd.DataFrame:
    df = queries.events_frame(
        conn,
        since=q.since,
        until=q.until,
        filters=q.filters,
        limit=MAX_RAW_ROWS + 1,
        with_attrs=q.attr_key is not None or (q.group_by or "").startswith("attrs."),
    )
    if len(df) > MAX_RAW_ROWS:
        raise QueryTooLarge(f"more than {MAX_RAW_ROWS:,} events match; narrow the time range or the filters")
    if q.attr_key:
        df = df[[attr_match(a, q.attr_key, q.attr_value) for a in df["attrs"]]]
    freq = q.freq
    keys: list[str] = []
    work = df.copy()
    if freq:
        work["bucket"] = bucket_keys(work["ts"], freq, q.tz) if len(work) else pd.Series(dtype="datetime64[us, UTC]")
        keys.append("bucket")
    if q.group_by:
        if q.group_by.startswith("attrs."):
            key = q.group_by.removeprefix("attrs.")
            work["group"] = [_attr(a, key) for a in work.get("attrs", pd.Series([None] * len(work)))]
        else:
            work["group"] = work[q.group_by]
        work["group"] = work["group"].fillna(MISSING_LABEL).astype(str).replace("", MISSING_LABEL)
        keys.append("group")
    if work.empty:
        return _empty(freq, bool(q.group_by))
    if q.metric == "success_rate":
        work["outcome"] = classify_statuses(work["status"])
        work["count"] = 1
        return _success(work, freq, bool(q.group_by))
    field = work[q.field]
    agg: dict[str, Any] = {
        "count": ("id", "count"),
        "rate": ("id", "count"),
        "sum": (q.field, "sum"),
        "avg": (q.field, "mean"),
        "min": (q.field, "min"),
        "max": (q.field, "max"),
        "unique_users": ("user", "nunique"),
    }
    if q.metric in agg:
        col, how = agg[q.metric]
        grouped = (
            work.groupby(keys, sort=True)[col].agg(how).reset_index()
            if keys
            else pd.DataFrame({col: [work[col].agg(how)]})
        )
        grouped = grouped.rename(columns={col: "value"})
        if q.metric == "rate":
            grouped["value"] = grouped["value"] / _rate_divisor(q)
        return grouped
    pct = float(q.metric[1:]) / 100.0
    if keys:
        return (
            work.assign(v=field)
            .groupby(keys, sort=True)["v"]
            .quantile(pct)
            .reset_index()
            .rename(columns={"v": "value"})
        )
    return pd.DataFrame({"value": [field.quantile(pct)]})


def _attr(attrs: Any, key: str) -> Any:
    value: Any = attrs
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return None if isinstance(value, (dict, list)) else value


def attr_match(attrs: Any, key: str, expected: str | None) -> bool:
    value = _attr(attrs, key) if isinstance(attrs, dict) else None
    if expected is None:
        return value is not None
    return value is not None and str(value) == expected


def to_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-friendly rows: ISO timestamps, NaN as null."""
    out = []
    for row in df.to_dict("records"):
        item = {}
        for k, v in row.items():
            if isinstance(v, pd.Timestamp):
                v = v.isoformat()
            elif isinstance(v, float) and math.isnan(v):
                v = None
            elif isinstance(v, np.generic):
                v = v.item()
            item[k] = v
        out.append(item)
    return out


def iter_records(df: pd.DataFrame, chunk: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(df), chunk):
        yield to_records(df.iloc[start : start + chunk])
