"""The client's read side against a real server: metrics and the live feed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from client import Monitor
from tests.client.conftest import SharedServer
from tests.conftest import wait_until


def test_get_metrics_returns_the_device_monitor_card(shared_server: SharedServer, tmp_path: Path) -> None:
    monitor = Monitor(shared_server.url, source="metrics-test", spool_dir=tmp_path)
    try:
        metrics = monitor.get_metrics(source="metrics-test")
        assert set(metrics) == {
            "scans_today",
            "scans_last_hour",
            "success_rate",
            "queue_size",
            "failed_syncs",
            "uptime_seconds",
        }
        monitor.log_event("scan", "recorded", status="ok")
        assert monitor.flush(10)
        assert monitor.get_metrics(source="metrics-test")["scans_today"] == 1
    finally:
        monitor.close()


def test_subscribe_delivers_each_new_event_of_its_topic_once(shared_server: SharedServer, tmp_path: Path) -> None:
    monitor = Monitor(shared_server.url, source="subscriber", spool_dir=tmp_path)
    seen: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def on_event(kind: str, data: Any) -> None:
        with lock:
            seen.append((kind, data))

    subscription = monitor.subscribe(on_event, topics={"source": "subscriber"})
    try:
        assert subscription.connected.wait(20), "the stream did not connect"
        for i in range(5):
            monitor.log_event("tick", f"tick {i}", value=i)
        monitor.log_event("tock", source="elsewhere")
        assert monitor.flush(10)
        wait_until(lambda: len(seen) >= 5, message="five events through the live feed")
        with lock:
            ticks = [d for k, d in seen if k == "tick"]
        assert [d["value"] for d in ticks] == [0, 1, 2, 3, 4]
        assert all(d["source"] == "subscriber" for _, d in seen)
    finally:
        subscription.close()
        monitor.close()
