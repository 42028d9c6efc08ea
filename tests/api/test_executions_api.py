"""Script runs: POST /api/executions (a finished run or a start) and
POST /api/executions/<id>/finish; each writes an execution event."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import text

from data.models import EVENTS, EXECUTION_METRICS, EXECUTIONS
from tests.factories import count, rows, stored_events, totals, uid

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 3, 0, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def run_events(server: Any, execution_id: str) -> list[dict[str, Any]]:
    return stored_events(server, EVENTS.c.execution_id == execution_id)


def stored_metrics(server: Any, execution_id: str) -> dict[str, float]:
    return {
        r["name"]: r["value"] for r in rows(server, EXECUTION_METRICS, EXECUTION_METRICS.c.execution_id == execution_id)
    }


def test_it_records_a_finished_run_with_its_metrics(shared_server: Any) -> None:
    exe = uid("exe")
    sent = {
        "id": exe,
        "script": "etl/daily.py",
        "source": "cron",
        "started_at": at(0),
        "finished_at": at(12.5),
        "exit_code": 0,
        "attempt": 2,
        "metrics": {"rows": 1200, "mem_mb": 81.5},
        "attrs": {"host": "b1"},
    }
    r = shared_server.post("/api/executions", json=sent)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "id": exe,
        "script": "etl/daily.py",
        "source": "cron",
        "started_at": at(0),
        "finished_at": at(12.5),
        "duration_ms": 12_500.0,
        "status": "success",
        "exit_code": 0,
        "attempt": 2,
        "attrs": {"host": "b1"},
        "metrics": {"rows": 1200.0, "mem_mb": 81.5},
    }
    (row,) = rows(shared_server, EXECUTIONS, EXECUTIONS.c.id == exe)
    assert (row["status"], row["duration_ms"], row["finished_at"]) == (
        "success",
        12_500.0,
        T0 + timedelta(seconds=12.5),
    )
    assert stored_metrics(shared_server, exe) == {"rows": 1200.0, "mem_mb": 81.5}
    (ev,) = run_events(shared_server, exe)
    assert (ev["type"], ev["source"], ev["entity"], ev["status"], ev["duration_ms"]) == (
        "execution_finished",
        "cron",
        "etl/daily.py",
        "success",
        12_500.0,
    )
    assert ev["ts"] == T0 + timedelta(seconds=12.5)
    assert ev["attrs"] == {"exit_code": 0, "attempt": 2, "metrics": {"rows": 1200.0, "mem_mb": 81.5}}


def test_it_derives_the_start_from_the_finish_and_the_duration(shared_server: Any) -> None:
    r = shared_server.post(
        "/api/executions", json={"script": "a.py", "finished_at": at(60), "duration_ms": 1500, "exit_code": 0}
    )
    assert r.status_code == 201
    body = r.json()
    assert body["id"].startswith("exe_20240501_030058_")
    assert (body["started_at"], body["finished_at"], body["duration_ms"]) == (at(58.5), at(60), 1500.0)


def test_it_derives_the_finish_from_the_start_and_the_duration(shared_server: Any) -> None:
    r = shared_server.post(
        "/api/executions", json={"script": "a.py", "started_at": at(0), "duration_ms": 250, "status": "success"}
    )
    assert (r.json()["finished_at"], r.json()["duration_ms"]) == (at(0.25), 250.0)


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        ({"exit_code": 0}, "success"),
        ({"exit_code": 3}, "failed"),
        ({"exit_code": 3, "status": "timeout"}, "timeout"),
        ({"status": "skipped"}, "skipped"),
    ],
    ids=["exit-0", "exit-3", "explicit-status-wins", "status-only"],
)
def test_the_status_of_a_finished_run_comes_from_its_exit_code(
    shared_server: Any, sent: dict[str, Any], status: str
) -> None:
    r = shared_server.post(
        "/api/executions", json={"script": "b.py", "started_at": at(0), "finished_at": at(1), **sent}
    )
    assert r.status_code == 201
    assert r.json()["status"] == status


def test_a_start_is_recorded_as_running(shared_server: Any) -> None:
    exe = uid("exe")
    r = shared_server.post("/api/executions", json={"id": exe, "script": "long.py", "started_at": at(0)})
    assert r.status_code == 201
    body = r.json()
    assert (body["status"], body["finished_at"], body["duration_ms"], body["metrics"]) == ("running", None, None, {})
    (ev,) = run_events(shared_server, exe)
    assert (ev["type"], ev["status"], ev["ts"], ev["entity"]) == ("execution_started", "running", T0, "long.py")


def test_it_finishes_a_started_run_merging_metrics_and_attrs(shared_server: Any) -> None:
    exe = uid("exe")
    shared_server.post(
        "/api/executions",
        json={"id": exe, "script": "long.py", "started_at": at(0), "metrics": {"a": 1, "b": 1}, "attrs": {"x": 1}},
    )
    r = shared_server.post(
        f"/api/executions/{exe}/finish",
        json={"finished_at": at(2.5), "exit_code": 0, "metrics": {"b": 2, "c": 3}, "attrs": {"y": 2}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["duration_ms"], body["finished_at"], body["exit_code"]) == (
        "success",
        2500.0,
        at(2.5),
        0,
    )
    assert body["metrics"] == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert body["attrs"] == {"x": 1, "y": 2}
    assert stored_metrics(shared_server, exe) == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert [e["type"] for e in run_events(shared_server, exe)] == ["execution_started", "execution_finished"]
    finished = run_events(shared_server, exe)[1]
    assert (finished["status"], finished["duration_ms"]) == ("success", 2500.0)
    assert finished["attrs"]["metrics"] == {"a": 1.0, "b": 2.0, "c": 3.0}


def test_finishing_with_a_failing_exit_code_marks_the_run_failed(shared_server: Any) -> None:
    exe = uid("exe")
    shared_server.post("/api/executions", json={"id": exe, "script": "x.py", "started_at": at(0)})
    r = shared_server.post(f"/api/executions/{exe}/finish", json={"exit_code": 1, "duration_ms": 4000})
    assert (r.json()["status"], r.json()["exit_code"], r.json()["finished_at"]) == ("failed", 1, at(4))


def test_finishing_without_a_body_finishes_now(shared_server: Any) -> None:
    exe = uid("exe")
    started = datetime.now(UTC) - timedelta(seconds=3)
    shared_server.post("/api/executions", json={"id": exe, "script": "x.py", "started_at": started.isoformat()})
    r = shared_server.post(f"/api/executions/{exe}/finish")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "success"
    assert 3000 <= r.json()["duration_ms"] < 60_000


def test_finishing_an_unknown_run_answers_404_json(shared_server: Any) -> None:
    r = shared_server.post("/api/executions/exe_nope/finish", json={"exit_code": 0})
    assert r.status_code == 404
    assert r.json() == {"error": "execution 'exe_nope' not found"}


def test_a_repeated_id_returns_the_stored_run_with_200(shared_server: Any) -> None:
    exe = uid("exe")
    first = shared_server.post(
        "/api/executions",
        json={"id": exe, "script": "x.py", "started_at": at(0), "finished_at": at(1), "metrics": {"m": 1}},
    )
    again = shared_server.post("/api/executions", json={"id": exe, "script": "other.py", "exit_code": 9})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(run_events(shared_server, exe)) == 1


def test_concurrent_posts_of_one_run_store_it_once(shared_server: Any) -> None:
    exe = uid("exe")
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def go() -> None:
        barrier.wait()
        codes.append(
            shared_server.post("/api/executions", json={"id": exe, "script": "x.py", "exit_code": 0}).status_code
        )

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 7 + [201]
    assert count(shared_server, EXECUTIONS, EXECUTIONS.c.id == exe) == 1
    assert len(run_events(shared_server, exe)) == 1


BAD_METRICS = [
    ({"x": "abc"}, "x"),
    ({"x": "NaN"}, "x"),
    ({"x": "-Infinity"}, "x"),
    ({"x": None}, "x"),
    ({"x": [1]}, "x"),
    ({"ok": 1, "y": {"v": 1}}, "y"),
]


@pytest.mark.parametrize(("metrics", "name"), BAD_METRICS, ids=["string", "nan", "-infinity", "null", "list", "object"])
def test_it_rejects_non_numeric_metrics_with_422(shared_server: Any, metrics: dict[str, Any], name: str) -> None:
    exe = uid("exe")
    before = totals(shared_server)
    r = shared_server.post("/api/executions", json={"id": exe, "script": "x.py", "exit_code": 0, "metrics": metrics})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == f"metrics.{name}"
    assert totals(shared_server) == before


def test_finish_rejects_non_numeric_metrics_with_422(shared_server: Any) -> None:
    exe = uid("exe")
    shared_server.post("/api/executions", json={"id": exe, "script": "x.py", "started_at": at(0)})
    r = shared_server.post(f"/api/executions/{exe}/finish", json={"exit_code": 0, "metrics": {"rows": "many"}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "metrics.rows"
    assert rows(shared_server, EXECUTIONS, EXECUTIONS.c.id == exe)[0]["status"] == "running"


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({}, "script"),
        ({"script": ""}, "script"),
        ({"script": "s" * 201}, "script"),
        ({"script": "x.py", "duration_ms": 1e300}, "duration_ms"),
        ({"script": "x.py", "duration_ms": -5}, "duration_ms"),
        ({"script": "x.py", "exit_code": "zero"}, "exit_code"),
        ({"script": "x.py", "exit_code": 2**40}, "exit_code"),
        ({"script": "x.py", "attempt": 0}, "attempt"),
        ({"script": "x.py", "id": "bad id"}, "id"),
        ({"script": "x.py", "started_at": "0001-01-01T00:00:00+01:00"}, "started_at"),
        ({"script": "x.py", "metric": {}}, "metric"),
    ],
    ids=[
        "no-script",
        "empty-script",
        "script-too-long",
        "huge-duration",
        "negative-duration",
        "exit-code-string",
        "exit-code-too-big",
        "attempt-0",
        "bad-id",
        "start-out-of-range",
        "unknown-field",
    ],
)
def test_it_rejects_a_bad_run_with_422_naming_the_field(shared_server: Any, sent: dict[str, Any], field: str) -> None:
    before = totals(shared_server)
    r = shared_server.post("/api/executions", json=sent)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert f"field '{field}'" in r.json()["error"]
    assert totals(shared_server) == before


def test_finish_rejects_a_huge_duration_with_422(shared_server: Any) -> None:
    exe = uid("exe")
    shared_server.post("/api/executions", json={"id": exe, "script": "x.py", "started_at": at(0)})
    r = shared_server.post(f"/api/executions/{exe}/finish", json={"duration_ms": 1e300})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "duration_ms"


def test_finishing_a_finished_run_again_changes_nothing_and_writes_no_second_event(server: Any) -> None:
    run = server.post("/api/executions", json={"script": "retry.py"}).json()
    first = server.post(f"/api/executions/{run['id']}/finish", json={"exit_code": 0, "metrics": {"rows": 5}})
    again = server.post(f"/api/executions/{run['id']}/finish", json={"exit_code": 1, "metrics": {"rows": 6}})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    with server.services.db.read() as conn:
        finished = conn.execute(
            text("SELECT count(*) FROM events WHERE type = 'execution_finished' AND execution_id = :i"),
            {"i": run["id"]},
        ).scalar()
    assert finished == 1
