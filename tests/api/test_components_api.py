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
