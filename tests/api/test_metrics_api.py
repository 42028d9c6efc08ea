"""GET /metrics: the Prometheus text format, parsed with prometheus-client's parser."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import wait_until


def samples(server: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = server.get("/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(r.text)
        for s in f.samples
    }


def test_it_counts_ingested_events_and_requests_per_endpoint(sqlite_server: Any) -> None:
    first = sqlite_server.post("/api/events", json=[{"type": "a"}, {"type": "b"}]).json()["ids"]
    second = sqlite_server.post("/api/events", json=[{"type": "c", "uid": "u1"}]).json()["ids"]
    sqlite_server.post("/api/events", json=[{"type": "c", "uid": "u1"}])  # a retry stores nothing
    sqlite_server.post("/api/events", json={"type": 5})
    assert first + second == [1, 2, 3]  # a fresh database: the newest stored event is id 3
    # The gauge follows the live tail, which ingest wakes: wait for it to reach the newest id.
    wait_until(
        lambda: samples(sqlite_server)[("pulseboard_last_event_id", ())] == 3, message="last_event_id to reach 3"
    )
    got = samples(sqlite_server)
    assert got[("pulseboard_events_ingested_total", ())] == 3
    assert (
        got[("pulseboard_http_requests_total", (("endpoint", "/api/events"), ("method", "POST"), ("status", "201")))]
        == 2
    )
    assert (
        got[("pulseboard_http_requests_total", (("endpoint", "/api/events"), ("method", "POST"), ("status", "422")))]
        == 1
    )
    assert (
        got[("pulseboard_http_requests_total", (("endpoint", "/api/events"), ("method", "POST"), ("status", "200")))]
        == 1
    )
    assert got[("pulseboard_http_request_seconds_count", (("endpoint", "/api/events"),))] == 4
    assert got[("pulseboard_last_event_id", ())] == 3
    assert got[("pulseboard_database_bytes", ())] > 0
    assert got[("pulseboard_live_clients", ())] == 0
    assert got[("pulseboard_job_lease", ())] == 0  # this test's server runs no jobs
    assert got[("pulseboard_alerts", (("severity", "error"), ("state", "firing")))] == 0


def test_it_counts_open_alerts_by_state_and_severity(sqlite_server: Any) -> None:
    sqlite_server.post("/api/rules", json={"name": "any event", "threshold": 0, "severity": "error"}).raise_for_status()
    sqlite_server.post("/api/rules", json={"name": "slowly", "threshold": 0, "for": "1h"}).raise_for_status()
    sqlite_server.post("/api/events", json=[{"type": "a"}]).raise_for_status()
    sqlite_server.post("/api/alerts/evaluate").raise_for_status()
    got = samples(sqlite_server)
    assert got[("pulseboard_alerts", (("severity", "error"), ("state", "firing")))] == 1
    assert got[("pulseboard_alerts", (("severity", "warning"), ("state", "pending")))] == 1
    assert got[("pulseboard_alerts", (("severity", "warning"), ("state", "firing")))] == 0
