"""PUT /api/components/<name>: a component's state (e.g. camera online
640x480), kept in the components table and written as a "component" event."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from data.models import COMPONENTS, EVENTS
from tests.factories import count, rows, stored_events, totals, uid


def put(server: Any, name: str, body: Any) -> Any:
    return server.put(f"/api/components/{name}", json=body)


def component_events(server: Any, name: str) -> list[dict[str, Any]]:
    return stored_events(server, EVENTS.c.type == "component", EVENTS.c.entity == name)


def test_it_sets_a_component_state_and_writes_an_event(shared_server: Any) -> None:
    name = uid("camera")
    r = put(shared_server, name, {"status": "online", "detail": "640x480", "source": "scanner"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in ("name", "status", "detail")} == {"name": name, "status": "online", "detail": "640x480"}
    (row,) = rows(shared_server, COMPONENTS, COMPONENTS.c.name == name)
    assert (row["status"], row["detail"]) == ("online", "640x480")
    assert row["updated_at"].isoformat() == body["updated_at"]
    (ev,) = component_events(shared_server, name)
    assert (ev["source"], ev["status"], ev["message"]) == ("scanner", "online", "640x480")


def test_it_updates_an_existing_component(shared_server: Any) -> None:
    name = uid("printer")
    put(shared_server, name, {"status": "online", "detail": "ready"})
    r = put(shared_server, name, {"status": "offline"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["detail"]) == ("offline", None)
    (row,) = rows(shared_server, COMPONENTS, COMPONENTS.c.name == name)
    assert (row["status"], row["detail"]) == ("offline", None)
    assert [e["status"] for e in component_events(shared_server, name)] == ["online", "offline"]


@pytest.mark.parametrize("name", ["bad name", "-leading-dash", "x" * 101, "caméra", "semi;colon", "cam%0A"])
def test_a_bad_component_name_answers_400(shared_server: Any, name: str) -> None:
    before = totals(shared_server)
    r = put(shared_server, name, {"status": "online"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("component name: ")
    assert totals(shared_server) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "status"),
        ({"detail": "x"}, "status"),
        ({"status": ""}, "status"),
        ({"status": "s" * 51}, "status"),
        ({"status": 1}, "status"),
        ({"status": "ok", "detail": "d" * 10_001}, "detail"),
        ({"status": "ok", "colour": "red"}, "colour"),
    ],
    ids=["empty", "no-status", "empty-status", "long-status", "number-status", "long-detail", "unknown-field"],
)
def test_a_bad_component_body_answers_422_naming_the_field(
    shared_server: Any, body: dict[str, Any], field: str
) -> None:
    before = totals(shared_server)
    r = put(shared_server, uid("cam"), body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == field
    assert totals(shared_server) == before


def test_concurrent_first_updates_of_one_component_all_succeed(shared_server: Any) -> None:
    name = uid("sensor")
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def go(i: int) -> None:
        barrier.wait()
        codes.append(put(shared_server, name, {"status": "online", "detail": str(i)}).status_code)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 8
    assert count(shared_server, COMPONENTS, COMPONENTS.c.name == name) == 1
    assert len(component_events(shared_server, name)) == 8


def component(server: Any, name: str) -> dict[str, Any]:
    r = server.get("/api/components")
    assert r.status_code == 200, r.text
    (item,) = [c for c in r.json()["components"] if c["name"] == name]
    return dict(item)


def test_a_silent_component_goes_offline_after_its_ttl_and_uptime_counts_it(server: Any) -> None:
    from datetime import datetime, timedelta, timezone

    from tests.read_factories import freeze

    t0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    freeze(server, t0)
    assert put(server, "camera", {"status": "online", "detail": "640x480", "ttl_seconds": 600}).status_code == 200
    assert put(server, "cloud", {"status": "online"}).status_code == 200  # the default TTL (300 s)

    freeze(server, t0 + timedelta(minutes=6))
    cam, cloud = component(server, "camera"), component(server, "cloud")
    assert (cam["status"], cam["detail"], cam["ttl_seconds"]) == ("online", "640x480", 600.0)
    assert (cloud["status"], cloud["reported_status"]) == ("offline", "online")
    assert cloud["detail"] == "no report for 6m (last: online)"
    body = server.get("/api/components").json()
    assert (body["status"], body["camera_status"], body["cloud_status"]) == ("partial", "online", "offline")

    # Camera: silent for 60 min, longer than its 10-minute TTL: down as a whole.
    freeze(server, t0 + timedelta(minutes=10))
    assert component(server, "camera")["uptime"] == {"24h": 100.0, "7d": 100.0, "30d": 100.0}  # within its TTL
    freeze(server, t0 + timedelta(hours=1))
    cam = component(server, "camera")
    assert cam["status"] == "offline"
    assert cam["uptime"] == {"24h": 0.0, "7d": 0.0, "30d": 0.0}
    assert server.get("/api/components").json()["status"] == "error"  # nothing up


def test_uptime_follows_reported_states(server: Any) -> None:
    from datetime import datetime, timedelta, timezone

    from tests.read_factories import freeze

    t0 = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)
    for minutes, status in [(0, "online"), (30, "error"), (45, "online")]:
        freeze(server, t0 + timedelta(minutes=minutes))
        assert put(server, "sms", {"status": status, "ttl_seconds": 86400}).status_code == 200
    freeze(server, t0 + timedelta(hours=2))
    sms = component(server, "sms")
    assert sms["status"] == "online"
    assert sms["uptime"]["24h"] == 87.5  # 15 of 120 minutes in error
    freeze(server, t0 + timedelta(hours=24, minutes=45))  # still within its 1-day TTL: up since 00:45
    assert component(server, "sms")["uptime"]["24h"] == 100.0
    freeze(server, t0 + timedelta(days=2))  # silent for longer than its TTL: that silence is down as a whole
    assert component(server, "sms")["uptime"] == {"24h": 0.0, "7d": round(100 * 30 / (48 * 60), 2), "30d": 1.04}
