"""Scheduled exports' storage: the ``export_schedules`` table (create, read,
update, delete, claim a due run, record its outcome) and the chunked read of
raw events behind a raw-rows export.

A due run is *claimed* by moving ``next_run_at`` forward with a conditional
UPDATE, so when several processes run the scheduler on one database, each due
run is made by exactly one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, and_, delete, insert, or_, select, type_coerce, update

from data.models import EVENTS, EXPORT_SCHEDULES, from_micros, to_micros
from data.queries import EVENT_FIELDS, Filters

S = EXPORT_SCHEDULES


def list_schedules(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(S).order_by(S.c.name)).mappings()]


def get_schedule(conn: Connection, schedule_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(S).where(S.c.id == schedule_id)).mappings().first()
    return dict(row) if row else None


def find_by(conn: Connection, *, name: str | None = None, slug: str | None = None) -> dict[str, Any] | None:
    """The schedule with this name or this folder (slug), if any."""
    cond = S.c.name == name if name is not None else S.c.slug == slug
    row = conn.execute(select(S).where(cond)).mappings().first()
    return dict(row) if row else None


def create_schedule(conn: Connection, values: dict[str, Any]) -> int:
    result = conn.execute(insert(S).values(**values).returning(S.c.id))
    return int(result.scalar_one())


def update_schedule(conn: Connection, schedule_id: int, values: dict[str, Any]) -> bool:
    return conn.execute(update(S).where(S.c.id == schedule_id).values(**values)).rowcount == 1


def delete_schedule(conn: Connection, schedule_id: int) -> bool:
    return conn.execute(delete(S).where(S.c.id == schedule_id)).rowcount == 1


def due_schedules(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Enabled schedules whose next run is at or before ``now``, earliest first."""
    stmt = select(S).where(S.c.enabled.is_(True), S.c.next_run_at.is_not(None), S.c.next_run_at <= to_micros(now))
    return [dict(r) for r in conn.execute(stmt.order_by(S.c.next_run_at, S.c.id)).mappings()]


def claim_run(conn: Connection, schedule_id: int, due: datetime, next_run_at: datetime | None) -> bool:
    """Move a due schedule's next run forward; False when another process did first."""
    stmt = update(S).where(S.c.id == schedule_id, S.c.next_run_at == to_micros(due)).values(next_run_at=next_run_at)
    return conn.execute(stmt).rowcount == 1


def mark_run(
    conn: Connection, schedule_id: int, *, ran_at: datetime, file: str | None, rows: int | None, error: str | None
) -> None:
    """Record a run's outcome; a failed run keeps the last good file's name."""
    values: dict[str, Any] = {"last_run_at": ran_at, "last_error": error}
    if error is None:
        values |= {"last_file": file, "last_rows": rows}
    conn.execute(update(S).where(S.c.id == schedule_id).values(**values))


def event_chunks(
    conn: Connection, *, since: datetime, until: datetime, filters: Filters = Filters(), chunk: int = 5000
) -> Iterator[list[dict[str, Any]]]:
    """Raw events in ``[since, until)`` oldest first, ``chunk`` rows at a time.

    Keyset pagination on (ts, id): each chunk is one bounded query that starts
    where the last one ended, so memory stays flat whatever the row count."""
    t = EVENTS
    ts = type_coerce(t.c.ts, BigInteger)
    cols = [t.c.id, ts.label("ts"), *(t.c[n] for n in EVENT_FIELDS[2:])]
    base = select(*cols).where(ts >= to_micros(since), ts < to_micros(until))
    for name, values in filters.items():
        base = base.where(t.c[name].in_(values))
    last: tuple[int, int] | None = None
    while True:
        stmt = base
        if last is not None:
            stmt = stmt.where(or_(ts > last[0], and_(ts == last[0], t.c.id > last[1])))
        rows = conn.execute(stmt.order_by(ts, t.c.id).limit(chunk)).all()
        if not rows:
            return
        out = []
        for row in rows:
            item = dict(zip(EVENT_FIELDS, row))
            item["ts"] = from_micros(int(row[1]))
            out.append(item)
        yield out
        if len(rows) < chunk:
            return
        last = (int(rows[-1][1]), int(rows[-1][0]))
