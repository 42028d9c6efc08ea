"""GET /health (the macro-sessions tool) and GET /api/health (the script
runner): the database is checked, the answer is JSON."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest


@pytest.mark.parametrize("path", ["/health", "/api/health"])
def test_health_reports_a_healthy_database(shared_server: Any, path: str) -> None:
    r = shared_server.get(path)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert set(body) == {"status", "database", "timestamp", "uptime_seconds", "version"}
    assert (body["status"], body["database"], body["version"]) == ("healthy", "ok", "1.0.0")
    stamp = datetime.fromisoformat(body["timestamp"])
    assert abs(stamp - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert isinstance(body["uptime_seconds"], (int, float)) and body["uptime_seconds"] >= 0


def test_health_reports_uptime_since_the_start(shared_server: Any) -> None:
    started = shared_server.services.started_monotonic
    shared_server.services.started_monotonic = started - 3600
    try:
        assert shared_server.get("/health").json()["uptime_seconds"] >= 3600
    finally:
        shared_server.services.started_monotonic = started


def test_health_does_not_answer_writes(shared_server: Any) -> None:
    r = shared_server.post("/health", json={})
    assert r.status_code == 405
    assert r.headers["Content-Type"] == "application/json"
    assert "error" in r.json()
