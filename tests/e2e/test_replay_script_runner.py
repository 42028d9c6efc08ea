"""The script runner replayed end to end against ``python app.py serve``
(SQLite and PostgreSQL): scripts are run with Pulseboard's runner as the
runner's guide ran them (``python runner.py my_script.py --retry 3`` is
``python -m client.run --script my_script.py --retry 3 -- ...``), each run
printing named metrics; a failing script is retried. Its dashboard then calls
every route of its API reference in the order it used them (``/api/health``,
``/api/stats/database``, ``/api/scripts``, ``/api/executions`` with its
filters by script and metric, ``/api/execution/{id}``, ``/api/metrics/latest``,
``/api/metrics/history``, ``/api/metrics/aggregated``, ``/api/analysis/trend``,
``/api/analysis/baseline``), follows ``/ws/metrics`` as its
``new WebSocket(...)`` did, and downloads the runs and their metrics as CSV
(``GET /api/executions?format=csv``). The server finds its database through
the runner dashboard's ``DASHBOARD_DB`` variable. Every answer is computed
here from what the scripts printed and how they exited.

Its guide's CORS restriction (``allow_origins=["https://yourdomain.com"]``)
is ``--cors-origins https://yourdomain.com``: the front end on that origin
reads the API. Unlike that dashboard, Pulseboard allows no origin by default
and never shares its sign-in cookie cross-origin."""

from __future__ import annotations

import csv
import io
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
import simple_websocket

from tests import wsclient
from tests.conftest import wait_until
from tests.e2e.test_serve_cli import ROOT, clean_env

SCRIPT = "my_script.py"
OTHER = "nightly_etl.py"
ROWS = [100, 112, 119, 131, 140, 152, 160, 171]  # rows per run of my_script.py: a rising trend
FRONT_END = "https://yourdomain.com"  # its guide's allow_origins
BATCH = 50  # the same every run
# The script prints its metrics as runner lines and exits with the code it is given.
BODY = """import sys
rows, code = sys.argv[1], int(sys.argv[2])
print("processing", rows, "rows")
print(f"PULSE_METRIC rows={rows} batch_size=50")
sys.exit(code)
"""


def run(
    url: str, tmp_path: Path, script: str, rows: int, code: int, retry: int = 0
) -> subprocess.CompletedProcess[str]:
    """``python runner.py <script> --retry N``, as Pulseboard's runner."""
    path = tmp_path / script
    path.write_text(BODY, encoding="utf-8")
    cmd = [sys.executable, "-m", "client.run", "--script", script, "--retry", str(retry), "--retry-delay", "0"]
    cmd += ["--", sys.executable, str(path), str(rows), str(code)]
    env = clean_env(PULSE_URL=url, PULSE_SPOOL_DIR=str(tmp_path / "spool"))
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def get(url: str, path: str, **params: Any) -> Any:
    r = requests.get(url + path, params=params, timeout=60)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.json()


def receive(ws: simple_websocket.Client) -> dict[str, Any]:
    raw = ws.receive(timeout=60)
    assert raw is not None, "no message within 60 s"
    message: dict[str, Any] = json.loads(raw)
    return message


def test_the_script_runners_dashboard_reads_the_runs_it_recorded(
    tmp_path: Path, process_server: Any, db_url: str
) -> None:
    # python dashboard/backend/app.py --db ... --port ...: the database from its DASHBOARD_DB variable.
    server = process_server(
        "--log-level",
        "WARNING",
        "--cors-origins",
        FRONT_END,
        env={"DASHBOARD_DB": db_url, "DASHBOARD_HOST": "127.0.0.1"},
    )
    url = server.url

    # Terminal 1: run scripts (creates history). Output streams through, exit codes are kept.
    for rows in ROWS:
        done = run(url, tmp_path, SCRIPT, rows, 0)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == f"processing {rows} rows"
    failed = run(url, tmp_path, OTHER, 7, 3, retry=3)  # python runner.py nightly_etl.py --retry 3
    assert failed.returncode == 3 and failed.stdout.count("processing 7 rows") == 4
    assert run(url, tmp_path, OTHER, 9, 0).returncode == 0
    total = len(ROWS) + 4 + 1  # every attempt is one execution

    # The dashboard: health, then the overview cards.
    health = get(url, "/api/health")
    assert (health["status"], health["database"]) == ("healthy", "ok")
    cross = requests.get(f"{url}/api/scripts", headers={"Origin": FRONT_END}, timeout=30)
    assert cross.headers["Access-Control-Allow-Origin"] == FRONT_END and "scripts" in cross.json()
    stats = get(url, "/api/stats/database")
    assert stats["total_executions"] == total
    runs = get(url, "/api/executions", limit=100)["executions"]
    assert len(runs) == total
    assert stats["total_metrics"] == sum(len(r["metrics"]) for r in runs)
    assert stats["database_size_bytes"] > 0 and stats["oldest_event"] <= stats["newest_event"]
    assert stats["database"] == ("sqlite" if db_url.startswith("sqlite") else "postgresql")

    # Scripts: runs, failures, success rate and average duration per script.
    scripts = {s["script"]: s for s in get(url, "/api/scripts")["scripts"]}
    assert set(scripts) == {SCRIPT, OTHER}
    for name, (n, failures) in {SCRIPT: (len(ROWS), 0), OTHER: (5, 4)}.items():
        mine = [r for r in runs if r["script"] == name]
        assert (scripts[name]["executions"], scripts[name]["failures"]) == (n, failures)
        assert scripts[name]["success_rate"] == round(100 * (n - failures) / n, 2)
        assert abs(scripts[name]["avg_duration_ms"] - statistics.fmean(r["duration_ms"] for r in mine)) < 1e-3
        assert scripts[name]["last_run"] == max(r["started_at"] for r in mine)

    # Recent executions: the latest 20, newest first, with status, exit code, attempt and metrics.
    recent = get(url, "/api/executions")
    assert recent["count"] == len(recent["executions"]) == min(20, total)
    assert [r["started_at"] for r in recent["executions"]] == sorted((r["started_at"] for r in runs), reverse=True)[:20]
    last, *_ = recent["executions"]
    assert (last["script"], last["status"], last["exit_code"], last["attempt"]) == (OTHER, "success", 0, 1)
    assert (last["metrics"]["rows"], last["metrics"]["batch_size"]) == (9.0, BATCH)
    retried = sorted((r for r in runs if r["status"] == "failed"), key=lambda r: r["attempt"])
    assert [(r["attempt"], r["exit_code"], r["script"]) for r in retried] == [(k, 3, OTHER) for k in (1, 2, 3, 4)]

    # The quick filters: by script, by metric, by status.
    mine = get(url, "/api/executions", script_path=SCRIPT, limit=100)["executions"]
    assert [r["metrics"]["rows"] for r in mine] == [float(n) for n in ROWS[::-1]]
    only_rows = get(url, "/api/executions", script_path=SCRIPT, metric_name="rows")["executions"]
    assert all(set(r["metrics"]) == {"rows"} for r in only_rows) and len(only_rows) == len(ROWS)
    assert len(get(url, "/api/executions", status="failed")["executions"]) == 4

    # One execution in detail: its metrics, its retry chain, its neighbours.
    final_try = retried[-1]
    detail = get(url, f"/api/execution/{final_try['id']}")
    assert (detail["id"], detail["status"], detail["exit_code"], detail["attempt"]) == (final_try["id"], "failed", 3, 4)
    assert detail["metrics"] == final_try["metrics"] and detail["metrics"]["rows"] == 7.0
    assert detail["attrs"]["retry_of"] == retried[-2]["id"] and detail["attrs"]["attempts_allowed"] == 4
    assert "processing 7 rows" not in detail["attrs"].get("stderr_tail", "")  # stdout is not the stderr tail
    assert detail["previous_id"] == retried[-2]["id"]
    assert {e["type"] for e in detail["events"]} >= {"execution_started", "execution_finished"}
    newest_mine = get(url, f"/api/execution/{mine[0]['id']}")  # compared with the script's earlier runs
    assert newest_mine["next_id"] is None and newest_mine["previous_id"] == mine[1]["id"]
    compared = newest_mine["comparison"]["rows"]
    assert (compared["value"], compared["runs"]) == (float(ROWS[-1]), len(ROWS) - 1)
    assert requests.get(url + "/api/execution/nope", timeout=30).status_code == 404

    # Latest metrics: the newest runs' values first.
    latest = get(url, "/api/metrics/latest", limit=10)["metrics"]
    assert len(latest) == 10
    assert {(m["script_path"], m["metric_name"], m["value"]) for m in latest if m["execution_id"] == last["id"]} >= {
        (OTHER, "rows", 9.0),
        (OTHER, "batch_size", 50.0),
    }
    assert [m["timestamp"] for m in latest] == sorted((m["timestamp"] for m in latest), reverse=True)

    # A metric's time series, oldest first, as printed.
    series = get(url, "/api/metrics/history", script_path=SCRIPT, metric_name="rows", days=7)
    assert (series["script_path"], series["metric_name"], series["days"]) == (SCRIPT, "rows", 7.0)
    assert [p["value"] for p in series["data"]] == [float(n) for n in ROWS]
    assert [p["execution_id"] for p in series["data"]] == [r["id"] for r in mine[::-1]]
    durations = get(url, "/api/metrics/history", script_path=SCRIPT, metric_name="duration_ms", days=7)["data"]
    assert [p["value"] for p in durations] == [r["duration_ms"] for r in mine[::-1]]

    # Aggregated statistics of every metric of the script.
    aggregated = get(url, "/api/metrics/aggregated", script_path=SCRIPT, days=7)["metrics"]
    assert {"rows", "batch_size", "duration_ms"} <= set(aggregated)
    rows = aggregated["rows"]
    assert (rows["count"], rows["min"], rows["max"]) == (len(ROWS), min(ROWS), max(ROWS))
    assert abs(rows["mean"] - statistics.fmean(ROWS)) < 1e-9 and rows["median"] == statistics.median(ROWS)
    assert (aggregated["batch_size"]["min"], aggregated["batch_size"]["max"]) == (BATCH, BATCH)

    # Trend analysis: the rows rise run after run.
    trend = get(url, "/api/analysis/trend", script_path=SCRIPT, metric_name="rows")
    assert (trend["script_path"], trend["metric_name"], trend["n"]) == (SCRIPT, "rows", len(ROWS))
    assert trend["start_value"] < trend["end_value"]  # the fitted line's ends
    assert trend["direction"] == "increasing" and trend["significant"] is True and trend["slope_per_day"] > 0
    assert trend["mk_s"] == len(ROWS) * (len(ROWS) - 1) // 2  # every later run has more rows

    # Baseline calculation ("intelligent"), and the plain ones.
    baseline = get(url, "/api/analysis/baseline", script_path=SCRIPT, method="intelligent")
    assert (baseline["script_path"], baseline["method"]) == (SCRIPT, "intelligent")
    batch = baseline["baselines"]["batch_size"]
    assert batch["centre"] == BATCH and batch["lower"] <= BATCH <= batch["upper"]
    rows_band = baseline["baselines"]["rows"]
    assert rows_band["lower"] <= rows_band["centre"] <= rows_band["upper"]
    assert min(ROWS) <= rows_band["centre"] <= max(ROWS)
    median = get(url, "/api/analysis/baseline", script_path=SCRIPT, method="median", metric_name="rows")
    assert median["baselines"]["rows"]["centre"] == statistics.median(ROWS)
    bad = requests.get(url + "/api/analysis/baseline", params={"script_path": SCRIPT, "method": "magic"}, timeout=30)
    assert bad.status_code == 400

    # The real-time stream: metrics every 2 seconds, and a new run shows up in a later message.
    ws = wsclient.connect(url.replace("http://", "ws://") + "/ws/metrics")
    try:
        first = receive(ws)
        assert first["type"] == "metrics_update"
        assert {s["script"]: s["executions"] for s in first["scripts"]} == {SCRIPT: len(ROWS), OTHER: 5}
        assert [r["id"] for r in first["recent_executions"]] == [r["id"] for r in recent["executions"]]
        assert first["latest_metrics"][: len(latest)] == latest
        assert run(url, tmp_path, SCRIPT, 180, 0).returncode == 0

        def pushed() -> dict[str, Any] | None:
            message = receive(ws)
            newest = message["recent_executions"][0]
            return message if newest["script"] == SCRIPT and newest["metrics"].get("rows") == 180.0 else None

        update = wait_until(pushed, timeout=90, interval=0, message="the new run in a metrics_update")
        assert {s["script"]: s["executions"] for s in update["scripts"]}[SCRIPT] == len(ROWS) + 1
        assert update["latest_metrics"][0]["execution_id"] == update["recent_executions"][0]["id"]
    finally:
        ws.close()

    # CSV export: the runs and their metrics downloaded for external analysis, one line per run.
    params = {"script_path": SCRIPT, "limit": 100}
    exported = requests.get(url + "/api/executions", params=params | {"format": "csv"}, timeout=60)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in exported.headers["Content-Disposition"]
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    as_json = get(url, "/api/executions", **params)["executions"]
    assert len(lines) == len(as_json) == len(ROWS) + 1
    for line, r in zip(lines, as_json, strict=True):
        assert (line["id"], line["script"], line["started_at"], line["status"]) == (
            r["id"],
            SCRIPT,
            r["started_at"],
            "success",
        )
        assert (float(line["duration_ms"]), int(line["exit_code"]), int(line["attempt"])) == (r["duration_ms"], 0, 1)
        assert {name: float(line[name]) for name in r["metrics"]} == r["metrics"]
    assert [float(x["rows"]) for x in lines] == [180.0, *map(float, ROWS[::-1])]
    assert {float(x["batch_size"]) for x in lines} == {float(BATCH)}
    by_accept = requests.get(url + "/api/executions", params={"limit": 100}, headers={"Accept": "text/csv"}, timeout=60)
    everything = list(csv.DictReader(io.StringIO(by_accept.text)))
    assert by_accept.headers["Content-Type"].startswith("text/csv") and len(everything) == total + 1
    assert [(x["script"], x["status"], x["exit_code"]) for x in everything if x["script"] == OTHER] == [
        (OTHER, "success", "0"),
        *[(OTHER, "failed", "3")] * 4,
    ]
    wrong = requests.get(url + "/api/executions", params={"format": "xml"}, timeout=30)
    assert wrong.status_code == 400 and "'format'" in wrong.json()["error"]

    # The dashboard page itself.
    page = requests.get(url + "/", timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
