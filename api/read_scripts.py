"""The script runner's routes (its API reference, same paths)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from api.ingest import services
from data import queries
from data.export import csv_lines
from reports import scripts
from web import params as p
from web.docs import LIMIT, Param, doc
from web.http import ApiError, json_response

bp = Blueprint("scripts", __name__)

SCRIPT = Param("script_path", description="The script (required)")
METRIC = Param("metric_name", description="A named metric, or duration_ms")
DAYS = Param("days", "number", "How many days back", minimum=0.001, maximum=400)


def _script() -> str:
    script = p.arg("script_path") or p.arg("script")
    if not script:
        raise ApiError(400, "parameter 'script_path': required")
    return script


@doc("GET", "/api/scripts", "Every script with run count, last run, average duration and success rate")
@bp.get("/api/scripts")
def get_scripts() -> Response:
    with services().db.read() as conn:
        return json_response({"scripts": scripts.scripts(conn)})


RUN_COLUMNS = ("id", "script", "source", "started_at", "finished_at", "duration_ms", "status", "exit_code", "attempt")


def executions_csv(rows: list[dict[str, Any]]) -> Response:
    """The script runner's CSV export: one line per run, a column per metric
    (named ``metric_<name>`` when the name is a run column's)."""
    names = sorted({name for r in rows for name in r["metrics"]})
    columns = {name: f"metric_{name}" if name in RUN_COLUMNS else name for name in names}
    lines = [{c: r.get(c) for c in RUN_COLUMNS} | {columns[k]: v for k, v in r["metrics"].items()} for r in rows]
    body = csv_lines([*RUN_COLUMNS, *columns.values()], [lines])
    headers = {"Content-Disposition": 'attachment; filename="pulseboard-executions.csv"'}
    return Response(body, mimetype="text/csv", headers=headers)


@doc(
    "GET",
    "/api/executions",
    "Recent executions, newest first, with their metrics (default 20); as CSV with format=csv or Accept: text/csv",
    LIMIT,
    Param("script_path"),
    Param("status"),
    Param("metric_name", description="Only runs that report this metric"),
    Param("format", enum=("json", "csv")),
    produces=("application/json", "text/csv"),
)
@bp.get("/api/executions")
def get_executions() -> Response:
    if p.arg("format") is not None:
        as_csv = p.choice_arg("format", "json", ("json", "csv")) == "csv"
    else:
        accept = request.accept_mimetypes.best_match(["application/json", "text/csv"])
        as_csv = accept == "text/csv" and "text/csv" in request.headers.get("Accept", "")
    with services().db.read() as conn:
        rows = scripts.executions(
            conn,
            script=p.arg("script_path") or p.arg("script"),
            status=p.arg("status"),
            limit=p.int_arg("limit", 20),
            metric=p.arg("metric_name"),
        )
    if as_csv:
        return executions_csv(rows)
    return json_response({"executions": rows, "count": len(rows)})


@doc(
    "GET",
    "/api/execution/<execution_id>",
    "One execution: metrics, events, comparison with the script's baseline, previous/next run",
)
@doc("GET", "/api/executions/<execution_id>", "One execution (same as /api/execution/<execution_id>)")
@bp.get("/api/execution/<execution_id>")
@bp.get("/api/executions/<execution_id>")
def get_execution(execution_id: str) -> Response:
    with services().db.read() as conn:
        body = scripts.execution_detail(conn, execution_id)
    if body is None:
        raise ApiError(404, f"execution {execution_id!r} not found")
    return json_response(body)


@doc("GET", "/api/metrics/latest", "The latest metric values reported by runs", LIMIT)
@bp.get("/api/metrics/latest")
def get_latest_metrics() -> Response:
    with services().db.read() as conn:
        return json_response({"metrics": scripts.latest_metrics(conn, limit=p.int_arg("limit", 50))})


@doc("GET", "/api/metrics/history", "A metric's time series for one script", SCRIPT, METRIC, DAYS)
@bp.get("/api/metrics/history")
def get_metric_history() -> Response:
    script, name = _script(), p.arg("metric_name", scripts.DURATION) or scripts.DURATION
    days = p.days_arg("days", 7)
    svc = services()
    with svc.db.read() as conn:
        points = scripts.history(conn, script=script, name=name, days=days, now=svc.now())
    return json_response({"script_path": script, "metric_name": name, "days": days, "data": points})


@doc("GET", "/api/metrics/aggregated", "Min/max/avg/percentiles of every metric of one script", SCRIPT, DAYS)
@bp.get("/api/metrics/aggregated")
def get_metric_aggregates() -> Response:
    script, days = _script(), p.days_arg("days", 7)
    svc = services()
    with svc.db.read() as conn:
        body = scripts.aggregated(conn, script=script, days=days, now=svc.now())
    return json_response({"script_path": script, "days": days, "metrics": body})


@doc("GET", "/api/analysis/trend", "Theil-Sen trend with a Mann-Kendall test", SCRIPT, METRIC, DAYS)
@bp.get("/api/analysis/trend")
def get_trend() -> Response:
    script, name = _script(), p.arg("metric_name", scripts.DURATION) or scripts.DURATION
    days = p.days_arg("days", 30)
    svc = services()
    with svc.db.read() as conn:
        return json_response(scripts.trend_analysis(conn, script=script, name=name, days=days, now=svc.now()))


@doc(
    "GET",
    "/api/analysis/baseline",
    "Baseline (centre and band) of a script's metrics",
    SCRIPT,
    METRIC,
    Param("method", enum=("intelligent", "mean", "median", "percentile")),
    Param("lookback", "integer", "Runs considered", minimum=2, maximum=5000),
)
@bp.get("/api/analysis/baseline")
def get_baseline() -> Response:
    script = _script()
    method = p.choice_arg("method", "intelligent", ("intelligent", "mean", "median", "percentile"))
    with services().db.read() as conn:
        body = scripts.baseline_analysis(
            conn, script=script, method=method, name=p.arg("metric_name"), lookback=p.int_arg("lookback", 100, lo=2)
        )
    return json_response(body)


@doc("GET", "/api/analysis/anomalies", "Runs whose metric was anomalous (online detector)", SCRIPT, METRIC, DAYS)
@bp.get("/api/analysis/anomalies")
def get_anomalies() -> Response:
    script, name = _script(), p.arg("metric_name", scripts.DURATION) or scripts.DURATION
    svc = services()
    with svc.db.read() as conn:
        rows = scripts.anomalies(conn, script=script, name=name, days=p.days_arg("days", 30), now=svc.now())
    return json_response({"script_path": script, "metric_name": name, "anomalies": rows})


@doc(
    "GET",
    "/api/analysis/regressions",
    "Step changes (regressions and improvements) in a script's metric",
    SCRIPT,
    METRIC,
    DAYS,
    Param("higher_is_better", "boolean", "True for throughput-like metrics"),
)
@bp.get("/api/analysis/regressions")
def get_regressions() -> Response:
    script, name = _script(), p.arg("metric_name", scripts.DURATION) or scripts.DURATION
    svc = services()
    with svc.db.read() as conn:
        rows = scripts.regressions(
            conn,
            script=script,
            name=name,
            days=p.days_arg("days", 30),
            now=svc.now(),
            higher_is_better=p.bool_arg("higher_is_better"),
        )
    return json_response({"script_path": script, "metric_name": name, "steps": rows})


@doc("GET", "/api/stats/database", "Row counts, database size and time span")
@bp.get("/api/stats/database")
def get_database_stats() -> Response:
    svc = services()
    with svc.db.read() as conn:
        counts = queries.table_counts(conn)
        first, last = queries.time_span(conn)
    body = {
        "total_executions": counts["executions"],
        "total_metrics": counts["metrics"],
        "total_events": counts["events"],
        "total_sessions": counts["sessions"],
        "database_size_bytes": svc.db.size_bytes(),
        "database": svc.db.dialect,
        "oldest_event": first.isoformat() if first else None,
        "newest_event": last.isoformat() if last else None,
    }
    return json_response(body)
