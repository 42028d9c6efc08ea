"""The script runner's routes: /api/scripts, /api/executions,
/api/execution/<id>, /api/metrics/latest|history|aggregated,
/api/analysis/trend|baseline|anomalies and /api/stats/database.

Data: :func:`tests.read_factories.script_runs`: etl.py, 14 runs every 6 h
lasting 1000 + 50 i ms (a slow regression), run 3 failed, metrics rows and
memory_mb; report.py, 12 hourly runs of about 100 ms with one 900 ms outlier
(run 10), metric pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from tests.read_factories import HOUR, MIN, REPORT_DURATIONS, fixed_now, freeze, script_runs, shared_server

NOW = fixed_now()
ETL = [f"etl-{i:02d}" for i in range(14)]
REPORT = [f"report-{i:02d}" for i in range(12)]
STARTED = {
    **{r: NOW - (14 - i) * 6 * HOUR - 30 * MIN for i, r in enumerate(ETL)},
    **{r: NOW - (12 - i) * HOUR for i, r in enumerate(REPORT)},
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def runner(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shared_server(request, tmp_path_factory) as server:
        script_runs(server, NOW)
        freeze(server, NOW)
        yield server


def newest_first(ids: list[str]) -> list[str]:
    return sorted(ids, key=lambda i: STARTED[i], reverse=True)


def test_scripts_list_runs_failures_and_averages(runner: Any) -> None:
    body = runner.get("/api/scripts").json()
    assert body["scripts"] == [
        {
            "script": "etl.py",
            "executions": 14,
            "last_run": STARTED["etl-13"].isoformat(),
            "avg_duration_ms": 1325.0,
            "failures": 1,
            "success_rate": round(100 * 13 / 14, 2),
        },
        {
            "script": "report.py",
            "executions": 12,
            "last_run": STARTED["report-11"].isoformat(),
            "avg_duration_ms": sum(REPORT_DURATIONS) / 12,
            "failures": 0,
            "success_rate": 100.0,
        },
    ]


def test_executions_are_the_latest_20_newest_first_with_metrics(runner: Any) -> None:
    body = runner.get("/api/executions").json()
    assert body["count"] == 20
    assert [e["id"] for e in body["executions"]] == newest_first(ETL + REPORT)[:20]
    first = body["executions"][0]
    assert first == {
        "id": "report-11",
        "script": "report.py",
        "source": "runner",
        "started_at": STARTED["report-11"].isoformat(),
        "finished_at": (STARTED["report-11"] + timedelta(milliseconds=100)).isoformat(),
        "duration_ms": 100.0,
        "status": "success",
        "exit_code": 0,
        "attempt": 1,
        "metrics": {"pages": 10.0},
    }
    assert len(runner.get("/api/executions", params={"limit": 3}).json()["executions"]) == 3


def test_executions_filter_by_script_status_and_metric(runner: Any) -> None:
    etl = runner.get("/api/executions", params={"script_path": "etl.py"}).json()["executions"]
    assert [e["id"] for e in etl] == ETL[::-1]
    assert etl[-1]["metrics"] == {"memory_mb": 50.0, "rows": 100.0}
    failed = runner.get("/api/executions", params={"status": "failed"}).json()["executions"]
    assert [(e["id"], e["exit_code"]) for e in failed] == [("etl-03", 1)]
    # The newest 5 runs that report "rows" (report.py's are newer but do not).
    rows = runner.get("/api/executions", params={"metric_name": "rows", "limit": 5}).json()["executions"]
    assert [e["id"] for e in rows] == ETL[::-1][:5]
    assert rows[0]["metrics"] == {"rows": 113.0}
    pages = runner.get("/api/executions", params={"metric_name": "pages", "script_path": "etl.py"}).json()
    assert pages == {"executions": [], "count": 0}


def test_execution_detail_links_neighbours_and_compares_with_the_baseline(runner: Any) -> None:
    outlier = runner.get("/api/execution/report-10").json()
    assert (outlier["previous_id"], outlier["next_id"]) == ("report-09", "report-11")
    assert outlier["metrics"] == {"pages": 10.0}
    assert [e["type"] for e in outlier["events"]] == ["execution_finished"]
    duration = outlier["comparison"]["duration_ms"]
    # Baseline of the 10 runs before it: median 100, robust SD 1.4826 (MAD 1).
    assert duration["baseline"]["centre"] == 100.0
    assert duration["baseline"]["sigma"] == pytest.approx(1.4826)
    assert (duration["value"], duration["within_band"], duration["delta_pct"]) == (900.0, False, 800.0)
    assert outlier["comparison"]["pages"]["within_band"] is True
    after = runner.get("/api/executions/report-11").json()
    assert (after["previous_id"], after["next_id"]) == ("report-10", None)
    base = after["comparison"]["duration_ms"]["baseline"]
    assert (base["n_used"], base["n_excluded"]) == (10, 1)  # the outlier is left out of the next run's baseline
    assert after["comparison"]["duration_ms"]["within_band"] is True
    first = runner.get("/api/execution/etl-00").json()
    assert (first["previous_id"], first["next_id"]) == (None, "etl-01")


@pytest.mark.parametrize("path", ["/api/execution/nope", "/api/executions/nope"])
def test_an_unknown_execution_is_404_json(runner: Any, path: str) -> None:
    r = runner.get(path)
    assert r.status_code == 404
    assert "nope" in r.json()["error"]


def test_latest_metrics_are_newest_first(runner: Any) -> None:
    body = runner.get("/api/metrics/latest", params={"limit": 3}).json()
    assert body["metrics"] == [
        {
            "execution_id": r,
            "script_path": "report.py",
            "metric_name": "pages",
            "value": 10.0,
            "timestamp": STARTED[r].isoformat(),
        }
        for r in ("report-11", "report-10", "report-09")
    ]
    assert len(runner.get("/api/metrics/latest").json()["metrics"]) == 40  # 14 x 2 + 12, under the default 50


def test_metric_history_is_a_time_series_of_one_script(runner: Any) -> None:
    body = runner.get("/api/metrics/history", params={"script_path": "etl.py", "metric_name": "rows", "days": 7}).json()
    assert (body["script_path"], body["metric_name"], body["days"]) == ("etl.py", "rows", 7.0)
    assert body["data"] == [
        {"timestamp": STARTED[r].isoformat(), "value": 100.0 + i, "execution_id": r} for i, r in enumerate(ETL)
    ]
    last_day = runner.get(
        "/api/metrics/history", params={"script_path": "etl.py", "metric_name": "rows", "days": 1}
    ).json()
    assert [p["value"] for p in last_day["data"]] == [111.0, 112.0, 113.0]  # started 18h30, 12h30, 6h30 ago
    durations = runner.get("/api/metrics/history", params={"script_path": "report.py"}).json()
    assert (durations["metric_name"], [p["value"] for p in durations["data"]]) == ("duration_ms", REPORT_DURATIONS)


def test_aggregated_metrics_give_min_max_avg_and_percentiles(runner: Any) -> None:
    body = runner.get("/api/metrics/aggregated", params={"script_path": "etl.py"}).json()
    assert set(body["metrics"]) == {"duration_ms", "rows", "memory_mb"}
    rows = body["metrics"]["rows"]
    values = np.arange(100.0, 114.0)
    assert (rows["count"], rows["min"], rows["max"], rows["mean"], rows["median"]) == (14, 100.0, 113.0, 106.5, 106.5)
    assert rows["p95"] == pytest.approx(float(np.percentile(values, 95)))  # 112.35
    assert rows["p90"] == pytest.approx(111.7)
    duration = body["metrics"]["duration_ms"]
    assert (duration["min"], duration["max"], duration["mean"]) == (1000.0, 1650.0, 1325.0)
    memory = body["metrics"]["memory_mb"]
    assert memory["mean"] == pytest.approx((50 * 14 + 5 * 1 + 4 * 2) / 14)  # i % 3: five 1s and four 2s
    recent = runner.get("/api/metrics/aggregated", params={"script_path": "etl.py", "days": 1}).json()
    assert recent["metrics"]["rows"]["count"] == 3


def test_trend_detects_the_slow_regression(runner: Any) -> None:
    body = runner.get("/api/analysis/trend", params={"script_path": "etl.py"}).json()
    assert (body["script_path"], body["metric_name"], body["n"]) == ("etl.py", "duration_ms", 14)
    assert (body["direction"], body["significant"]) == ("increasing", True)
    assert body["slope_per_day"] == pytest.approx(200.0)  # +50 ms every 6 hours
    assert (body["start_value"], body["end_value"]) == (pytest.approx(1000.0), pytest.approx(1650.0))
    assert body["pct_change"] == pytest.approx(65.0)
    assert body["p_value"] < 0.001
    flat = runner.get("/api/analysis/trend", params={"script_path": "report.py", "metric_name": "pages"}).json()
    assert (flat["direction"], flat["significant"]) == ("stable", False)
    short = runner.get("/api/analysis/trend", params={"script_path": "etl.py", "days": 0.8}).json()
    assert (short["n"], short["direction"]) == (3, "insufficient_data")  # the runs of the last 19.2 hours


def test_intelligent_baseline_ignores_the_outlier(runner: Any) -> None:
    body = runner.get("/api/analysis/baseline", params={"script_path": "report.py", "method": "intelligent"}).json()
    assert (body["script_path"], body["method"]) == ("report.py", "intelligent")
    duration = body["baselines"]["duration_ms"]
    assert (duration["centre"], duration["n_used"], duration["n_excluded"]) == (100.0, 11, 1)
    assert duration["lower"] == pytest.approx(100 - 3 * 1.4826)
    assert duration["upper"] == pytest.approx(100 + 3 * 1.4826)
    assert body["baselines"]["pages"]["centre"] == 10.0
    params = {"script_path": "report.py", "method": "mean", "metric_name": "duration_ms"}
    mean = runner.get("/api/analysis/baseline", params=params).json()
    assert list(mean["baselines"]) == ["duration_ms"]
    assert mean["baselines"]["duration_ms"]["centre"] == pytest.approx(
        sum(REPORT_DURATIONS) / 12
    )  # the outlier pulls it to 166.75


def test_anomalies_flag_the_injected_outlier_run(runner: Any) -> None:
    body = runner.get("/api/analysis/anomalies", params={"script_path": "report.py"}).json()
    assert (body["script_path"], body["metric_name"]) == ("report.py", "duration_ms")
    [anomaly] = body["anomalies"]
    assert (anomaly["execution_id"], anomaly["value"], anomaly["baseline"]) == ("report-10", 900.0, 100.0)
    assert anomaly["timestamp"] == STARTED["report-10"].isoformat()
    assert anomaly["anomaly_score"] > 0.5 and "above" in anomaly["reason"]
    assert (
        runner.get("/api/analysis/anomalies", params={"script_path": "etl.py", "metric_name": "rows"}).json()[
            "anomalies"
        ]
        == []
    )


def test_database_stats_count_rows(runner: Any) -> None:
    body = runner.get("/api/stats/database").json()
    assert (body["total_executions"], body["total_metrics"], body["total_events"], body["total_sessions"]) == (
        26,
        40,
        26,
        0,
    )
    assert body["database"] in ("sqlite", "postgresql")
    assert body["database_size_bytes"] > 0
    # A run is stored as an event when it finishes.
    assert body["oldest_event"] == (STARTED["etl-00"] + timedelta(milliseconds=1000)).isoformat()
    assert body["newest_event"] == (STARTED["report-11"] + timedelta(milliseconds=100)).isoformat()


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/metrics/history", {"metric_name": "rows"}, "script_path"),
        ("/api/metrics/history", {"script_path": "etl.py", "days": "0"}, "days"),
        ("/api/metrics/history", {"script_path": "etl.py", "days": "nan"}, "days"),
        ("/api/metrics/aggregated", {"script_path": "etl.py", "days": "401"}, "days"),
        ("/api/analysis/trend", {"script_path": "etl.py", "days": "week"}, "days"),
        ("/api/analysis/baseline", {"script_path": "etl.py", "method": "magic"}, "method"),
        ("/api/analysis/baseline", {"script_path": "etl.py", "lookback": "1"}, "lookback"),
        ("/api/analysis/anomalies", {}, "script_path"),
        ("/api/executions", {"limit": "x"}, "limit"),
        ("/api/executions", {"limit": "-1"}, "limit"),
        ("/api/metrics/latest", {"limit": "5001"}, "limit"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(runner: Any, path: str, params: dict[str, str], name: str) -> None:
    r = runner.get(path, params=params)
    assert r.status_code == 400, r.text
    assert f"'{name}'" in r.json()["error"]
