"""Builders for the API and storage tests: events as a client sends them, a
varied set for the rollup checks, raw bodies no JSON encoder would write,
and readers of what a server stored (straight from its database)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Table, func, select

from data.models import EVENTS, Base

BASE = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)  # a fixed past minute
JSON = {"Content-Type": "application/json"}


def uid(prefix: str = "u") -> str:
    """A uid (or id) no other test uses, so that tests can share a server."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def iso(ts: datetime) -> str:
    return ts.isoformat()


def event(type_: str = "scan", **fields: Any) -> dict[str, Any]:
    """An event as a client sends it; datetimes become ISO 8601 strings."""
    body = {"type": type_, **fields}
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in body.items()}


def nested(levels: int, leaf: str = "1") -> str:
    """Raw JSON of ``levels`` nested arrays: deeper than json.dumps will write."""
    return "[" * levels + leaf + "]" * levels


def varied_events(n: int, *, start: datetime = BASE, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` events over six minutes, three sources and types, entities and
    statuses with gaps (None and ''), values and durations with gaps, zeros,
    negatives and extremes, minute-boundary timestamps and some uids."""
    rnd = random.Random(seed)
    events = []
    for i in range(n):
        ts = start + timedelta(minutes=rnd.randrange(6), seconds=rnd.choice([0, 0.000001, 17.5, 59.999999]))
        events.append(
            event(
                rnd.choice(["request", "scan", "payment"]),
                ts=ts,
                source=rnd.choice(["app", "scanner", "runner"]),
                entity=rnd.choice([None, "", "/api/a", "/api/b"]),
                status=rnd.choice([None, "", "ok", "error"]),
                value=rnd.choice([None, 0.0, -3.5, round(rnd.uniform(0, 500), 3), 1e12]),
                duration_ms=rnd.choice([None, 0.0, 0.0001, round(rnd.lognormvariate(4, 1.5), 3), 1e9]),
                uid=uid() if i % 3 == 0 else None,
            )
        )
    return events


# ----------------------------------------------------------- stored state


def stored_events(server: Any, *where: ColumnElement[bool]) -> list[dict[str, Any]]:
    """Rows of the events table (timestamps aware, attrs decoded), by id."""
    with server.services.db.read() as conn:
        return [dict(r) for r in conn.execute(select(EVENTS).where(*where).order_by(EVENTS.c.id)).mappings()]


def stored_event(server: Any, event_id: int) -> dict[str, Any]:
    (row,) = stored_events(server, EVENTS.c.id == event_id)
    return row


def count(server: Any, table: Table = EVENTS, *where: ColumnElement[bool]) -> int:
    with server.services.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def rows(server: Any, table: Table, *where: ColumnElement[bool]) -> list[dict[str, Any]]:
    with server.services.db.read() as conn:
        return [dict(r) for r in conn.execute(select(table).where(*where)).mappings()]


def totals(server: Any) -> dict[str, int]:
    """Row counts of every table: 'nothing was stored' compares two of these."""
    return {name: count(server, table) for name, table in Base.metadata.tables.items()}


def grid(x: int, y: int, w: int, h: int) -> dict[str, int]:
    """A panel's place on a board's 12-column grid."""
    return {"x": x, "y": y, "w": w, "h": h}


def gate_board(server: Any, board: dict[str, Any]) -> Any:
    """``server`` holding ``board`` and, 20 minutes ago, 4 scans of gate-1 and 2 doors of gate-2."""
    at = (datetime.now(timezone.utc) - timedelta(minutes=20)).isoformat()
    events = [{"ts": at, "type": "scan", "source": "gate-1"}] * 4 + [{"ts": at, "type": "door", "source": "gate-2"}] * 2
    assert server.post("/api/events", json=events).status_code == 201
    made = server.post("/api/boards", json=board)
    assert made.status_code == 201, made.text
    return server


def board_doc(board_uid: str | None = None, **fields: Any) -> dict[str, Any]:
    """A valid board document with a variable and three panels (one uses ``$source``)."""
    doc: dict[str, Any] = {
        "schema": 1,
        "uid": board_uid or uid("board"),
        "title": "Device monitor",
        "description": "Scans and errors of the scanners",
        "tags": ["devices", "ops"],
        "time": {"range": "6h"},
        "refresh": "30s",
        "variables": [
            {"name": "source", "label": "Source", "kind": "query", "dimension": "source", "default": "scanner"},
            {"name": "metric", "kind": "custom", "values": ["count", "rate"], "default": "count"},
        ],
        "rows": [{"title": "Activity"}, {"title": "Health", "collapsed": True}],
        "panels": [
            {
                "id": "scans",
                "title": "Scans",
                "kind": "timeseries",
                "query": {"metric": "$metric", "source": "$source", "type": "scan", "bucket": "5min"},
                "chart": "area",
                "stacked": True,
                "baseline": True,
                "row": 0,
                "grid": {"x": 0, "y": 0, "w": 8, "h": 8},
            },
            {
                "id": "errors",
                "title": "Errors by source",
                "kind": "breakdown",
                "query": {"metric": "count", "type": "error", "group_by": "source", "window": "1h"},
                "chart": "pie",
                "thresholds": [{"value": 10, "color": "#e5534b"}],
                "link": "/explore?type=error",
                "row": 0,
                "grid": {"x": 8, "y": 0, "w": 4, "h": 8},
            },
            {
                "id": "health",
                "title": "Health",
                "kind": "health",
                "row": 1,
                "grid": {"x": 0, "y": 8, "w": 12, "h": 4},
            },
        ],
    }
    return doc | fields
