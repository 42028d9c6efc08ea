"""Breakdowns of events: outcome (success/failure) by status, unique users,
counts by a dimension column, and category totals from a key of ``attrs``.

Status outcome rules (case-insensitive, surrounding blanks ignored):

* success: the names in :data:`SUCCESS_STATUSES` and HTTP-style codes
  200-299 written as strings or numbers ("200", "204", 201);
* failure: the names in :data:`FAILURE_STATUSES` and codes 400-599;
* everything else (including missing or ``''``, "pending", "302") is neutral.

The success rate is ``success / (success + failure)``: neutral rows neither
help nor hurt, and with no decided rows the rate is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analytics._frames import (
    TimeLike,
    WindowLike,
    require_columns,
    require_frame,
    weights,
)
from analytics.windows import filter_window

Outcome = Literal["success", "failure", "neutral"]

#: Status names counted as success.
SUCCESS_STATUSES: frozenset[str] = frozenset(
    {
        "ok",
        "success",
        "succeeded",
        "successful",
        "completed",
        "complete",
        "done",
        "passed",
        "online",
        "healthy",
        "up",
    }
)
#: Status names counted as failure.
FAILURE_STATUSES: frozenset[str] = frozenset(
    {
        "error",
        "failed",
        "failure",
        "fail",
        "timeout",
        "timed_out",
        "offline",
        "crashed",
        "aborted",
        "unhealthy",
        "down",
    }
)
#: HTTP-style status code ranges (inclusive) for success and failure.
SUCCESS_CODES: tuple[int, int] = (200, 299)
FAILURE_CODES: tuple[int, int] = (400, 599)
MISSING_LABEL = "(none)"


def classify_status(status: object) -> Outcome:
    """Outcome of one status value.

    >>> [classify_status(s) for s in ["OK", "204", 503, "pending", None]]
    ['success', 'success', 'failure', 'neutral', 'neutral']
    """
    if status is None or isinstance(status, float) and math.isnan(status):
        return "neutral"
    if isinstance(status, (int, float, np.integer, np.floating)) and not isinstance(status, bool):
        # Numeric codes arrive as 503 or 503.0 depending on the column dtype.
        number = float(status)
        status = int(number) if number.is_integer() else number
    text = str(status).strip().lower()
    if text in SUCCESS_STATUSES:
        return "success"
    if text in FAILURE_STATUSES:
        return "failure"
    if text.isdigit():
        code = int(text)
        if SUCCESS_CODES[0] <= code <= SUCCESS_CODES[1]:
            return "success"
        if FAILURE_CODES[0] <= code <= FAILURE_CODES[1]:
            return "failure"
    return "neutral"


def classify_statuses(statuses: pd.Series) -> pd.Series:
    """:func:`classify_status` over a Series (computed once per distinct value).

    >>> classify_statuses(pd.Series(["ok", "500", None])).tolist()
    ['success', 'failure', 'neutral']
    """
    as_object = statuses.astype(object).where(statuses.notna(), None)
    uniques = {v: classify_status(v) for v in pd.unique(as_object)}
    return as_object.map(uniques).astype(object)


@dataclass(frozen=True)
class StatusMix:
    """Outcome counts and rates (fractions in 0..1, ``None`` without decided rows)."""

    success: int
    failure: int
    neutral: int
    total: int
    success_rate: float | None
    failure_rate: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        """Plain dict, in field order."""
        return asdict(self)


def success_rate(
    df: pd.DataFrame,
    *,
    window: WindowLike | None = None,
    now: TimeLike | None = None,
    status_col: str = "status",
    count_col: str | None = None,
    ts_col: str = "ts",
) -> StatusMix:
    """Success and failure counts and rates, optionally over a trailing
    window (see :mod:`analytics.windows`). Works on rollups with
    ``count_col="count"``.

    >>> df = pd.DataFrame({"status": ["ok", "error", "ok", "200", "queued"]})
    >>> m = success_rate(df)
    >>> m.success, m.failure, m.neutral, m.success_rate
    (3, 1, 1, 0.75)
    """
    require_frame(df, "success_rate")
    require_columns(df, [status_col, count_col], "success_rate")
    if window is not None:
        df = filter_window(df, window=window, now=now, ts_col=ts_col)
    w = weights(df, count_col)
    outcome = classify_statuses(df[status_col])
    sums = {k: int(w[outcome == k].sum()) for k in ("success", "failure", "neutral")}
    decided = sums["success"] + sums["failure"]
    return StatusMix(
        success=sums["success"],
        failure=sums["failure"],
        neutral=sums["neutral"],
        total=decided + sums["neutral"],
        success_rate=sums["success"] / decided if decided else None,
        failure_rate=sums["failure"] / decided if decided else None,
    )


def _keys(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def breakdown(
    df: pd.DataFrame,
    *,
    by: str | Sequence[str],
    value: str | None = None,
    count_col: str | None = None,
    top: int | None = None,
    missing_label: str = MISSING_LABEL,
) -> pd.DataFrame:
    """Counts per value of one or more dimension columns: the ``by`` columns,
    ``count``, ``share`` (of all counted rows) and ``value_sum`` when ``value``
    is given; sorted by count descending, then by key. Missing keys are shown
    as ``missing_label``. With ``top``, the rest is folded into one ``"other"``
    row (last).

    >>> df = pd.DataFrame({"status": ["ok", "ok", "error", None]})
    >>> breakdown(df, by="status").to_dict("list")
    {'status': ['ok', '(none)', 'error'], 'count': [2, 1, 1], 'share': [0.5, 0.25, 0.25]}
    """
    require_frame(df, "breakdown")
    keys = _keys(by)
    require_columns(df, [*keys, value, count_col], "breakdown")
    columns = [*keys, "count", "share"] + (["value_sum"] if value else [])
    if df.empty:
        out = pd.DataFrame({c: pd.Series([], dtype=object) for c in keys})
        out["count"] = pd.Series([], dtype="int64")
        out["share"] = pd.Series([], dtype="float64")
        if value:
            out["value_sum"] = pd.Series([], dtype="float64")
        return out[columns]
    work = pd.DataFrame({k: df[k].astype(object).where(df[k].notna(), missing_label).map(str) for k in keys})
    work["count"] = weights(df, count_col).to_numpy()
    if value:
        work["value_sum"] = pd.to_numeric(df[value], errors="coerce").to_numpy()
    agg = work.groupby(keys, sort=False).sum(min_count=0).reset_index()
    agg = agg.sort_values(["count", *keys], ascending=[False] + [True] * len(keys))
    if top is not None and len(agg) > top:
        rest = agg.iloc[top:]
        other: dict[str, object] = {k: "other" for k in keys}
        other["count"] = rest["count"].sum()
        if value:
            other["value_sum"] = rest["value_sum"].sum()
        agg = pd.concat([agg.iloc[:top], pd.DataFrame([other])], ignore_index=True)
    total = float(agg["count"].sum())
    agg["count"] = agg["count"].astype("int64")
    agg["share"] = agg["count"] / total if total else np.nan
    if value:
        agg["value_sum"] = agg["value_sum"].astype("float64")
    return agg[columns].reset_index(drop=True)


def _lookup(attrs: object, path: Sequence[str]) -> object:
    node = attrs
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _categories(item: object, split: str | None) -> Iterable[tuple[str, float]]:
    if item is None or isinstance(item, float) and math.isnan(item):
        return []
    if isinstance(item, dict):
        out = []
        for k, v in item.items():
            n = pd.to_numeric(v, errors="coerce")
            if pd.notna(n):
                out.append((str(k), float(n)))
        return out
    if isinstance(item, (list, tuple, set, frozenset)):
        return [(str(x), 1.0) for x in item if x is not None]
    if isinstance(item, str) and split is not None:
        return [(p.strip(), 1.0) for p in item.split(split) if p.strip()]
    return [(str(item), 1.0)]


def attr_breakdown(
    df: pd.DataFrame,
    *,
    key: str,
    attrs_col: str = "attrs",
    split: str | None = None,
) -> pd.DataFrame:
    """Category totals from ``attrs[key]`` (dotted paths like ``"a.b"`` reach
    into nested dicts): ``category, count, share`` sorted by count descending.

    The attribute may be a dict of counts (each category gets its count), a
    list (each element counts 1), or a scalar (counts 1; a string is split on
    ``split`` when given). Rows without the key are skipped.

    >>> df = pd.DataFrame({"attrs": [{"degradation_counts": {"smudge": 1, "glare": 2}},
    ...                              {"degradation_counts": {"glare": 1}}, None]})
    >>> attr_breakdown(df, key="degradation_counts").to_dict("list")
    {'category': ['glare', 'smudge'], 'count': [3.0, 1.0], 'share': [0.75, 0.25]}
    """
    require_frame(df, "attr_breakdown")
    require_columns(df, [attrs_col], "attr_breakdown")
    path = key.split(".")
    totals: dict[str, float] = {}
    for attrs in df[attrs_col]:
        for cat, n in _categories(_lookup(attrs, path), split):
            totals[cat] = totals.get(cat, 0.0) + n
    out = pd.DataFrame(
        {
            "category": pd.Series(list(totals.keys()), dtype=object),
            "count": pd.Series(list(totals.values()), dtype="float64"),
        }
    )
    out = out.sort_values(["count", "category"], ascending=[False, True]).reset_index(drop=True)
    total = float(out["count"].sum())
    out["share"] = out["count"] / total if total else np.nan
    return out


@dataclass(frozen=True)
class UniqueUsers:
    """Distinct users (sorted names) seen in a window."""

    count: int
    users: list[str]

    def as_dict(self) -> dict[str, object]:
        """Plain dict."""
        return {"count": self.count, "users": list(self.users)}


def unique_users(
    df: pd.DataFrame,
    *,
    window: WindowLike | None = None,
    now: TimeLike | None = None,
    user_col: str = "user",
    ts_col: str = "ts",
) -> UniqueUsers:
    """Distinct non-empty users, optionally over a trailing window
    (e.g. active users in the last 30 minutes).

    >>> ts = pd.to_datetime(["2024-05-01 09:00", "2024-05-01 10:00",
    ...                      "2024-05-01 10:10", "2024-05-01 10:20"], utc=True)
    >>> df = pd.DataFrame({"ts": ts, "user": ["carol", "bob", None, "alice"]})
    >>> unique_users(df, window="30min").as_dict()
    {'count': 2, 'users': ['alice', 'bob']}
    """
    require_frame(df, "unique_users")
    require_columns(df, [user_col], "unique_users")
    if window is not None:
        require_columns(df, [ts_col], "unique_users")
        df = filter_window(df, window=window, now=now, ts_col=ts_col)
    names = sorted({str(u) for u in df[user_col].dropna() if str(u) != ""})
    return UniqueUsers(count=len(names), users=names)
