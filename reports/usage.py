"""The tool-usage and payments dashboards' figures: per-entity per-minute
history with users and flags, revenue per period, status mix, active users,
the activity heatmap and request timings per endpoint."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from analytics.breakdowns import classify_statuses
from analytics.distributions import rollup_summary
from analytics.periods import activity_matrix, period_totals
from analytics.usage import history_by_entity, minute_history
from data import queries
from data.queries import Filters
from reports.overview import status_mix

MAX_HISTORY = timedelta(hours=6)


def entities(conn: Connection, *, filters: Filters, limit: int = 500) -> list[str]:
    """The entities of the events ``filters`` match (from rollups: cheap)."""
    return queries.distinct_values(conn, "entity", limit=limit, filters=filters)


def entity_history(
    conn: Connection, *, window: timedelta, now: datetime, filters: Filters, flag_key: str
) -> dict[str, list[dict[str, Any]]]:
    """Per entity, one point per minute: ``timestamp, count, users, overage_count``."""
    since = now - min(window, MAX_HISTORY)
    # Newest first: past the row limit it is the oldest minutes that go, not the live ones.
    df = queries.events_frame(
        conn, since=since, until=now + timedelta(seconds=1), filters=filters, limit=500_000, newest_first=True
    )
    df = df[df["entity"].notna()]
    history = minute_history(df, flag_key=flag_key)
    return history_by_entity(history)


def revenue(
    conn: Connection, *, since: datetime, until: datetime, freq: str, filters: Filters, success_only: bool
) -> dict[str, Any]:
    """Sums of ``value`` per period, from rollups (exact). ``average`` is per
    period with data (``periods_with_data``: from the first period with a
    matching event, of any status, on), so a span reaching back before the
    first payment does not dilute it; a quiet period after it counts as 0."""
    step = {"H": 3600, "D": 86400, "W": 7 * 86400}[freq]
    offset = 4 * 86400 if freq == "W" else 0
    grouped = queries.rollup_totals(
        conn, since=since, until=until, filters=filters, group_by=("status",), bucket_seconds=step, bucket_offset=offset
    )
    first_data = grouped["bucket"].min() if len(grouped) else None
    if success_only and len(grouped):
        grouped = grouped[classify_statuses(grouped["status"].replace("", None)) == "success"]
    frame = pd.DataFrame({"ts": grouped["bucket"], "value": grouped["value_sum"], "count": grouped["value_count"]})
    # Rows are labelled with their period's start, which precedes ``since`` for the
    # first, partial period: start the index there so that period is kept.
    minute = int(since.timestamp()) // 60 * 60
    first = datetime.fromtimestamp(minute - (minute - offset) % step, tz=timezone.utc)
    totals = period_totals(frame, freq="h" if freq == "H" else freq, start=first, end=until, count_col="count")
    out = totals.as_dict()
    with_data = 0 if first_data is None else int((totals.periods["period"] >= first_data).sum())
    out["periods_with_data"] = with_data
    out["average"] = totals.total / with_data if with_data else None
    return out


def transactions(conn: Connection, *, since: datetime, until: datetime, filters: Filters) -> dict[str, Any]:
    by_status = queries.rollup_totals(conn, since=since, until=until, filters=filters, group_by=("status",))
    mix = status_mix(by_status)
    statuses = [
        {"status": r.status or "(none)", "count": int(r.count), "amount": float(r.value_sum)}
        for r in by_status.itertuples(index=False)
    ]
    return mix | {"statuses": statuses}


def users(conn: Connection, *, now: datetime, minutes: int, filters: Filters) -> dict[str, Any]:
    names = queries.active_users(conn, since=now - timedelta(minutes=minutes), filters=filters)
    return {"window_minutes": minutes, "active_users": len(names), "users": names}


def heatmap(conn: Connection, *, since: datetime, until: datetime, filters: Filters, tz: str) -> dict[str, Any]:
    minutes = queries.rollup_totals(
        conn, since=since, until=until, filters=filters, bucket_seconds=3600, columns=("count",)
    )
    frame = pd.DataFrame({"ts": minutes["bucket"], "count": minutes["count"]})
    matrix = activity_matrix(frame, tz=tz, count_col="count")
    return {
        "tz": tz,
        "weekdays": [str(i) for i in matrix.index],
        "hours": [int(h) for h in matrix.columns],
        "counts": matrix.to_numpy().astype(float).tolist(),
    }


def timings(conn: Connection, *, since: datetime, until: datetime, filters: Filters) -> list[dict[str, Any]]:
    """Average and p95 duration per endpoint (entity), from rollups and their histograms."""
    totals = queries.rollup_totals(conn, since=since, until=until, filters=filters, group_by=("entity",))
    hist = queries.hist_totals(conn, since=since, until=until, filters=filters, group_by=("entity",))
    out = []
    for row in totals.itertuples(index=False):
        if not row.dur_count:
            continue
        part = hist[hist["entity"] == row.entity]
        rollup = pd.DataFrame([row._asdict()])
        summary = rollup_summary(rollup, part[["bucket", "count"]])
        out.append(
            {
                "endpoint": row.entity or "(none)",
                "requests": int(row.dur_count),
                "avg_ms": summary.mean,
                "p95_ms": summary.p95,
                "max_ms": summary.max,
                "relative_error": summary.relative_error,
            }
        )
    return sorted(out, key=lambda r: -r["requests"])
