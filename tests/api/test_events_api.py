"""POST /api/events: shapes, idempotency, atomic batches and bad input."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text


def count(server: Any) -> int:
    with server.services.db.read() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar())


def test_it_stores_one_event_and_returns_its_id(server: Any) -> None:
    r = server.post("/api/events", json={"type": "scan", "source": "scanner", "status": "ok", "value": 2})
    assert r.status_code == 201
    body = r.json()
    assert body["accepted"] == 1 and body["stored"] == 1 and body["duplicates"] == 0
    assert len(body["ids"]) == 1
    assert count(server) == 1
