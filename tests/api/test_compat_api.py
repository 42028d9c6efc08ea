"""POST /ingest/interaction, the macro-sessions tool's ingest route:
stored as an event of source "macro" in the session of the user who started it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tests.factories import stored_event, totals, uid

MACRO = {
    "interaction_type": "macro_execution",
    "button_key": "Num5",
    "execution_time_ms": 1250,
    "total_boxes": 5,
    "degradation_assignments": "smudge,glare",
    "degradation_counts": {"smudge": 1, "glare": 1},
}


def interaction(server: Any, **fields: Any) -> Any:
    return server.post("/ingest/interaction", json={**MACRO, **fields})


def test_an_interaction_is_stored_as_a_macro_event_of_the_sessions_user(shared_server: Any) -> None:
    session_id = uid("sess")
    shared_server.post("/session/start", json={"session_id": session_id, "username": "john_doe", "canvas_mode": "wide"})
    r = interaction(shared_server, session_id=session_id)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body == {"status": "success", "interaction_id": body["interaction_id"], "session_id": session_id}
    row = stored_event(shared_server, body["interaction_id"])
    assert {k: row[k] for k in ("source", "type", "entity", "duration_ms", "value", "user", "session_id")} == {
        "source": "macro",
        "type": "macro_execution",
        "entity": "Num5",
        "duration_ms": 1250.0,
        "value": 5.0,
        "user": "john_doe",
        "session_id": session_id,
    }
    assert row["attrs"] == {
        "degradation_assignments": "smudge,glare",
        "degradation_counts": {"smudge": 1.0, "glare": 1.0},
    }


def test_an_interaction_of_an_unknown_session_is_stored_without_a_user(shared_server: Any) -> None:
    r = interaction(shared_server, session_id=uid("sess"))
    assert r.status_code == 201
    assert stored_event(shared_server, r.json()["interaction_id"])["user"] is None


def test_unknown_interaction_fields_are_kept_in_attrs(shared_server: Any) -> None:
    r = shared_server.post(
        "/ingest/interaction",
        json={"session_id": uid("sess"), "interaction_type": "click", "canvas": "wide", "zoom": 2},
    )
    assert r.status_code == 201
    row = stored_event(shared_server, r.json()["interaction_id"])
    assert row["attrs"] == {"canvas": "wide", "zoom": 2}
    assert (row["entity"], row["value"], row["duration_ms"]) == (None, None, None)


def test_an_interaction_timestamp_is_used_as_the_event_time(shared_server: Any) -> None:
    r = interaction(shared_server, session_id=uid("sess"), timestamp="2023-12-01 14:30:22")
    assert r.status_code == 201, r.text
    assert stored_event(shared_server, r.json()["interaction_id"])["ts"] == datetime(
        2023, 12, 1, 14, 30, 22, tzinfo=timezone.utc
    )


def test_a_retried_interaction_with_its_uid_is_stored_once(shared_server: Any) -> None:
    key = uid()
    first = interaction(shared_server, session_id=uid("sess"), uid=key)
    before = totals(shared_server)
    again = interaction(shared_server, session_id=uid("sess"), uid=key)
    assert again.json()["interaction_id"] == first.json()["interaction_id"]
    assert totals(shared_server) == before


def test_it_rejects_a_bad_interaction_with_422_naming_the_field(shared_server: Any) -> None:
    cases = [
        ({"session_id": "s1"}, "interaction_type"),
        ({"interaction_type": "click"}, "session_id"),
        ({"session_id": "bad id", "interaction_type": "click"}, "session_id"),
        ({"session_id": "s1", "interaction_type": "click", "execution_time_ms": -1}, "execution_time_ms"),
        ({"session_id": "s1", "interaction_type": "click", "total_boxes": "five"}, "total_boxes"),
        (
            {"session_id": "s1", "interaction_type": "click", "degradation_counts": {"smudge": "one"}},
            "degradation_counts.smudge",
        ),
        ({"session_id": "s1", "interaction_type": "click", "timestamp": "9999-12-31T23:00:00-05:00"}, "timestamp"),
    ]
    before = totals(shared_server)
    for body, field in cases:
        r = shared_server.post("/ingest/interaction", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field
    assert totals(shared_server) == before


def test_it_rejects_extra_interaction_fields_past_the_attrs_limits(shared_server: Any) -> None:
    before = totals(shared_server)
    deep = '{"session_id": "s1", "interaction_type": "click", "tree": ' + "[" * 900 + "]" * 900 + "}"
    for r in (
        shared_server.post(
            "/ingest/interaction", json={"session_id": "s1", "interaction_type": "click", "blob": "b" * 17_000}
        ),
        shared_server.post("/ingest/interaction", data=deep, headers={"Content-Type": "application/json"}),
    ):
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "attrs"
    assert totals(shared_server) == before
