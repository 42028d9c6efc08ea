"""The script runner's figures: scripts, runs, named metrics, their
history, aggregates, trends, baselines, anomalies and regressions.

``duration_ms`` is a metric of every run besides the named ones it reports.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from analytics.anomalies import detect_anomalies
from analytics.baselines import baseline
from analytics.distributions import summary_stats
from analytics.regressions import detect_steps
from analytics.trends import trend
from data import queries
from data.records import get_metrics
from reports.overview import event_json

DURATION = "duration_ms"
BASELINE_RUNS = 30  # a run is compared with this many runs before it


def _iso(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    return str(pd.Timestamp(value).isoformat())


def execution_json(row: dict[str, Any], metrics: dict[str, float] | None = None) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("started_at", "finished_at")}
    out["started_at"] = _iso(row.get("started_at"))
    out["finished_at"] = _iso(row.get("finished_at"))
    out["duration_ms"] = (
        None
        if row.get("duration_ms") is None or row["duration_ms"] != row["duration_ms"]
        else float(row["duration_ms"])
    )
    for key in ("exit_code", "attempt"):
        if key in out and out[key] is not None and out[key] == out[key]:
            out[key] = int(out[key])
        elif key in out:
            out[key] = None
    if metrics is not None:
        out["metrics"] = metrics
    return out


def scripts(conn: Connection) -> list[dict[str, Any]]:
    out = []
    for row in queries.scripts_summary(conn):
        n = int(row["executions"])
        failures = int(row["failures"] or 0)
        out.append(
            {
                "script": row["script"],
                "executions": n,
                "last_run": _iso(pd.Timestamp(int(row["last_run"]), unit="us", tz="UTC")) if row["last_run"] else None,
                "avg_duration_ms": round(float(row["avg_duration_ms"]), 3)
                if row["avg_duration_ms"] is not None
                else None,
                "failures": failures,
                "success_rate": round(100.0 * (n - failures) / n, 2) if n else None,
            }
        )
    return out


def last_script(conn: Connection) -> str | None:
    runs = queries.executions_frame(conn, limit=1)
    return str(runs["script"].iloc[0]) if len(runs) else None


def executions(
    conn: Connection, *, script: str | None, status: str | None, limit: int, metric: str | None = None
) -> list[dict[str, Any]]:
    # The metric filter goes to SQL so that ``limit`` counts the runs that report it.
    named = metric if metric and metric != DURATION else None
    runs = queries.executions_frame(conn, script=script, status=status, limit=limit, metric=named)
    ids = runs["id"].tolist()
    metrics = (
        queries.metrics_frame(conn, execution_ids=ids)
        if ids
        else pd.DataFrame(columns=["execution_id", "name", "value"])
    )
    if metric:
        metrics = metrics[metrics["name"] == metric]
    by_run: dict[str, dict[str, float]] = {}
    for r in metrics.itertuples(index=False):
        by_run.setdefault(str(r.execution_id), {})[str(r.name)] = float(r.value)
    return [execution_json(r, by_run.get(r["id"], {})) for r in runs.to_dict("records")]


def metric_series(conn: Connection, *, script: str, name: str, since: datetime | None) -> pd.DataFrame:
    """``ts, value, execution_id`` of one metric of one script, oldest first."""
    if name == DURATION:
        runs = queries.executions_frame(conn, script=script, since=since, newest_first=False)
        runs = runs[runs["duration_ms"].notna()]
        return pd.DataFrame(
            {"ts": runs["started_at"], "value": runs["duration_ms"], "execution_id": runs["id"]}
        ).reset_index(drop=True)
    m = queries.metrics_frame(conn, script=script, name=name, since=since)
    return pd.DataFrame({"ts": m["started_at"], "value": m["value"], "execution_id": m["execution_id"]})


def metric_names(conn: Connection, script: str | None) -> list[str]:
    m = queries.metrics_frame(conn, script=script, limit=20000)
    return [DURATION, *sorted(set(m["name"]))]


def history(conn: Connection, *, script: str, name: str, days: float, now: datetime) -> list[dict[str, Any]]:
    s = metric_series(conn, script=script, name=name, since=now - timedelta(days=days))
    return [
        {"timestamp": _iso(r.ts), "value": float(r.value), "execution_id": r.execution_id}
        for r in s.itertuples(index=False)
    ]


def aggregated(conn: Connection, *, script: str, days: float, now: datetime) -> dict[str, Any]:
    since = now - timedelta(days=days)
    out = {}
    for name in metric_names(conn, script):
        s = metric_series(conn, script=script, name=name, since=since)
        if len(s):
            out[name] = summary_stats(s, column="value").as_dict()
    return out


def trend_analysis(conn: Connection, *, script: str, name: str, days: float | None, now: datetime) -> dict[str, Any]:
    since = now - timedelta(days=days) if days else None
    s = metric_series(conn, script=script, name=name, since=since)
    return {"script_path": script, "metric_name": name} | trend(s).as_dict()


def baseline_analysis(conn: Connection, *, script: str, method: str, name: str | None, lookback: int) -> dict[str, Any]:
    names = [name] if name else metric_names(conn, script)
    out = {}
    for metric in names:
        s = metric_series(conn, script=script, name=metric, since=None)
        out[metric] = baseline(s, method=method, lookback=lookback).as_dict()  # type: ignore[arg-type]
    return {"script_path": script, "method": method, "baselines": out}


def anomalies(conn: Connection, *, script: str, name: str, days: float, now: datetime) -> list[dict[str, Any]]:
    s = metric_series(conn, script=script, name=name, since=now - timedelta(days=days))
    scored = detect_anomalies(s[["ts", "value"]], min_history=10, season=None) if len(s) else pd.DataFrame()
    if scored.empty:
        return []
    scored["execution_id"] = s["execution_id"].to_numpy()
    flagged = scored[scored["is_anomaly"]]
    return [
        {
            "timestamp": _iso(r.ts),
            "value": float(r.value),
            "execution_id": r.execution_id,
            "anomaly_score": round(float(r.anomaly_score), 4),
            "baseline": float(r.baseline),
            "reason": r.reason,
        }
        for r in flagged.itertuples(index=False)
    ]


def execution_detail(conn: Connection, execution_id: str) -> dict[str, Any] | None:
    row = queries.get_execution(conn, execution_id)
    if row is None:
        return None
    metrics = get_metrics(conn, execution_id)
    prev_id, next_id = queries.neighbour_executions(conn, row)
    events = queries.events_frame(conn, filters=queries.Filters(execution_id=(execution_id,)), limit=500)
    comparison = {}
    values = {DURATION: row["duration_ms"], **metrics}
    for name, value in values.items():
        if value is None:
            continue
        s = metric_series(conn, script=row["script"], name=name, since=None)
        earlier = s[s["ts"] < pd.Timestamp(row["started_at"])]
        b = baseline(earlier, method="intelligent", lookback=BASELINE_RUNS)
        within = None if b.lower is None or b.upper is None else bool(b.lower <= value <= b.upper)
        comparison[name] = {
            "value": value,
            "baseline": b.as_dict(),
            "within_band": within,
            "delta_pct": round(100 * (value - b.centre) / b.centre, 2) if b.centre else None,
        }
    return execution_json(row, metrics) | {
        "previous_id": prev_id,
        "next_id": next_id,
        "events": [event_json(r) for r in events.to_dict("records")],
        "comparison": comparison,
    }


def latest_metrics(conn: Connection, *, limit: int) -> list[dict[str, Any]]:
    m = queries.metrics_frame(conn, limit=limit)
    m = m.iloc[::-1]
    return [
        {
            "execution_id": r.execution_id,
            "script_path": r.script,
            "metric_name": r.name,
            "value": float(r.value),
            "timestamp": _iso(r.started_at),
        }
        for r in m.itertuples(index=False)
    ]


def regressions(
    conn: Connection, *, script: str, name: str, days: float | None, now: datetime, higher_is_better: bool = False
) -> list[dict[str, Any]]:
    """Steps in a script's metric: where each starts, its size, regression or improvement."""
    s = metric_series(conn, script=script, name=name, since=now - timedelta(days=days) if days else None)
    if len(s) < 8:
        return []
    steps = detect_steps(s[["ts", "value"]], higher_is_better=higher_is_better)
    out = []
    for r in steps.to_dict("records"):
        idx = int(r["start_index"])
        out.append(
            {
                "start_index": idx,
                "start_ts": _iso(r["start_ts"]),
                "execution_id": str(s["execution_id"].iloc[idx]),
                "before": float(r["before"]),
                "after": float(r["after"]),
                "size": float(r["size"]),
                "size_pct": None if r["size_pct"] != r["size_pct"] else round(float(r["size_pct"]), 2),
                "kind": r["kind"],
            }
        )
    return out
