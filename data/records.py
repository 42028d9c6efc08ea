"""Sessions, executions and components: the records beside the event stream.

Each change here also writes an event (``session_start``, ``execution_finished``,
``component`` ...) through the same ingest path, so that the live feed, the
rollups and every chart see it like any other event.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from core.errors import NotFound as NotFound  # raised for an unknown session or execution
from data.ingest import IngestResult, event_row, insert_events
from data.models import COMPONENTS, EXECUTION_METRICS, EXECUTIONS, SESSIONS

SUCCESS = "success"
FAILED = "failed"
RUNNING = "running"


# ---------------------------------------------------------------- sessions


def start_session(
    conn: Connection,
    *,
    session_id: str,
    source: str,
    user: str | None,
    started_at: datetime,
    attrs: dict[str, Any] | None,
) -> tuple[dict[str, Any], bool, IngestResult | None]:
    """Create a session; starting an existing id again returns it unchanged."""
    table = SESSIONS
    found = conn.execute(select(table).where(table.c.id == session_id)).mappings().first()
    if found is not None:
        return dict(found), False, None
    row = {"id": session_id, "source": source, "user": user, "started_at": started_at, "ended_at": None, "attrs": attrs}
    conn.execute(insert(table), row)
    result = insert_events(conn, [event_row(started_at, source, "session_start", session_id=session_id, user=user)])
    return row, True, result


def end_session(conn: Connection, session_id: str, ended_at: datetime) -> tuple[dict[str, Any], IngestResult | None]:
    """Mark a session ended; ending it again keeps the first end time."""
    table = SESSIONS
    found = conn.execute(select(table).where(table.c.id == session_id)).mappings().first()
    if found is None:
        raise NotFound(f"session {session_id!r} not found")
    row = dict(found)
    if row["ended_at"] is not None:
        return row, None
    ended_at = max(ended_at, row["started_at"])
    conn.execute(update(table).where(table.c.id == session_id).values(ended_at=ended_at))
    row["ended_at"] = ended_at
    duration = (ended_at - row["started_at"]).total_seconds() * 1000
    event = event_row(
        ended_at, row["source"], "session_end", session_id=session_id, user=row["user"], duration_ms=duration
    )
    return row, insert_events(conn, [event])


# -------------------------------------------------------------- executions


def new_execution_id(started_at: datetime) -> str:
    return f"exe_{started_at:%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:8]}"


@dataclasses.dataclass
class ExecutionWrite:
    row: dict[str, Any]
    metrics: dict[str, float]
    created: bool
    result: IngestResult | None


def record_execution(conn: Connection, fields: dict[str, Any], now: datetime) -> ExecutionWrite:
    """Store a finished run or a start. A repeated id returns the stored run."""
    table = EXECUTIONS
    if fields.get("id"):
        found = conn.execute(select(table).where(table.c.id == fields["id"])).mappings().first()
        if found is not None:
            return ExecutionWrite(dict(found), get_metrics(conn, fields["id"]), False, None)
    started, finished, duration = _times(
        fields.get("started_at"), fields.get("finished_at"), fields.get("duration_ms"), now
    )
    done = finished is not None or fields.get("exit_code") is not None or fields.get("status") not in (None, RUNNING)
    if done and finished is None:
        finished = now
        duration = (finished - started).total_seconds() * 1000
    row = {
        "id": fields.get("id") or new_execution_id(started),
        "script": fields["script"],
        "source": fields.get("source") or "runner",
        "started_at": started,
        "finished_at": finished,
        "duration_ms": duration,
        "status": fields.get("status") or (_status_of(fields.get("exit_code")) if done else RUNNING),
        "exit_code": fields.get("exit_code"),
        "attempt": fields.get("attempt") or 1,
        "attrs": fields.get("attrs"),
    }
    conn.execute(insert(table), row)
    metrics = dict(fields.get("metrics") or {})
    _put_metrics(conn, row["id"], metrics)
    return ExecutionWrite(row, metrics, True, insert_events(conn, [_execution_event(row, metrics)]))


def finish_execution(conn: Connection, execution_id: str, fields: dict[str, Any], now: datetime) -> ExecutionWrite:
    table = EXECUTIONS
    found = conn.execute(select(table).where(table.c.id == execution_id)).mappings().first()
    if found is None:
        raise NotFound(f"execution {execution_id!r} not found")
    row = dict(found)
    if row["finished_at"] is not None:
        # A retried finish (the client never saw our answer): the run is already
        # recorded; writing again would count it twice in the rollups.
        return ExecutionWrite(row, get_metrics(conn, execution_id), False, None)
    finished = fields.get("finished_at")
    if finished is None and fields.get("duration_ms") is not None:
        finished = row["started_at"] + _ms(fields["duration_ms"])
    finished = max(finished or now, row["started_at"])
    duration = fields.get("duration_ms")
    if duration is None:
        duration = (finished - row["started_at"]).total_seconds() * 1000
    attrs = (row["attrs"] or {}) | (fields.get("attrs") or {})
    changes = {
        "finished_at": finished,
        "duration_ms": duration,
        "exit_code": row["exit_code"] if fields.get("exit_code") is None else fields["exit_code"],
        "attrs": attrs or None,
    }
    changes["status"] = fields.get("status") or _status_of(changes["exit_code"])
    conn.execute(update(table).where(table.c.id == execution_id).values(**changes))
    row |= changes
    metrics = get_metrics(conn, execution_id) | dict(fields.get("metrics") or {})
    _put_metrics(conn, execution_id, dict(fields.get("metrics") or {}))
    return ExecutionWrite(row, metrics, False, insert_events(conn, [_execution_event(row, metrics)]))


def get_metrics(conn: Connection, execution_id: str) -> dict[str, float]:
    t = EXECUTION_METRICS
    rows = conn.execute(select(t.c.name, t.c.value).where(t.c.execution_id == execution_id).order_by(t.c.name))
    return {name: value for name, value in rows}


def _put_metrics(conn: Connection, execution_id: str, metrics: dict[str, float]) -> None:
    if not metrics:
        return
    t = EXECUTION_METRICS
    conn.execute(delete(t).where(t.c.execution_id == execution_id, t.c.name.in_(list(metrics))))
    conn.execute(insert(t), [{"execution_id": execution_id, "name": k, "value": v} for k, v in metrics.items()])


def _execution_event(row: dict[str, Any], metrics: dict[str, float]) -> dict[str, Any]:
    finished = row["finished_at"] is not None
    return event_row(
        row["finished_at"] or row["started_at"],
        row["source"],
        "execution_finished" if finished else "execution_started",
        entity=row["script"],
        execution_id=row["id"],
        status=row["status"],
        duration_ms=row["duration_ms"],
        attrs=({"exit_code": row["exit_code"], "attempt": row["attempt"], "metrics": metrics} if finished else None),
    )


def _status_of(exit_code: int | None) -> str:
    return SUCCESS if exit_code in (None, 0) else FAILED


def _ms(value: float) -> timedelta:
    return timedelta(milliseconds=value)


def _times(
    started: datetime | None, finished: datetime | None, duration: float | None, now: datetime
) -> tuple[datetime, datetime | None, float | None]:
    if started is None:
        end = finished or now
        started = end - _ms(duration) if duration is not None else end
    if finished is None and duration is not None:
        finished = started + _ms(duration)
    if finished is not None:
        finished = max(finished, started)
        if duration is None:
            duration = (finished - started).total_seconds() * 1000
    return started, finished, duration


# -------------------------------------------------------------- components


def set_component(
    conn: Connection,
    name: str,
    status: str,
    detail: str | None,
    source: str,
    now: datetime,
    ttl_seconds: float | None = None,
) -> tuple[dict[str, Any], IngestResult]:
    table = COMPONENTS
    row = {"name": name, "status": status, "detail": detail, "updated_at": now, "ttl_seconds": ttl_seconds}
    changed = conn.execute(
        update(table)
        .where(table.c.name == name)
        .values(status=status, detail=detail, updated_at=now, ttl_seconds=ttl_seconds)
    )
    if changed.rowcount == 0:
        conn.execute(insert(table), row)
    event = event_row(now, source, "component", entity=name, status=status, message=detail)
    return row, insert_events(conn, [event])
