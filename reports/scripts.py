"""The script runner's figures: scripts, runs, named metrics, their
history, aggregates, trends, baselines, anomalies and regressions.

``duration_ms`` is a metric of every run besides the named ones it reports.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from analytics.anomalies import detect_anomalies
from analytics.baselines import baseline
from analytics.distributions import summary_stats
from analytics.regressions import detect_steps
from analytics.trends import trend
from core.compute import LOCAL, Compute
from data import queries, records
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


def metric_series(
    conn: Connection, *, script: str, name: str, since: datetime | None, until: datetime | None = None
) -> pd.DataFrame:
    """``ts, value, execution_id`` of one metric of one script, oldest first
    (runs started from ``since``, before ``until``)."""
    if name == DURATION:
        runs = queries.executions_frame(conn, script=script, since=since, until=until, newest_first=False)
        runs = runs[runs["duration_ms"].notna()]
        return pd.DataFrame(
            {"ts": runs["started_at"], "value": runs["duration_ms"], "execution_id": runs["id"]}
        ).reset_index(drop=True)
    m = queries.metrics_frame(conn, script=script, name=name, since=since, until=until)
    return pd.DataFrame({"ts": m["started_at"], "value": m["value"], "execution_id": m["execution_id"]})


def metric_names(conn: Connection, script: str | None) -> list[str]:
    m = queries.metrics_frame(conn, script=script, limit=20000)
    return [DURATION, *sorted(set(m["name"]))]


def history(
    conn: Connection, *, script: str, name: str, days: float, now: datetime, bounded: bool = False
) -> list[dict[str, Any]]:
    """The metric's points over the ``days`` before ``now`` (and none after it when ``bounded``)."""
    s = metric_series(conn, script=script, name=name, since=now - timedelta(days=days), until=now if bounded else None)
    return [
        {"timestamp": _iso(r.ts), "value": float(r.value), "execution_id": r.execution_id}
        for r in s.itertuples(index=False)
    ]


def aggregated(conn: Connection, *, script: str, days: float, now: datetime, bounded: bool = False) -> dict[str, Any]:
    """Each metric's summary over the ``days`` before ``now`` (and none after it when ``bounded``)."""
    since = now - timedelta(days=days)
    out = {}
    for name in metric_names(conn, script):
        s = metric_series(conn, script=script, name=name, since=since, until=now if bounded else None)
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


def anomalies(
    conn: Connection, *, script: str, name: str, days: float, now: datetime, bounded: bool = False
) -> list[dict[str, Any]]:
    s = metric_series(conn, script=script, name=name, since=now - timedelta(days=days), until=now if bounded else None)
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


NEIGHBOURS = 20  # runs either side of a run on its drill-down chart
EVENTS_MARGIN = timedelta(minutes=1)  # the events "around" a run: its time span widened by this much


def _script_runs(conn: Connection, script: str) -> pd.DataFrame:
    """Every run of ``script``, oldest first (ties by id)."""
    runs = queries.executions_frame(conn, script=script, newest_first=False)
    return runs.sort_values(["started_at", "id"], kind="stable").reset_index(drop=True)


def _position(runs: pd.DataFrame, execution_id: str) -> int:
    return int(runs.index[runs["id"] == execution_id][0])


def comparable_runs(runs: pd.DataFrame, execution_id: str, *, limit: int = BASELINE_RUNS) -> pd.DataFrame:
    """The runs a run is measured against: of the same script's runs
    (``runs``, oldest first, as :func:`_script_runs` reads them), the last
    ``limit`` successful ones started before it, never the run itself.

    >>> runs = pd.DataFrame({"id": ["a", "b", "c", "d"], "status": ["success", "failed", "success", "success"]})
    >>> comparable_runs(runs, "d")["id"].tolist(), comparable_runs(runs, "d", limit=1)["id"].tolist()
    (['a', 'c'], ['c'])
    """
    before = runs.iloc[: _position(runs, execution_id)]
    return before[before["status"] == records.SUCCESS].tail(limit)


def neighbours(runs: pd.DataFrame, execution_id: str, *, n: int = NEIGHBOURS) -> list[dict[str, Any]]:
    """Up to ``n`` runs before and after a run (any status), the run itself
    flagged ``current``: what its drill-down chart draws.

    >>> at = pd.Timestamp("2026-01-01", tz="UTC")
    >>> runs = pd.DataFrame({"id": list("abcde"), "started_at": [at] * 5, "duration_ms": [1.0, 2, 3, None, 5],
    ...                      "status": ["success"] * 4 + ["failed"]})
    >>> [(r["execution_id"], r["current"]) for r in neighbours(runs, "c", n=1)]
    [('b', False), ('c', True), ('d', False)]
    """
    at = _position(runs, execution_id)
    window = runs.iloc[max(0, at - n) : at + n + 1]
    return [
        {
            "execution_id": str(r["id"]),
            "started_at": _iso(r["started_at"]),
            "duration_ms": None if r["duration_ms"] != r["duration_ms"] else float(r["duration_ms"]),
            "status": str(r["status"]),
            "current": r["id"] == execution_id,
        }
        for r in window.to_dict("records")
    ]


MIN_LEVEL_RUNS = 8  # a step in the comparable runs starts a new baseline once this many runs follow it


def current_level(earlier: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The comparable runs at their current level: when the series stepped
    (a regression or improvement, :func:`analytics.regressions.detect_steps`)
    and at least :data:`MIN_LEVEL_RUNS` runs follow the last step, only those
    (a band over two levels is wide enough to hide anything); with the step.

    >>> ts = pd.date_range("2026-01-01", periods=24, freq="h", tz="UTC")
    >>> s = pd.DataFrame({"ts": ts, "value": [40.0, 41, 39, 40, 42, 38, 40, 41, 39, 40, 41, 40] + [56.0, 57, 55, 56, 58, 54, 56, 57, 55, 56, 57, 56]})
    >>> level, step = current_level(s)
    >>> len(level), step["kind"], step["start_ts"]
    (12, 'regression', '2026-01-01T12:00:00+00:00')
    """
    if len(earlier) < 2 * MIN_LEVEL_RUNS:
        return earlier, None
    steps = detect_steps(earlier[["ts", "value"]])
    if steps.empty:
        return earlier, None
    last = steps.iloc[-1]
    start = int(last["start_index"])
    if len(earlier) - start < MIN_LEVEL_RUNS:
        return earlier, None
    size_pct = None if last["size_pct"] != last["size_pct"] else round(float(last["size_pct"]), 2)
    return earlier.iloc[start:], {"start_ts": _iso(last["start_ts"]), "kind": str(last["kind"]), "size_pct": size_pct}


def _compare(value: float, earlier: pd.DataFrame) -> dict[str, Any]:
    earlier, step = current_level(earlier.sort_values("ts", kind="stable").reset_index(drop=True))
    b = baseline(earlier, method="intelligent", lookback=BASELINE_RUNS)
    within = None if b.lower is None or b.upper is None else bool(b.lower <= value <= b.upper)
    return {
        "value": value,
        "baseline": b.as_dict(),
        "within_band": within,
        "delta_pct": round(100 * (value - b.centre) / b.centre, 2) if b.centre else None,
        "ratio": value / b.centre if b.centre else None,
        "direction": None
        if within is None or within
        else "above"
        if b.upper is not None and value > b.upper
        else "below",
        "runs": len(earlier),
        "since_step": step,
    }


def events_window(row: dict[str, Any]) -> dict[str, str | None]:
    """The time span of a run's events, widened by :data:`EVENTS_MARGIN`
    either side (a run still running ends where it started).

    >>> from datetime import timezone
    >>> at = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    >>> events_window({"started_at": at, "finished_at": None, "duration_ms": 90_000.0})
    {'since': '2026-01-01T11:59:00+00:00', 'until': '2026-01-01T12:02:30+00:00'}
    """
    start = pd.Timestamp(row["started_at"])
    end = row.get("finished_at")
    if end is None or end is pd.NaT:
        duration = row.get("duration_ms")
        end = start + pd.Timedelta(milliseconds=duration) if duration is not None and duration == duration else start
    return {"since": _iso(start - EVENTS_MARGIN), "until": _iso(pd.Timestamp(end) + EVENTS_MARGIN)}


def execution_detail(conn: Connection, execution_id: str) -> dict[str, Any] | None:
    """One run with what explains it: its attrs (error, host, trigger...),
    its events, the previous and next run of its script, each metric
    against the baseline of the comparable runs (:func:`comparable_runs`)
    with the band, ratio and direction, the neighbours' durations for a
    chart and the time window of its events."""
    row = queries.get_execution(conn, execution_id)
    if row is None:
        return None
    metrics = get_metrics(conn, execution_id)
    prev_id, next_id = queries.neighbour_executions(conn, row)
    events = queries.events_frame(conn, filters=queries.Filters(execution_id=(execution_id,)), limit=500)
    runs = _script_runs(conn, row["script"])
    earlier = comparable_runs(runs, execution_id)
    series = {DURATION: pd.DataFrame({"ts": earlier["started_at"], "value": earlier["duration_ms"]})}
    ids = earlier["id"].tolist()
    named = queries.metrics_frame(conn, execution_ids=ids or [""])
    for name in metrics:
        m = named[named["name"] == name]
        series[name] = pd.DataFrame({"ts": m["started_at"], "value": m["value"]})
    comparison = {}
    values = {DURATION: row["duration_ms"], **metrics}
    for name, value in values.items():
        if value is None or value != value:
            continue
        comparison[name] = _compare(float(value), series[name].dropna())
    return execution_json(row, metrics) | {
        "attrs": dict(row.get("attrs") or {}),
        "previous_id": prev_id,
        "next_id": next_id,
        "events": [event_json(r) for r in events.to_dict("records")],
        "comparison": comparison,
        "baseline_runs": BASELINE_RUNS,
        "neighbours": neighbours(runs, execution_id),
        "events_window": events_window(row),
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
    conn: Connection,
    *,
    script: str,
    name: str,
    days: float | None,
    now: datetime,
    higher_is_better: bool = False,
    bounded: bool = False,
) -> list[dict[str, Any]]:
    """Steps in a script's metric: where each starts, its size, regression or
    improvement (none after ``now`` when ``bounded``)."""
    since = now - timedelta(days=days) if days else None
    s = metric_series(conn, script=script, name=name, since=since, until=now if bounded else None)
    if len(s) < 8:
        return []
    return _step_rows(s, detect_steps(s[["ts", "value"]], higher_is_better=higher_is_better))


def regression_scan(
    conn: Connection,
    scripts: list[str],
    *,
    name: str,
    days: float | None,
    now: datetime,
    higher_is_better: bool = False,
    bounded: bool = False,
    executor: Compute = LOCAL,
) -> dict[str, list[dict[str, Any]]]:
    """:func:`regressions` of each of ``scripts`` (the same lists): every
    series is read here first, the step fits run through ``executor`` (in
    this process, or on a Dask cluster), and the rows are made here."""
    since = now - timedelta(days=days) if days else None
    series = {
        script: metric_series(conn, script=script, name=name, since=since, until=now if bounded else None)
        for script in scripts
    }
    fitted = [script for script, s in series.items() if len(s) >= 8]
    frames = [series[script][["ts", "value"]] for script in fitted]
    steps = executor.map(functools.partial(_fit_steps, higher_is_better), frames)
    out: dict[str, list[dict[str, Any]]] = {script: [] for script in scripts}
    for script, found in zip(fitted, steps, strict=True):
        out[script] = _step_rows(series[script], found)
    return out


def _fit_steps(higher_is_better: bool, frame: pd.DataFrame) -> pd.DataFrame:
    return detect_steps(frame, higher_is_better=higher_is_better)


def _step_rows(s: pd.DataFrame, steps: pd.DataFrame) -> list[dict[str, Any]]:
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
