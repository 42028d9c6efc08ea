"""The attendance scanner's device monitor, replayed end to end against a real
Pulseboard: every Python call its integration guide shows (``get_monitor``,
``start``, ``log_event`` for scans, photos, syncs, SMS and warnings,
``update_system_state``, ``get_metrics``, ``subscribe``, ``export_metrics``)
and every route its dashboard used (``/api/status``, ``/api/metrics``,
``/api/events``, ``/api/alerts``, ``/api/stream``, ``/dashboard``), with the
answers' content checked."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from client import monitor as client_monitor
from tests.conftest import ProcessServer, wait_until


@pytest.fixture
def device_server(tmp_path: Path) -> Iterator[ProcessServer]:
    server = ProcessServer(["--data-dir", str(tmp_path / "server"), "--log-level", "WARNING"]).start()
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture
def monitor(device_server: ProcessServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # The device's code reads its server from the environment, as the client documents.
    monkeypatch.setenv("PULSE_URL", device_server.url)
    monkeypatch.setenv("PULSE_SOURCE", "attendance")
    monkeypatch.setenv("PULSE_SPOOL_DIR", str(tmp_path / "spool"))
    client_monitor._instance = None  # a fresh process-wide monitor for this test
    mon = client_monitor.get_monitor()
    yield mon
    mon.close()
    client_monitor._instance = None


def record_attendance(mon: Any, student: str, record_id: int, synced: bool, sms_sent: bool) -> None:
    """What the attendance system does per scan, call for call as its guide shows."""
    mon.log_event(
        "scan",
        f"Attendance recorded: {student}",
        {"student_id": student, "record_id": record_id, "scan_type": "qr", "status": "present"},
    )
    mon.log_event(
        "photo", f"Photo saved for {student}", {"student_id": student, "filepath": "/tmp/p.jpg", "size_kb": 41}
    )
    if synced:
        mon.log_event("sync", f"Cloud sync successful: {student}", {"record_id": record_id, "student_id": student})
    else:
        mon.log_event("warning", f"Cloud sync queued: {student}", {"record_id": record_id, "student_id": student})
    if sms_sent:
        mon.log_event("sms", f"SMS sent: {student}", {"student_id": student, "phone": "+15550100"})
    else:
        mon.log_event("warning", f"SMS failed: {student}", {"student_id": student, "phone": "+15550100"})


def test_the_device_monitors_calls_and_routes_work_unchanged(
    device_server: ProcessServer, monitor: Any, tmp_path: Path
) -> None:
    url = device_server.url
    assert monitor.start() is monitor  # `monitor.start()` is kept: the sender already runs

    seen: list[tuple[str, Any]] = []
    got = threading.Event()

    def my_callback(event_type: str, data: Any) -> None:
        seen.append((event_type, data))
        if event_type == "custom":
            got.set()

    subscription = monitor.subscribe(my_callback)
    try:
        monitor.update_system_state("camera", "online", "640x480")
        monitor.update_system_state("cloud", "online", "Connected")
        monitor.update_system_state("sms", "online", "Ready")
        for i in range(12):
            record_attendance(monitor, f"2021{i:03d}", 100 + i, synced=i != 3, sms_sent=i != 5)
        monitor.log_event(
            "custom", "Custom operation completed", {"operation": "backup", "duration": 5.2, "status": "success"}
        )
        assert monitor.flush(timeout=30), monitor.stats()

        # The metrics card, from the Python call and from the route.
        metrics = monitor.get_metrics()
        assert metrics["scans_today"] == 12 and metrics["scans_last_hour"] == 12
        assert f"{metrics['success_rate']:.1f}%" == "91.7%"  # 11 of 12 records reached the cloud
        assert (metrics["queue_size"], metrics["failed_syncs"]) == (0, 1)
        route_metrics = requests.get(url + "/api/metrics", timeout=10).json()
        assert set(route_metrics) == {
            "scans_today",
            "scans_last_hour",
            "success_rate",
            "queue_size",
            "failed_syncs",
            "uptime_seconds",
        }
        assert {k: v for k, v in route_metrics.items() if k != "uptime_seconds"} == {
            k: v for k, v in metrics.items() if k != "uptime_seconds"
        }

        # The status card: every component online, so healthy.
        status = requests.get(url + "/api/status", timeout=10).json()
        assert set(status) >= {"timestamp", "metrics", "system_state", "recent_events", "recent_alerts", "uptime"}
        state = status["system_state"]
        assert (state["status"], state["camera_status"], state["cloud_status"], state["sms_status"]) == (
            "healthy",
            "online",
            "online",
            "online",
        )
        assert status["metrics"]["scans_today"] == 12
        assert status["uptime"].endswith("m") and "h " in status["uptime"]

        # The event stream of the dashboard: the newest events, their types and context.
        events = requests.get(url + "/api/events", timeout=10).json()
        items = events["events"]
        assert len(items) == 50  # the last 50, as the dashboard showed
        assert [e["ts"] for e in items] == sorted((e["ts"] for e in items), reverse=True)  # newest first
        custom = next(e for e in items if e["type"] == "custom")
        assert custom["message"] == "Custom operation completed"
        assert custom["context"] == {"operation": "backup", "duration": 5.2, "status": "success"}
        assert {"scan", "photo", "sync", "sms", "warning"} <= {e["type"] for e in items}

        # A component that breaks turns the overall health and raises an alert.
        monitor.update_system_state("camera", "error", "Failed to start")
        assert monitor.flush(timeout=30)
        broken = requests.get(url + "/api/status", timeout=10).json()["system_state"]
        assert broken["camera_status"] == "error" and broken["status"] != "healthy"

        alerts = requests.get(url + "/api/alerts", timeout=10).json()
        camera = [a for a in alerts["alerts"] if "camera" in a["id"]]
        assert alerts["count"] == len(alerts["alerts"]) <= 20
        assert camera and camera[0]["level"] == "error", alerts

        # subscribe() delivered the events as they were stored.
        assert got.wait(30), seen[-5:]
        scans = [d for t, d in seen if t == "scan"]
        assert len(scans) == 12 and scans[0]["attrs"]["student_id"] == "2021000"
    finally:
        subscription.close()

    # export_metrics() writes the metrics as JSON where it says.
    path = Path(monitor.export_metrics(tmp_path / "metrics_export.json"))
    exported = json.loads(path.read_text())
    assert exported["metrics"]["scans_today"] == 12 and exported["metrics"]["failed_syncs"] == 1

    # The dashboard's own address still opens the dashboard.
    r = requests.get(url + "/dashboard", timeout=10, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] in ("/", url + "/")


def test_the_sse_stream_carries_each_event_as_the_dashboard_read_it(device_server: ProcessServer, monitor: Any) -> None:
    lines: list[str] = []
    stop = threading.Event()

    def follow() -> None:
        with requests.get(device_server.url + "/api/stream", stream=True, timeout=30) as r:
            lines.append(r.headers["Content-Type"])
            try:
                for raw in r.iter_lines(decode_unicode=True):
                    lines.append(raw)
                    if stop.is_set():
                        return
            except requests.exceptions.ChunkedEncodingError:
                return  # the server stopped at the end of the test

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    wait_until(lambda: bool(lines), timeout=30, message="the stream opened")
    assert lines[0].startswith("text/event-stream")
    record_attendance(monitor, "2021999", 999, synced=True, sms_sent=True)
    assert monitor.flush(timeout=30)
    wait_until(
        lambda: sum(line.startswith("data:") and "2021999" in line for line in lines) >= 4,
        timeout=30,
        message="the four events of one scan on the stream",
    )
    stop.set()
    data = [json.loads(line[5:]) for line in lines if line.startswith("data:") and "2021999" in line]
    assert [d["type"] for d in data] == ["scan", "photo", "sync", "sms"]
    assert data[0]["attrs"] == {"student_id": "2021999", "record_id": 999, "scan_type": "qr", "status": "present"}
