"""The device monitor's routes: GET /api/status, /api/metrics,
/api/events, plus /api/components and /api/dimensions/<name>.

Data: :func:`tests.read_factories.device_monitor` (numbers in its docstring),
plus a door sensor's ``checkin`` and ``backlog`` (42) events at 00:30 today.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.read_factories import HOUR, MIN, device_monitor, event, fixed_now, freeze, post_events, shared_server

METRIC_KEYS = {"scans_today", "scans_last_hour", "success_rate", "queue_size", "failed_syncs", "uptime_seconds"}
NOW = fixed_now()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def monitor(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shared_server(request, tmp_path_factory) as server:
        device_monitor(server, NOW)
        door = NOW - 11 * HOUR - 30 * MIN
        post_events(
            server,
            [event(door, "checkin", source="door", status="ok"), event(door, "backlog", source="door", value=42)],
        )
        yield server


def test_status_has_the_device_monitor_documents_shape(monitor: Any) -> None:
    freeze(monitor, NOW, uptime_seconds=3600.4)
    r = monitor.get("/api/status")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"timestamp", "metrics", "system_state", "recent_events", "recent_alerts", "uptime"}
    assert body["timestamp"] == NOW.isoformat()
    assert body["metrics"] == {
        "scans_today": 10,
        "scans_last_hour": 5,
        "success_rate": 80.0,
        "queue_size": 3,
        "failed_syncs": 2,
        "uptime_seconds": 3600,
    }
    assert body["uptime"] == "1h 0m"
    state = body["system_state"]
    assert state["status"] == "healthy"
    assert (state["camera_status"], state["cloud_status"], state["sms_status"]) == ("online", "online", "online")
    assert [(c["name"], c["detail"]) for c in state["components"]] == [
        ("camera", "640x480"),
        ("cloud", "Connected"),
        ("sms", "Ready"),
    ]
    assert body["recent_alerts"] == []
    # 31 events stored; the status shows the 20 newest, newest first.
    events = body["recent_events"]
    assert len(events) == 20
    assert [e["type"] for e in events[:5]] == ["component", "component", "component", "queue_size", "sync"]
    assert [e["ts"] for e in events] == sorted((e["ts"] for e in events), reverse=True)
    assert events[-1]["ts"] == (NOW - 73 * MIN).isoformat()
    assert {"id", "ts", "timestamp", "type", "source", "status", "attrs", "context"} <= set(events[0])


def test_metrics_count_scans_syncs_and_the_latest_queue_size(monitor: Any) -> None:
    body = monitor.get("/api/metrics").json()
    assert set(body) == METRIC_KEYS
    assert body["scans_today"] == 10  # 3 + 2 + 4 + 1 today; 2 yesterday are not counted
    assert body["scans_last_hour"] == 5
    assert body["success_rate"] == 80.0  # 8 of 10 syncs today, in percent
    assert body["failed_syncs"] == 2
    assert body["queue_size"] == 3  # the newest gauge value, not the largest (12) nor a sum


def test_metric_event_types_and_source_are_parameters(monitor: Any) -> None:
    body = monitor.get("/api/metrics", params={"scan_type": "sync"}).json()
    assert (body["scans_today"], body["scans_last_hour"]) == (
        10,
        7,
    )  # syncs today; 6 successes and 1 failure in the hour
    body = monitor.get(
        "/api/metrics", params={"scan_type": "checkin", "queue_type": "backlog", "source": "door"}
    ).json()
    assert (body["scans_today"], body["queue_size"], body["success_rate"], body["failed_syncs"]) == (1, 42, None, 0)
    body = monitor.get("/api/metrics", params={"source": "scanner", "queue_type": "backlog"}).json()
    assert (body["scans_today"], body["queue_size"]) == (10, 0)


def test_status_of_an_empty_database_has_zero_metrics_and_formats_uptime(server: Any) -> None:
    freeze(server, NOW, uptime_seconds=90061)
    body = server.get("/api/status").json()
    assert body["metrics"] == {
        "scans_today": 0,
        "scans_last_hour": 0,
        "success_rate": None,
        "queue_size": 0,
        "failed_syncs": 0,
        "uptime_seconds": 90061,
    }
    assert body["uptime"] == "1d 1h 1m"
    assert body["system_state"] == {"status": "unknown", "components": []}
    assert body["recent_events"] == []


def test_component_states_make_the_overall_status(server: Any) -> None:
    freeze(server, NOW)
    for name in ("camera", "cloud"):
        assert server.put(f"/api/components/{name}", json={"status": "online"}).status_code == 200
    assert server.get("/api/components").json()["status"] == "healthy"
    assert (
        server.put("/api/components/camera", json={"status": "error", "detail": "Failed to start"}).status_code == 200
    )
    state = server.get("/api/status").json()["system_state"]
    assert (state["status"], state["camera_status"], state["cloud_status"]) == ("error", "error", "online")
    assert server.put("/api/components/camera", json={"status": "offline"}).status_code == 200
    assert server.get("/api/components").json()["status"] == "partial"


def test_events_lists_the_last_50_newest_first_and_polls_after_an_id(server: Any) -> None:
    freeze(server, NOW)
    ids = post_events(server, [event(NOW - (60 - i) * MIN, "scan", source="scanner", status="ok") for i in range(60)])
    body = server.get("/api/events").json()
    assert body["count"] == 50
    assert [e["id"] for e in body["events"]] == ids[::-1][:50]
    assert [e["id"] for e in server.get("/api/events", params={"limit": 3}).json()["events"]] == ids[::-1][:3]
    body = server.get("/api/events", params={"after_id": ids[56]}).json()
    assert [e["id"] for e in body["events"]] == ids[57:]  # oldest first: a poller appends them
    assert server.get("/api/events", params={"after_id": ids[-1]}).json() == {"events": [], "count": 0}


def test_events_filter_by_dimension_and_time(monitor: Any) -> None:
    body = monitor.get("/api/events", params={"type": "sync", "status": "failed"}).json()
    assert body["count"] == 3
    body = monitor.get("/api/events", params={"type": "scan,queue_size", "since": (NOW - 10 * MIN).isoformat()}).json()
    assert sorted(e["type"] for e in body["events"]) == ["queue_size", "scan", "scan", "scan"]
    body = monitor.get("/api/events", params={"type": "scan", "until": (NOW - 3 * HOUR).isoformat()}).json()
    assert body["count"] == 3  # 1 at now-11h, 2 yesterday


def test_dimensions_list_known_values(monitor: Any) -> None:
    body = monitor.get("/api/dimensions/type").json()
    assert body == {"name": "type", "values": ["backlog", "checkin", "component", "queue_size", "scan", "sync"]}
    assert monitor.get("/api/dimensions/user", params={"limit": 2}).json()["values"] == ["student0", "student1"]
    r = monitor.get("/api/dimensions/colour")
    assert r.status_code == 404 and "colour" in r.json()["error"]


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/events", {"limit": "x"}, "limit"),
        ("/api/events", {"limit": "-1"}, "limit"),
        ("/api/events", {"limit": "5001"}, "limit"),
        ("/api/events", {"after_id": "-5"}, "after_id"),
        ("/api/events", {"since": "yesterday"}, "since"),
        ("/api/events", {"until": "1e400"}, "until"),
        ("/api/events", {"since": NOW.isoformat(), "until": (NOW - MIN).isoformat()}, "since"),
        ("/api/events", {"type": "x" * 301}, "type"),
        ("/api/dimensions/type", {"limit": "many"}, "limit"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    monitor: Any, path: str, params: dict[str, str], name: str
) -> None:
    r = monitor.get(path, params=params)
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert f"'{name}'" in r.json()["error"]


def test_alerts_follow_the_device_monitor_rules(server: Any) -> None:
    assert server.get("/api/alerts").json() == {"alerts": [], "count": 0}
    server.post(
        "/api/events",
        json=[{"type": "queue_size", "value": 51}]
        + [{"type": "sync", "status": "failed"}] * 11
        + [{"type": "scan", "status": "ok"}] * 11,
    )
    server.put("/api/components/cloud", json={"status": "offline", "detail": "No connectivity"})
    alerts = {a["id"]: a for a in server.get("/api/alerts").json()["alerts"]}
    assert set(alerts) == {"queue_size", "failed_syncs", "success_rate", "component:cloud"}
    assert alerts["queue_size"]["level"] == "warning" and "51 records" in alerts["queue_size"]["message"]
    assert alerts["failed_syncs"]["level"] == "error"
    assert alerts["success_rate"]["message"].startswith("0.0 %")
    assert {a["id"] for a in server.get("/api/status").json()["recent_alerts"]} == set(alerts)


def test_a_success_rate_over_few_scans_raises_no_alert(server: Any) -> None:
    server.post("/api/events", json=[{"type": "sync", "status": "failed"}] * 3 + [{"type": "scan", "status": "ok"}] * 5)
    assert [a["id"] for a in server.get("/api/alerts").json()["alerts"]] == []
