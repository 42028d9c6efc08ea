"""The client's Monitor against real servers: batching, the offline spool and
its replay, dead letters, records (sessions, components, executions)."""

from __future__ import annotations

import csv
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from client import Monitor
from tests.client.conftest import SharedServer, closed_port_url, server_rows
from tests.conftest import wait_until


def stored_count(db: Path, source: str) -> int:
    return int(server_rows(db, "SELECT count(*) FROM events WHERE source = ?", source)[0][0])


def test_every_event_is_stored_once_and_in_order_across_a_server_restart(process_server: Any, tmp_path: Path) -> None:
    server = process_server("--log-level", "WARNING")
    db = tmp_path / "pulseboard.db"
    monitor = Monitor(server.url, source="restart", spool_dir=tmp_path / "spool", max_backoff=1.0)
    try:
        for i in range(5000):
            monitor.log_event("tick", str(i), {"i": i}, value=i)
        wait_until(lambda: stored_count(db, "restart") > 0, timeout=60, message="first batches stored")
        server.stop(signal.SIGKILL)  # half-way, hard: batches in flight, queued and still to be logged
        for i in range(5000, 10_000):
            monitor.log_event("tick", str(i), {"i": i}, value=i)
        wait_until(lambda: monitor.stats()["spool"]["pending_events"] > 0, timeout=30, message="events spooled")
        server.start()  # same port, same database
        assert monitor.flush(timeout=90), monitor.stats()
        stats = monitor.stats()
    finally:
        monitor.close()
        server.stop(signal.SIGKILL)  # nothing left to wait for (a graceful stop takes seconds)
    rows = server_rows(db, "SELECT message, uid FROM events WHERE source = 'restart' AND type = 'tick' ORDER BY id")
    assert [m for m, _ in rows] == [str(i) for i in range(10_000)]  # each once, ids in logged order
    assert len({uid for _, uid in rows}) == 10_000
    assert stats["events_spooled"] > 0 and stats["events_replayed"] > 0
    assert stats["spool"]["pending_events"] == 0 and stats["queued"] == 0


def test_events_spooled_while_the_server_is_down_are_replayed_by_the_next_process(
    shared_server: SharedServer, tmp_path: Path
) -> None:
    spool = tmp_path / "spool.db"
    offline = Monitor(closed_port_url(), source="later", spool_path=spool)
    for i in range(300):
        offline.log_event("offline", str(i))
    offline.close()  # the server is down: everything is in the spool file now
    assert offline.stats()["spool"]["pending_events"] == 300

    online = Monitor(shared_server.url, source="later", spool_path=spool)
    try:
        assert online.flush(timeout=60)
    finally:
        online.close()
    rows = shared_server.query("SELECT message FROM events WHERE source = 'later' AND type = 'offline' ORDER BY id")
    assert [m for (m,) in rows] == [str(i) for i in range(300)]


def test_an_event_the_server_rejects_goes_to_the_dead_letters_and_the_rest_of_its_batch_is_stored(
    shared_server: SharedServer, tmp_path: Path
) -> None:
    monitor = Monitor(shared_server.url, source="deadletter", spool_dir=tmp_path, flush_interval=5.0)
    try:
        monitor.log_event("fine", "before")
        monitor.log_event("x" * 150, "type too long")  # the server's limit is 100 characters
        monitor.log_event("fine", "after")
        assert monitor.flush(timeout=60)
        stats = monitor.stats()
        lines = monitor.export_spool_csv(tmp_path / "spool.csv")
    finally:
        monitor.close()
    assert [
        m for (m,) in shared_server.query("SELECT message FROM events WHERE source = 'deadletter' ORDER BY id")
    ] == ["before", "after"]
    assert stats["events_dead"] == 1 and stats["spool"]["dead_events"] == 1
    assert lines == 1
    with open(tmp_path / "spool.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert (
        row["state"] == "dead"
        and row["http_status"] == "422"
        and "type" in row["error"]
        and row["message"] == "type too long"
    )


def test_sessions_components_and_executions_are_recorded_in_order_with_the_events(
    shared_server: SharedServer, tmp_path: Path
) -> None:
    monitor = Monitor(shared_server.url, source="records", spool_dir=tmp_path)
    try:
        session = monitor.start_session(user="ana")
        monitor.log_event("scan", "in the session")
        monitor.end_session()
        monitor.update_system_state("camera", "online", "640x480", ttl_seconds=120)
        with monitor.execution("nightly-report") as run:
            run.metric("rows", 1200)
        with pytest.raises(ValueError, match="boom"), monitor.execution("broken-report"):
            raise ValueError("boom")
        assert monitor.flush(timeout=60)
    finally:
        monitor.close()
    assert shared_server.query("SELECT session_id FROM events WHERE source = 'records' AND type = 'scan'") == [
        (session,)
    ]
    ((user, ended),) = shared_server.query("SELECT user, ended_at FROM sessions WHERE id = ?", session)
    assert user == "ana" and ended is not None
    assert shared_server.query("SELECT status, detail, ttl_seconds FROM components WHERE name = 'camera'") == [
        ("online", "640x480", 120.0)
    ]
    runs = dict(shared_server.query("SELECT script, status FROM executions WHERE source = 'records'"))
    assert runs == {"nightly-report": "success", "broken-report": "failed"}
    ((attrs,),) = shared_server.query("SELECT attrs FROM executions WHERE script = 'broken-report'")
    assert json.loads(attrs)["error"] == "ValueError: boom"
    metrics = shared_server.query(
        "SELECT m.name, m.value FROM execution_metrics m JOIN executions e ON e.id = m.execution_id "
        "WHERE e.script = 'nightly-report'"
    )
    assert metrics == [("rows", 1200.0)]


def test_a_full_spool_keeps_the_oldest_events_and_drops_the_newest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monitor = Monitor(
        closed_port_url(), source="full", spool_path=tmp_path / "spool.db", spool_max_bytes=20_000, batch_size=10
    )
    for i in range(400):
        monitor.log_event("filler", f"{i:04d}")
    monitor.close()
    stats = monitor.stats()
    assert stats["events_dropped"] > 0
    assert stats["spool"]["pending_bytes"] <= 20_000
    monitor.export_spool_csv(tmp_path / "spool.csv")
    with open(tmp_path / "spool.csv", newline="") as fh:
        kept = [row["message"] for row in csv.DictReader(fh)]
    assert kept == [f"{i:04d}" for i in range(len(kept))]  # a prefix: the oldest
    assert "spool" in caplog.text and "full" in caplog.text


def test_spool_csv_export_carries_each_event_with_its_uid(tmp_path: Path) -> None:
    monitor = Monitor(closed_port_url(), source="export", spool_path=tmp_path / "spool.db")
    monitor.log_event("scan", "one", {"student_id": "2021001"}, entity="gate-1", value=2)
    monitor.update_system_state("camera", "offline", "unplugged")
    monitor.close()
    assert monitor.export_spool_csv(tmp_path / "out.csv") == 2
    with open(tmp_path / "out.csv", newline="") as fh:
        event, record = list(csv.DictReader(fh))
    assert (event["state"], event["type"], event["entity"], event["value"]) == ("pending", "scan", "gate-1", "2")
    assert json.loads(event["attrs"]) == {"student_id": "2021001"} and len(event["uid"]) == 32
    assert record["path"] == "/api/components/camera" and json.loads(record["body"])["status"] == "offline"


def test_log_event_refuses_fields_the_server_does_not_know(tmp_path: Path) -> None:
    monitor = Monitor(closed_port_url(), spool_path=tmp_path / "spool.db")
    try:
        with pytest.raises(TypeError, match="colour"):
            monitor.log_event("scan", colour="red")
    finally:
        monitor.close()
