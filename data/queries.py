"""Reads: the only place that turns SQL into Python rows and DataFrames."""
from __future__ import annotations

from sqlalchemy import Connection, func, select

from data.models import EVENTS, SESSIONS

events_table = EVENTS


def session_user(conn: Connection, session_id: str) -> str | None:
    table = SESSIONS
    return conn.execute(select(table.c.user).where(table.c.id == session_id)).scalar()


def count_events(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(events_table)).scalar() or 0)
