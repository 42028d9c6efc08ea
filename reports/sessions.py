"""The macro-sessions tool's figures: one session's boxes, duration,
speeds, execution-time distribution and category breakdown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from analytics.breakdowns import attr_breakdown, breakdown
from analytics.distributions import duration_histogram, summary_stats
from analytics.sessions import session_summary
from data import queries
from reports.overview import event_json

CATEGORY_KEY = "degradation_counts"
# The events a session writes about itself; the rest are its interactions.
MARKERS = ("session_start", "session_end")
MAX_SESSION_EVENTS = 200_000


def session_events(conn: Connection, session_id: str) -> pd.DataFrame:
    return queries.events_frame(conn, filters=queries.Filters(session_id=(session_id,)), limit=MAX_SESSION_EVENTS)


def session_metrics(
    conn: Connection, session_id: str, now: datetime, *, category_key: str = CATEGORY_KEY
) -> dict[str, Any] | None:
    session = queries.get_session(conn, session_id)
    df = session_events(conn, session_id)
    if session is None and df.empty:
        return None
    work = df[~df["type"].isin(MARKERS)]
    start = session["started_at"] if session else None
    end = (session["ended_at"] or now) if session else None
    summary = session_summary(work, start=start, end=end, now=now if session and not session["ended_at"] else None)
    hist = duration_histogram(work, bins=20) if work["duration_ms"].notna().any() else pd.DataFrame()
    categories = attr_breakdown(work, key=category_key)
    buttons = breakdown(work, by="entity") if len(work) else pd.DataFrame()
    return {
        "session_id": session_id,
        "user": session["user"] if session else None,
        "started_at": start.isoformat() if start else None,
        "ended_at": session["ended_at"].isoformat() if session and session["ended_at"] else None,
        "active": bool(session and session["ended_at"] is None),
        "total_boxes": summary.total,
        "total_executions": int(len(work)),
        "session_duration_s": summary.duration_seconds,
        "average_speed": summary.average_speed,
        "current_speed": summary.current_speed,
        "speed_window_s": summary.speed_window_seconds,
        "speed_over_time": summary.as_dict()["speed"],
        "execution_time": summary_stats(work, column="duration_ms").as_dict(),
        "execution_time_histogram": hist.to_dict("records") if len(hist) else [],
        "categories": categories.to_dict("records"),
        # The macro-sessions tool's own name for the same totals, as a mapping.
        "degradation_counts": {str(r.category): float(r.count) for r in categories.itertuples(index=False)},
        "buttons": buttons.to_dict("records") if len(buttons) else [],
        "attrs": session["attrs"] if session else None,
    }


def interactions(conn: Connection, session_id: str, limit: int) -> list[dict[str, Any]]:
    """A session's interactions, newest first: its events but the session's
    own start and end markers."""
    df = queries.events_frame(
        conn,
        filters=queries.Filters(session_id=(session_id,)),
        limit=limit,
        newest_first=True,
        exclude_types=MARKERS,
    )
    return [event_json(r) for r in df.to_dict("records")]


def has_events(conn: Connection, session_id: str) -> bool:
    """Whether any event, markers included, names the session."""
    return len(queries.events_frame(conn, filters=queries.Filters(session_id=(session_id,)), limit=1)) > 0
