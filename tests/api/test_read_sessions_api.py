"""The macro-sessions tool's read routes: GET /metrics/<session_id>,
/interactions/<session_id>, and /api/sessions[/<id>].

Data: :func:`tests.read_factories.macro_session` (one open session started 20
minutes before now, six interactions: see ``INTERACTIONS``), a second one with
the same interactions started 25 minutes and ended 30 s before now, and a
third (started 10 minutes before now) with 130 interactions, and a fourth
started 5 minutes before now without any yet; and two interactions (3 and 5
boxes, 4 and 2 minutes before now) of a session that was never started.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.read_factories import (
    INTERACTIONS,
    MIN,
    bulk_interactions,
    fixed_now,
    freeze,
    iso,
    macro_session,
    shared_server,
)

NOW = fixed_now()
OPEN = "sess_20231201_143022"
ENDED = "sess_20231201_150000"
BULK = "sess_bulk"
FRESH = "sess_fresh"
ORPHAN = "sess_orphan"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shared_server(request, tmp_path_factory) as server:
        macro_session(server, NOW, OPEN)
        macro_session(server, NOW, ENDED, started_minutes_before=25)
        r = server.post("/session/end", json={"session_id": ENDED, "ts": iso(NOW - MIN / 2)})
        assert r.status_code == 200, r.text
        assert (
            server.post("/api/sessions", json={"id": BULK, "user": "bot", "ts": iso(NOW - 10 * MIN)}).status_code == 201
        )
        bulk_interactions(server, NOW, BULK, 130)
        assert server.post("/session/start", json={"session_id": FRESH, "ts": iso(NOW - 5 * MIN)}).status_code == 201
        for minutes, boxes in ((4, 3), (2, 5)):
            body = {
                "session_id": ORPHAN,
                "interaction_type": "macro_execution",
                "total_boxes": boxes,
                "timestamp": iso(NOW - minutes * MIN),
            }
            assert server.post("/ingest/interaction", json=body).status_code == 201
        freeze(server, NOW)
        yield server


def test_metrics_of_an_open_session(sessions: Any) -> None:
    r = sessions.get(f"/metrics/{OPEN}")
    assert r.status_code == 200
    body = r.json()
    assert (body["session_id"], body["user"], body["active"], body["ended_at"]) == (OPEN, "john_doe", True, None)
    assert body["started_at"] == (NOW - 20 * MIN).isoformat()
    assert body["total_boxes"] == 28.0 == sum(i.boxes for i in INTERACTIONS)
    assert body["total_executions"] == 6
    assert body["session_duration_s"] == 1200.0  # open: from its start to now
    assert body["average_speed"] == pytest.approx(28 / 1200)
    assert body["current_speed"] == pytest.approx((6 + 2 + 4) / 600)  # boxes of the last 10 minutes per second
    assert body["speed_window_s"] == 600.0
    assert body["attrs"] == {"canvas_mode": "wide"}


def test_execution_time_stats_and_histogram(sessions: Any) -> None:
    body = sessions.get(f"/metrics/{OPEN}").json()
    stats = body["execution_time"]
    assert (stats["count"], stats["min"], stats["max"]) == (6, 800.0, 1500.0)
    assert stats["mean"] == pytest.approx(6500 / 6)
    assert stats["median"] == stats["p50"] == 1050.0  # (1000 + 1100) / 2
    assert stats["p90"] == pytest.approx(1350.0)  # between 1200 and 1500 (linear)
    assert stats["relative_error"] == 0.0
    hist = body["execution_time_histogram"]
    assert sum(b["count"] for b in hist) == 6
    assert (hist[0]["left"], hist[-1]["right"]) == (800.0, 1500.0)


def test_categories_come_from_degradation_counts(sessions: Any) -> None:
    body = sessions.get(f"/metrics/{OPEN}").json()
    assert body["categories"] == [
        {"category": "glare", "count": 4.0, "share": 0.5},
        {"category": "smudge", "count": 3.0, "share": 0.375},
        {"category": "blur", "count": 1.0, "share": 0.125},
    ]
    assert [(b["entity"], b["count"]) for b in body["buttons"]] == [("Num5", 4), ("Num4", 2)]
    # Another attrs key can hold the categories.
    other = sessions.get(f"/metrics/{OPEN}", params={"category_key": "degradation_assignments"}).json()
    assert {c["category"]: c["count"] for c in other["categories"]}["smudge,glare"] == 1.0


def test_metrics_of_an_ended_session_stop_at_its_end(sessions: Any) -> None:
    body = sessions.get(f"/metrics/{ENDED}").json()
    assert (body["active"], body["ended_at"]) == (False, (NOW - MIN / 2).isoformat())
    assert body["session_duration_s"] == 1470.0
    assert body["average_speed"] == pytest.approx(28 / 1470)
    assert body["current_speed"] == pytest.approx(12 / 600)  # the 10 minutes before its end
    assert sessions.get(f"/api/sessions/{ENDED}").json() == body


def test_metrics_of_a_session_without_interactions_are_zero(sessions: Any) -> None:
    body = sessions.get(f"/metrics/{FRESH}").json()
    assert (body["active"], body["total_boxes"], body["total_executions"], body["session_duration_s"]) == (
        True,
        0.0,
        0,
        300.0,
    )
    assert (body["average_speed"], body["current_speed"]) == (0.0, 0.0)
    assert body["execution_time"]["count"] == 0 and body["execution_time"]["mean"] is None
    assert (body["execution_time_histogram"], body["categories"], body["buttons"]) == ([], [], [])
    interactions = sessions.get(f"/interactions/{FRESH}").json()
    assert (interactions["interactions"], interactions["count"]) == ([], 0)  # the start marker is no interaction


def test_metrics_of_a_session_never_started_span_its_interactions(sessions: Any) -> None:
    body = sessions.get(f"/metrics/{ORPHAN}").json()
    assert (body["user"], body["started_at"], body["active"]) == (None, None, False)
    assert (body["total_boxes"], body["session_duration_s"]) == (8.0, 120.0)
    assert body["average_speed"] == body["current_speed"] == pytest.approx(8 / 120)
    assert sessions.get(f"/interactions/{ORPHAN}").json()["count"] == 2


def test_interactions_are_newest_first_100_by_default(sessions: Any) -> None:
    body = sessions.get(f"/interactions/{BULK}").json()
    assert (body["session_id"], body["count"]) == (BULK, 100)
    ts = [i["ts"] for i in body["interactions"]]
    assert ts[0] == (NOW - MIN / 60).isoformat() and ts == sorted(ts, reverse=True)
    body = sessions.get(f"/interactions/{BULK}", params={"limit": 5}).json()
    assert [i["duration_ms"] for i in body["interactions"]] == [229.0, 228.0, 227.0, 226.0, 225.0]
    everything = sessions.get(f"/interactions/{BULK}", params={"limit": 1000}).json()
    assert everything["count"] == 130 and {i["type"] for i in everything["interactions"]} == {"macro_execution"}
    too_many = sessions.get(f"/interactions/{BULK}", params={"limit": 1001})
    assert too_many.status_code == 400 and "limit" in too_many.json()["error"]


def test_an_ended_sessions_interactions_leave_out_its_start_and_end(sessions: Any) -> None:
    body = sessions.get(f"/interactions/{ENDED}").json()
    assert body["count"] == len(INTERACTIONS)
    assert {i["type"] for i in body["interactions"]} == {"macro_execution"}
    assert [i["value"] for i in body["interactions"]] == [float(i.boxes) for i in INTERACTIONS][::-1]


def test_interactions_carry_the_documents_fields(sessions: Any) -> None:
    first = sessions.get(f"/interactions/{OPEN}", params={"limit": 1}).json()["interactions"][0]
    assert (first["type"], first["entity"], first["user"]) == ("macro_execution", "Num4", "john_doe")
    assert (first["value"], first["duration_ms"]) == (4.0, 1100.0)
    assert first["attrs"] == {"degradation_counts": {"glare": 1.0}, "degradation_assignments": "glare"}


def test_sessions_list_newest_first_and_open_only(sessions: Any) -> None:
    body = sessions.get("/api/sessions").json()
    assert [s["id"] for s in body["sessions"]] == [FRESH, BULK, OPEN, ENDED]
    open_ids = {s["id"] for s in sessions.get("/api/sessions", params={"open": "true"}).json()["sessions"]}
    assert open_ids == {OPEN, BULK, FRESH}
    ended = next(s for s in body["sessions"] if s["id"] == ENDED)
    assert ended["ended_at"] == (NOW - MIN / 2).isoformat()
    assert len(sessions.get("/api/sessions", params={"limit": 1}).json()["sessions"]) == 1


@pytest.mark.parametrize("path", ["/metrics/nope", "/api/sessions/nope", "/interactions/nope"])
def test_an_unknown_session_is_404_json(sessions: Any, path: str) -> None:
    r = sessions.get(path)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/json"
    assert "nope" in r.json()["error"]


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/interactions/" + BULK, {"limit": "x"}, "limit"),
        ("/interactions/" + BULK, {"limit": "-1"}, "limit"),
        ("/api/sessions", {"open": "perhaps"}, "open"),
        ("/api/sessions", {"limit": "1.5"}, "limit"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    sessions: Any, path: str, params: dict[str, str], name: str
) -> None:
    r = sessions.get(path, params=params)
    assert r.status_code == 400
    assert f"'{name}'" in r.json()["error"]
