"""Retention and self-monitoring on a real SQLite database."""

from __future__ import annotations

import shutil
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app import create_app
from data.ingest import event_row, ingest
from jobs.maintenance import SelfMonitor, purge
from jobs.scheduler import Jobs
from settings import load_settings

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def services(tmp_path: Path) -> Any:
    app = create_app(load_settings({"db": str(tmp_path / "p.db"), "data_dir": str(tmp_path)}, environ={}))
    svc = app.server.extensions["pulseboard"]
    yield svc
    svc.close()


def row(ts: datetime, type_: str = "t", **kw: Any) -> dict[str, Any]:
    return event_row(ts, "s", type_, **kw)


def scalar(svc: Any, sql: str) -> int:
    with svc.db.read() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def test_retention_removes_exactly_the_old_rows_while_ingest_runs(services: Any) -> None:
    ingest(services.db, [row(NOW - timedelta(days=40, minutes=i), "old", duration_ms=5.0) for i in range(4500)])
    ingest(services.db, [row(NOW - timedelta(days=5, minutes=i), "kept", duration_ms=5.0) for i in range(300)])
    stop = threading.Event()
    written = []

    def keep_ingesting() -> None:
        while not stop.is_set():
            written.append(len(ingest(services.db, [row(NOW, "live")] * 20).stored))

    writer = threading.Thread(target=keep_ingesting)
    writer.start()
    try:
        removed = purge(services.db, now=NOW, retention_days=30, rollup_retention_days=35)
    finally:
        stop.set()
        writer.join()
    assert removed["events"] == 4500
    assert scalar(services, "SELECT count(*) FROM events WHERE type = 'old'") == 0
    assert scalar(services, "SELECT count(*) FROM events WHERE type = 'kept'") == 300
    assert scalar(services, "SELECT count(*) FROM events WHERE type = 'live'") == sum(written) > 0
    assert scalar(services, "SELECT count(*) FROM rollups WHERE type = 'old'") == 0
    assert scalar(services, "SELECT count(*) FROM rollups_hourly WHERE type = 'old'") == 0
    assert scalar(services, "SELECT count(*) FROM rollup_hist WHERE type = 'old'") == 0
    assert scalar(services, "SELECT sum(count) FROM rollups WHERE type = 'kept'") == 300


def test_self_monitoring_stores_requests_and_gauges_as_pulseboard_events(services: Any) -> None:
    monitor = SelfMonitor(services)
    monitor.request("/api/events", "POST", 201, 0.012, NOW)
    monitor.request("/api/events", "POST", 422, 0.002, NOW)
    assert monitor.flush() == 2
    assert monitor.gauges() == 5
    with services.db.read() as conn:
        rows = conn.execute(
            text("SELECT type, entity, status, duration_ms FROM events WHERE source = 'pulseboard' ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows[:2]] == [
        ("request", "/api/events", "201", 12.0),
        ("request", "/api/events", "422", 2.0),
    ]
    assert {r[0] for r in rows[2:]} == {"cpu_percent", "memory_mb", "db_size_mb", "disk_percent", "live_clients"}
    with services.db.read() as conn:
        disk = conn.execute(text("SELECT value FROM events WHERE type = 'disk_percent'")).scalar_one()
    usage = shutil.disk_usage(services.settings.data_dir)
    assert 0.0 < disk <= 100.0 and disk == pytest.approx(100.0 * (usage.total - usage.free) / usage.total, abs=1.0)


def test_the_scheduler_starts_and_stops_without_leaving_a_thread(services: Any) -> None:
    before = set(threading.enumerate())
    jobs = Jobs(services)
    jobs.start()
    assert {j.id for j in jobs.scheduler.get_jobs()} == {
        "self-monitor-requests",
        "self-monitor-gauges",
        "retention",
        "backup",
        "alerts",
        "exports",
        "job-lease",
    }
    assert jobs.lease.held  # the only process on this database
    jobs.stop()
    assert not jobs.lease.held
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]


def test_retention_removes_old_sent_and_failed_mail_and_keeps_pending_mail(services: Any) -> None:
    from data import outbox

    with services.db.write() as conn:
        for key, age in (("old-sent", 40), ("old-failed", 40), ("old-pending", 40), ("new-sent", 5)):
            outbox.enqueue(
                conn,
                recipient="a@example.com",
                subject=key,
                body_text="t",
                dedupe_key=key,
                now=NOW - timedelta(days=age),
            )
        for m in outbox.claim(conn, now=NOW, limit=10):
            if m["subject"] in ("old-sent", "new-sent"):
                outbox.mark_sent(conn, m["id"], now=NOW)
            elif m["subject"] == "old-failed":
                outbox.mark_failed(conn, m["id"], error="550", now=NOW, max_attempts=1, base=1, cap=1)
            else:
                outbox.mark_failed(conn, m["id"], error="451", now=NOW, max_attempts=9, base=1, cap=1)
    removed = purge(services.db, now=NOW, retention_days=30, rollup_retention_days=35)
    assert removed["outbox"] == 2
    with services.db.read() as conn:
        assert sorted(m["subject"] for m in outbox.recent(conn)) == ["new-sent", "old-pending"]
