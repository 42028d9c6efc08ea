"""GET /api/overview: the KPI cards, component health, per-source counts and
recent events, their filters, and the result cache.

Data: :func:`tests.read_factories.device_monitor`. Today (since 00:00 UTC,
``NOW`` is 12:00) it stored 10 scans (ok), 10 syncs (8 success, 2 failed),
3 queue-size gauges and 3 component changes (online): 26 events, 21 of them
successes and 2 failures. In the last hour (from 11:00): 5 scans, 7 syncs,
3 gauges, 3 components = 18. In the last 10 minutes: 3 scans, 1 sync, 1 gauge,
3 components = 8. Users in the last 30 minutes: student0 to student4.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.read_factories import MIN, device_monitor, event, fixed_now, freeze, iso, post_events, shared_server

NOW = fixed_now()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def overview(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shared_server(request, tmp_path_factory) as server:
        device_monitor(server, NOW)
        yield server


def test_overview_kpis_count_today_the_last_hour_and_the_rate(overview: Any) -> None:
    r = overview.get("/api/overview")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"timestamp", "kpis", "system_state", "uptime_seconds", "sources", "recent_events"}
    assert body["timestamp"] == NOW.isoformat()
    kpis = body["kpis"]
    assert kpis["events_today"] == 26
    assert kpis["events_last_hour"] == 18
    assert kpis["rate_per_min"] == 0.8  # 8 events in the last 10 minutes
    assert kpis["success_rate"] == round(100 * 21 / 23, 2) == 91.3
    assert kpis["active_users_30m"] == 5
    assert kpis["open_sessions"] == 0
    assert kpis["last_event_id"] == max(e["id"] for e in body["recent_events"])


def test_overview_shows_components_sources_and_recent_events(overview: Any) -> None:
    body = overview.get("/api/overview").json()
    assert body["system_state"]["status"] == "healthy"
    assert body["system_state"]["camera_status"] == "online"
    assert body["sources"] == [{"source": "scanner", "count": 26}]
    events = body["recent_events"]
    assert len(events) == 29  # every stored event (under the 50 shown), yesterday's included
    assert [e["ts"] for e in events] == sorted((e["ts"] for e in events), reverse=True)


def test_overview_filters_narrow_every_figure(overview: Any) -> None:
    kpis = overview.get("/api/overview", params={"type": "scan"}).json()["kpis"]
    assert (kpis["events_today"], kpis["events_last_hour"], kpis["rate_per_min"], kpis["success_rate"]) == (
        10,
        5,
        0.3,
        100.0,
    )
    assert kpis["active_users_30m"] == 5
    body = overview.get("/api/overview", params={"type": "sync", "status": "failed,success"}).json()
    assert (body["kpis"]["events_today"], body["kpis"]["success_rate"], body["kpis"]["active_users_30m"]) == (
        10,
        80.0,
        0,
    )
    assert {e["type"] for e in body["recent_events"]} == {"sync"}
    assert overview.get("/api/overview", params={"source": "elsewhere"}).json()["sources"] == []


def test_overview_refuses_filters_the_rollups_cannot_apply(overview: Any) -> None:
    r = overview.get("/api/overview", params={"user": "student1"})
    assert r.status_code == 400
    assert "'user'" in r.json()["error"]


def test_overview_counts_open_sessions(server: Any) -> None:
    freeze(server, NOW)
    for sid in ("s1", "s2", "s3"):
        assert (
            server.post("/api/sessions", json={"id": sid, "user": f"u{sid}", "ts": iso(NOW - 5 * MIN)}).status_code
            == 201
        )
    assert server.post("/api/sessions/s2/end", json={"ts": iso(NOW - MIN)}).status_code == 200
    kpis = server.get("/api/overview").json()["kpis"]
    assert kpis["open_sessions"] == 2
    assert kpis["active_users_30m"] == 3  # the session events carry their users
    assert kpis["events_today"] == 4  # 3 starts and 1 end


def test_a_repeated_overview_is_served_from_the_cache_until_an_event_arrives(server: Any) -> None:
    device_monitor(server, NOW)
    cache = server.services.cache
    first = server.get("/api/overview").json()
    before = cache.stats()
    second = server.get("/api/overview").json()
    after = cache.stats()
    assert second == first
    assert (after["hits"], after["misses"]) == (before["hits"] + 1, before["misses"])
    post_events(server, [event(NOW - MIN, "scan", source="scanner", status="error", user="late")])
    third = server.get("/api/overview").json()
    assert cache.stats()["misses"] == after["misses"] + 1
    assert third["kpis"]["events_today"] == first["kpis"]["events_today"] + 1 == 27
    assert third["kpis"]["success_rate"] == round(100 * 21 / 24, 2)
    assert third["kpis"]["active_users_30m"] == 6
    assert "late" in [e["user"] for e in third["recent_events"]]


def test_an_empty_overview_has_zeros_and_no_success_rate(server: Any) -> None:
    freeze(server, NOW)
    body = server.get("/api/overview").json()
    assert body["kpis"] == {
        "events_today": 0,
        "events_last_hour": 0,
        "rate_per_min": 0.0,
        "success_rate": None,
        "active_users_30m": 0,
        "open_sessions": 0,
        "last_event_id": 0,
    }
    assert (body["sources"], body["recent_events"], body["system_state"]["status"]) == ([], [], "unknown")
