"""Sessions: POST /api/sessions, POST /api/sessions/<id>/end, and the macro-sessions
tool's POST /session/start and POST /session/end."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from data.models import EVENTS, SESSIONS
from tests.factories import count, rows, stored_events, totals, uid

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 9, 30, 0, tzinfo=UTC)


def start(server: Any, body: dict[str, Any], path: str = "/api/sessions") -> Any:
    return server.post(path, json=body)


def session_row(server: Any, session_id: str) -> dict[str, Any]:
    (row,) = rows(server, SESSIONS, SESSIONS.c.id == session_id)
    return row


def session_events(server: Any, session_id: str, type_: str) -> list[dict[str, Any]]:
    return stored_events(server, EVENTS.c.session_id == session_id, EVENTS.c.type == type_)


# ----------------------------------------------------------------- start


def test_it_generates_an_id_from_the_start_time(shared_server: Any) -> None:
    r = start(shared_server, {"ts": "2024-05-01T08:07:06+02:00", "user": "ann"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] == "sess_20240501_060706"  # UTC
    assert body["user"] == "ann" and body["ended_at"] is None and body["duration_s"] is None
    assert session_row(shared_server, body["id"])["started_at"] == datetime(2024, 5, 1, 6, 7, 6, tzinfo=UTC)


def test_it_generates_an_id_from_now_without_a_body(shared_server: Any) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    r = shared_server.post("/api/sessions")
    after = datetime.now(UTC)
    assert r.status_code in (200, 201), r.text  # 200 if another test started one this second
    session_id = r.json()["id"]
    assert re.fullmatch(r"sess_\d{8}_\d{6}", session_id)
    stamp = datetime.strptime(session_id, "sess_%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    assert before <= stamp <= after


def test_it_keeps_a_given_id_user_source_and_attrs(shared_server: Any) -> None:
    session_id = uid("sess")
    r = start(
        shared_server,
        {"id": session_id, "user": "bob", "source": "labeler", "ts": T0.isoformat(), "attrs": {"desk": 4}},
    )
    assert r.status_code == 201
    assert r.json() == {
        "id": session_id,
        "source": "labeler",
        "user": "bob",
        "started_at": T0.isoformat(),
        "ended_at": None,
        "attrs": {"desk": 4},
        "duration_s": None,
    }
    assert session_row(shared_server, session_id)["attrs"] == {"desk": 4}
    (ev,) = session_events(shared_server, session_id, "session_start")
    assert (ev["user"], ev["source"], ev["ts"]) == ("bob", "labeler", T0)


def test_starting_an_existing_session_again_returns_it_with_200(shared_server: Any) -> None:
    session_id = uid("sess")
    first = start(shared_server, {"id": session_id, "user": "ann", "ts": T0.isoformat()})
    again = start(shared_server, {"id": session_id, "user": "someone else"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(session_events(shared_server, session_id, "session_start")) == 1


def test_concurrent_starts_of_one_session_store_it_once(shared_server: Any) -> None:
    session_id = uid("sess")
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def go() -> None:
        barrier.wait()
        codes.append(start(shared_server, {"id": session_id}).status_code)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 7 + [201]
    assert count(shared_server, SESSIONS, SESSIONS.c.id == session_id) == 1
    assert len(session_events(shared_server, session_id, "session_start")) == 1


def test_it_rejects_a_bad_session_id_with_422(shared_server: Any) -> None:
    before = totals(shared_server)
    r = start(shared_server, {"id": "has spaces"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "id"
    assert totals(shared_server) == before


def test_it_rejects_session_attrs_over_the_limits_with_422(shared_server: Any) -> None:
    before = totals(shared_server)
    for body in (
        {"id": uid("s"), "notes": "n" * 17_000},
        {"id": uid("s"), "attrs": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}},
    ):
        r = start(shared_server, body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [{"field": "attrs", "message": r.json()["errors"][0]["message"]}]
    assert totals(shared_server) == before


def test_it_rejects_a_body_that_is_not_an_object_with_400(shared_server: Any) -> None:
    r = start(shared_server, [{"id": "x"}])  # type: ignore[arg-type]
    assert r.status_code == 400
    assert r.json()["error"] == "the body must be a JSON object"


# ------------------------------------------------------------------- end


def test_it_ends_a_session_and_reports_its_duration(shared_server: Any) -> None:
    session_id = uid("sess")
    start(shared_server, {"id": session_id, "user": "ann", "ts": T0.isoformat()})
    r = shared_server.post(f"/api/sessions/{session_id}/end", json={"ts": (T0 + timedelta(seconds=90)).isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ended_at"] == (T0 + timedelta(seconds=90)).isoformat()
    assert body["duration_s"] == 90.0
    (ev,) = session_events(shared_server, session_id, "session_end")
    assert (ev["duration_ms"], ev["user"]) == (90_000.0, "ann")


def test_it_ends_a_session_now_without_a_body(shared_server: Any) -> None:
    session_id = uid("sess")
    start(shared_server, {"id": session_id})
    r = shared_server.post(f"/api/sessions/{session_id}/end")
    assert r.status_code == 200, r.text
    assert session_row(shared_server, session_id)["ended_at"] is not None


def test_ending_a_session_twice_keeps_the_first_end(shared_server: Any) -> None:
    session_id = uid("sess")
    start(shared_server, {"id": session_id, "ts": T0.isoformat()})
    first = shared_server.post(f"/api/sessions/{session_id}/end", json={"ts": (T0 + timedelta(minutes=5)).isoformat()})
    second = shared_server.post(f"/api/sessions/{session_id}/end", json={"ts": (T0 + timedelta(minutes=9)).isoformat()})
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == first.json()
    assert len(session_events(shared_server, session_id, "session_end")) == 1


def test_an_end_before_the_start_counts_as_zero_duration(shared_server: Any) -> None:
    session_id = uid("sess")
    start(shared_server, {"id": session_id, "ts": T0.isoformat()})
    r = shared_server.post(f"/api/sessions/{session_id}/end", json={"ts": (T0 - timedelta(hours=1)).isoformat()})
    assert r.json()["duration_s"] == 0.0


def test_ending_an_unknown_session_answers_404_json(shared_server: Any) -> None:
    r = shared_server.post("/api/sessions/sess_nope/end", json={})
    assert r.status_code == 404
    assert r.json() == {"error": "session 'sess_nope' not found"}


def test_it_rejects_a_bad_end_time_with_422(shared_server: Any) -> None:
    session_id = uid("sess")
    start(shared_server, {"id": session_id})
    r = shared_server.post(f"/api/sessions/{session_id}/end", json={"ts": "soon"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "ts"
    assert session_row(shared_server, session_id)["ended_at"] is None


# ------------------------------------------------- macro-sessions tool


def test_the_macro_session_start_keeps_username_and_canvas_mode(shared_server: Any) -> None:
    session_id = "sess_20231201_143022"
    r = start(
        shared_server, {"session_id": session_id, "username": "john_doe", "canvas_mode": "wide"}, "/session/start"
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"status": "success", "session_id": session_id, "created": True}
    row = session_row(shared_server, session_id)
    assert (row["user"], row["attrs"]) == ("john_doe", {"canvas_mode": "wide"})


def test_the_macro_session_start_again_answers_200_not_created(shared_server: Any) -> None:
    session_id = uid("sess")
    start(shared_server, {"session_id": session_id, "username": "ann"}, "/session/start")
    r = start(shared_server, {"session_id": session_id, "username": "ann"}, "/session/start")
    assert r.status_code == 200
    assert r.json() == {"status": "success", "session_id": session_id, "created": False}


def test_the_macro_session_end_answers_with_the_duration(shared_server: Any) -> None:
    session_id = uid("sess")
    start(shared_server, {"session_id": session_id, "username": "ann", "ts": T0.isoformat()}, "/session/start")
    r = shared_server.post(
        "/session/end", json={"session_id": session_id, "ts": (T0 + timedelta(seconds=42)).isoformat()}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "success", "session_id": session_id, "duration_s": 42.0}
    assert session_row(shared_server, session_id)["ended_at"] == T0 + timedelta(seconds=42)


def test_the_macro_session_end_needs_a_session_id(shared_server: Any) -> None:
    for body in ({}, {"session_id": ""}, {"session_id": 5}, ["sess"]):
        r = shared_server.post("/session/end", json=body)
        assert r.status_code == 422
        assert r.json()["errors"] == [{"field": "session_id", "message": "Field required"}]


def test_the_macro_session_end_of_an_unknown_session_answers_404(shared_server: Any) -> None:
    r = shared_server.post("/session/end", json={"session_id": "sess_19990101_000000"})
    assert r.status_code == 404
    assert "not found" in r.json()["error"]
