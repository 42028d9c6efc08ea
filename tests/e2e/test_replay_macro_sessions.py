"""The macro-sessions tool replayed end to end against ``python app.py serve``
(SQLite and PostgreSQL), over HTTP as its AutoHotkey script and its dashboard
used it: the health checks of the ingestion service and of the dashboard, a
session started with ``POST /session/start``, every macro run posted to
``POST /ingest/interaction`` with the tool's own payload, the session's
figures from ``GET /metrics/<session_id>`` (total boxes, duration, average and
current speed, speed over time, the execution-time distribution, the
degradation breakdown, the buttons used), its recent interactions from
``GET /interactions/<session_id>`` (the last 100 by default), a second user's
session beside it, ``POST /session/end``, and the CSV fallback: the rows the
macro wrote to ``master_stats.csv`` while the service was down, imported with
``python app.py import``. Every answer is checked against what was posted.

The dashboard's socket events (``join_session``, ``leave_session``,
``request_update`` answered with ``initial_data`` and ``realtime_update``) are
replayed in tests/api/test_seed_sockets.py."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from tests.e2e.test_serve_cli import ROOT, clean_env

SESSION = "sess_20231201_143022"
OTHER = "sess_20231201_150000"
OFFLINE = "sess_20231202_091500"  # the session the macro ran while the service was down
BUTTONS = ("Num5", "Num1", "Num7")
KINDS = ("smudge", "glare", "blur")


def macro_run(k: int, session_id: str = SESSION) -> dict[str, Any]:
    """The k-th macro execution, in the payload the AHK script posts (the first is the documented one)."""
    if k == 0:
        return {
            "session_id": session_id,
            "interaction_type": "macro_execution",
            "button_key": "Num5",
            "execution_time_ms": 1250,
            "total_boxes": 5,
            "degradation_assignments": "smudge,glare",
            "degradation_counts": {"smudge": 1, "glare": 1},
        }
    kinds = [KINDS[k % 3]] * (1 + k % 2) + ([KINDS[(k + 1) % 3]] if k % 4 == 0 else [])
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return {
        "session_id": session_id,
        "interaction_type": "macro_execution",
        "button_key": BUTTONS[k % 3],
        "execution_time_ms": 800 + 37 * k,
        "total_boxes": 1 + k % 6,
        "degradation_assignments": ",".join(kinds),
        "degradation_counts": counts,
    }


def post(url: str, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(url + path, json=body, timeout=30)


def check_metrics(metrics: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """The figures of the tool's dashboard, computed here from the payloads posted."""
    boxes = sum(r["total_boxes"] for r in runs)
    times = [float(r["execution_time_ms"]) for r in runs]
    assert (metrics["total_boxes"], metrics["total_executions"]) == (boxes, len(runs))
    stats = metrics["execution_time"]
    assert (stats["count"], stats["min"], stats["max"]) == (len(runs), min(times), max(times))
    assert abs(stats["mean"] - statistics.fmean(times)) < 1e-9 and stats["median"] == statistics.median(times)
    assert sum(b["count"] for b in metrics["execution_time_histogram"]) == len(runs)
    degradations: dict[str, float] = {}
    for r in runs:
        for kind, n in r["degradation_counts"].items():
            degradations[kind] = degradations.get(kind, 0) + n
    assert metrics["degradation_counts"] == degradations
    assert {c["category"]: c["count"] for c in metrics["categories"]} == degradations
    buttons: dict[str, int] = {}
    for r in runs:
        buttons[r["button_key"]] = buttons.get(r["button_key"], 0) + 1
    assert {b["entity"]: b["count"] for b in metrics["buttons"]} == buttons
    assert sum(p["value"] for p in metrics["speed_over_time"]) == boxes  # the speed chart covers every box


def check_interaction(row: dict[str, Any], sent: dict[str, Any], user: str | None) -> None:
    """One interaction as stored: the payload's fields in Pulseboard's event fields."""
    assert (row["source"], row["type"], row["session_id"], row["user"]) == (
        "macro",
        sent["interaction_type"],
        sent["session_id"],
        user,
    )
    assert (row["entity"], row["duration_ms"], row["value"]) == (
        sent["button_key"],
        sent["execution_time_ms"],
        sent["total_boxes"],
    )
    assert row["attrs"] == {
        "degradation_assignments": sent["degradation_assignments"],
        "degradation_counts": sent["degradation_counts"],
    }


def test_the_macro_tool_records_sessions_and_its_dashboard_reads_them(
    tmp_path: Path, process_server: Any, db_url: str
) -> None:
    server = process_server("--db", db_url, "--log-level", "WARNING")
    url = server.url

    # Health checks: the ingestion service and the dashboard are one server now.
    health = requests.get(url + "/health", timeout=10)
    assert health.status_code == 200 and (health.json()["status"], health.json()["database"]) == ("healthy", "ok")

    # 1. The AHK script starts its session (the id it shows in its status bar).
    start = {"session_id": SESSION, "username": "john_doe", "canvas_mode": "wide"}
    started = post(url, "/session/start", start)
    assert started.status_code == 201, started.text
    assert started.json() == {"status": "success", "session_id": SESSION, "created": True}
    again = post(url, "/session/start", start)  # the script restarted: the session goes on
    assert again.status_code == 200 and again.json()["created"] is False

    # A second user labels at the same time, in a session of their own.
    assert post(url, "/session/start", {"session_id": OTHER, "username": "jane_roe", "canvas_mode": "tall"}).ok

    # 2. Every macro execution is posted as it happens: 105 runs, more than the 100 the dashboard lists.
    runs = [macro_run(k) for k in range(105)]
    ids = []
    for run in runs:
        answer = post(url, "/ingest/interaction", run)
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert (body["status"], body["session_id"]) == ("success", SESSION)
        ids.append(body["interaction_id"])
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    other_runs = [macro_run(k, OTHER) for k in (1, 2, 3)]
    for run in other_runs:
        assert post(url, "/ingest/interaction", run).status_code == 201

    # 3. The dashboard, given the session id: its live metrics.
    metrics = requests.get(url + f"/metrics/{SESSION}", timeout=30).json()
    assert (metrics["session_id"], metrics["user"], metrics["active"], metrics["ended_at"]) == (
        SESSION,
        "john_doe",
        True,
        None,
    )
    assert metrics["attrs"] == {"canvas_mode": "wide"}
    check_metrics(metrics, runs)
    assert metrics["speed_window_s"] == 600.0  # the current speed covers the last 10 minutes
    assert metrics["average_speed"] > 0 and metrics["current_speed"] > 0
    assert requests.get(url + f"/api/sessions/{SESSION}", timeout=30).json()["total_boxes"] == metrics["total_boxes"]

    # Sessions are isolated: the other user's figures hold only their own runs.
    other = requests.get(url + f"/metrics/{OTHER}", timeout=30).json()
    assert other["user"] == "jane_roe"
    check_metrics(other, other_runs)

    # 4. Recent interactions: the last 100 by default, newest first, as posted.
    recent = requests.get(url + f"/interactions/{SESSION}", timeout=30).json()
    assert (recent["session_id"], recent["count"]) == (SESSION, 100)
    assert [i["id"] for i in recent["interactions"]] == ids[::-1][:100]
    for row, sent in zip(recent["interactions"], runs[::-1], strict=False):
        check_interaction(row, sent, "john_doe")
    few = requests.get(url + f"/interactions/{SESSION}", params={"limit": 3}, timeout=30).json()
    assert [i["id"] for i in few["interactions"]] == ids[::-1][:3]
    assert requests.get(url + "/interactions/sess_19990101_000000", timeout=30).status_code == 404

    # 5. The session ends: its duration is fixed and the speeds are over it.
    ended = post(url, "/session/end", {"session_id": SESSION})
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["session_id"]) == ("success", SESSION)
    final = requests.get(url + f"/metrics/{SESSION}", timeout=30).json()
    assert final["active"] is False and final["ended_at"] is not None
    duration = (datetime.fromisoformat(final["ended_at"]) - datetime.fromisoformat(final["started_at"])).total_seconds()
    assert abs(final["session_duration_s"] - duration) < 1e-6 and abs(ended.json()["duration_s"] - duration) < 1e-6
    boxes = sum(r["total_boxes"] for r in runs)
    assert abs(final["average_speed"] - boxes / duration) < 1e-6  # boxes per second
    assert abs(final["current_speed"] - boxes / duration) < 1e-6  # the whole session lies in the last 10 minutes
    check_metrics(final, runs)
    listed = {s["id"]: s for s in requests.get(url + "/api/sessions", timeout=30).json()["sessions"]}
    assert listed[SESSION]["ended_at"] == final["ended_at"] and listed[OTHER]["ended_at"] is None
    assert (listed[SESSION]["source"], listed[SESSION]["user"]) == ("macro", "john_doe")  # as its interactions
    for marker in ("session_start", "session_end"):
        params = {"source": "macro", "session_id": SESSION, "type": marker}
        found = requests.get(url + "/api/events", params=params, timeout=30).json()["events"]
        assert [(e["user"], e["session_id"]) for e in found] == [("john_doe", SESSION)], marker
    assert requests.get(url + f"/metrics/{OTHER}", timeout=30).json()["active"] is True
    missing = post(url, "/session/end", {})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "session_id"

    # The dashboard's own page for a session opens.
    page = requests.get(url + f"/sessions/{SESSION}", timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]

    # 6. The service was down for a while: the macro wrote master_stats.csv instead; it is imported.
    csv_rows = [
        ("2023-12-02 09:15:00", "Num5", 1100, 4, "smudge,smudge,glare"),
        ("2023-12-02 09:15:07", "Num1", 900, 2, "blur"),
        ("2023-12-02 09:15:20", "Num5", 1300, 6, ""),
    ]
    csv = tmp_path / "master_stats.csv"
    lines = ["timestamp,session_id,username,button_key,execution_time_ms,total_boxes,interaction_type,"]
    lines[0] += "degradation_assignments"
    lines += [f'{ts},{OFFLINE},john_doe,{b},{ms},{n},macro_execution,"{d}"' for ts, b, ms, n, d in csv_rows]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for attempt in (1, 2):  # a second import of the same file stores nothing twice
        cmd = [sys.executable, str(ROOT / "app.py"), "import", str(csv), "--source", "macro", "--db", db_url]
        done = subprocess.run(
            [*cmd, "--data-dir", str(tmp_path)],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (attempt, done.stdout, done.stderr)
    imported = requests.get(url + f"/interactions/{OFFLINE}", timeout=30).json()
    assert imported["count"] == 3
    rows = imported["interactions"]
    assert [r["ts"][:19] for r in rows] == [ts.replace(" ", "T") for ts, *_ in csv_rows][::-1]
    assert [(r["entity"], r["duration_ms"], r["value"], r["user"]) for r in rows] == [
        (b, float(ms), float(n), "john_doe") for _, b, ms, n, _ in csv_rows
    ][::-1]
    assert rows[-1]["attrs"]["degradation_counts"] == {"smudge": 2, "glare": 1}
    offline = requests.get(url + f"/metrics/{OFFLINE}", timeout=30).json()
    assert (offline["total_boxes"], offline["total_executions"]) == (12.0, 3)
    assert offline["session_duration_s"] == 20.0  # no session row: it spans its interactions
    assert offline["average_speed"] == 12.0 / 20.0
    assert offline["degradation_counts"] == {"smudge": 2.0, "glare": 1.0, "blur": 1.0}
    assert {b["entity"]: b["count"] for b in offline["buttons"]} == {"Num5": 2, "Num1": 1}
    assert re.fullmatch(r"sess_\d{8}_\d{6}", OFFLINE)
