"""Executions: overview cards, recent runs, the chosen script's metric trend
with baseline, anomalies and regressions (and, for run duration, its
forecast beyond now); the drill-down page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import dash
import pandas as pd
from dash import Input, Output, State, html, no_update

from analytics.baselines import rolling_baseline
from analytics.distributions import duration_histogram
from callbacks import timebar
from data import queries
from layouts import executions as layout
from layouts import figures, format, ids
from layouts.explore import add_forecast
from layouts.timebar import fit_x
from reports import forecast as forecasts
from reports import scripts
from services import Services

DAYS = 30


def run_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows: a markdown link to the drill-down, the duration in ms (to
    sort and export) and in human units (to read), metrics as text.

    >>> row = run_rows([{"id": "e1", "script": "a.py", "status": "success", "started_at": "2026-01-01T00:00:00+00:00",
    ...                  "duration_ms": 1546696.8, "exit_code": 0, "attempt": 1, "metrics": {"rows": 124662.0, "cpu_s": 8.12}}])[0]
    >>> row["duration_ms"], row["duration"], row["metrics"]
    (1546696.8, '25 min 47 s', 'cpu_s 8.12 · rows 124,662')
    """
    return [
        {
            "run": f"[{r['id']}](/executions/{quote(r['id'])})",
            "script": r["script"],
            "status": r["status"],
            "started_at": format.timestamp(r["started_at"]),
            "duration_ms": None if r["duration_ms"] is None else round(r["duration_ms"], 1),
            "duration": "running" if r["duration_ms"] is None else format.duration(r["duration_ms"]),
            "exit_code": r["exit_code"],
            "attempt": r["attempt"],
            "metrics": " · ".join(f"{k} {format.number(v)}" for k, v in sorted(r.get("metrics", {}).items())),
        }
        for r in runs
    ]


def stat_row(name: str, summary: dict[str, Any]) -> dict[str, Any]:
    """One metric's row of the aggregated statistics: durations in human units.

    >>> stat_row("duration_ms", {"count": 720, "mean": 59063.2, "p95": 1546696.8, "relative_error": 0.0})
    {'metric': 'duration_ms', 'count': '720', 'mean': '59 s', 'p95': '25 min 47 s'}
    >>> stat_row("rows", {"count": 3, "mean": 2034.93054})["mean"]
    '2,035'
    """
    writer = format.duration if name == scripts.DURATION else format.number
    return {"metric": name} | {
        k: format.integer(v) if k == "count" else writer(v) for k, v in summary.items() if k != "relative_error"
    }


def step_note(step: dict[str, Any], metric: str) -> str:
    """A detected step in words, its levels in the metric's units.

    >>> step_note({"kind": "regression", "start_ts": "2026-11-28T14:05:00+00:00", "before": 4.19e4, "after": 5.906e4,
    ...            "size_pct": 40.95}, "rows")
    'regression at 2026-11-28 14:05: 41,900 → 59,060 (+41 %)'
    >>> step_note({"kind": "improvement", "start_ts": "2026-11-28T14:05:00+00:00", "before": 4.19e4, "after": 3.1e4,
    ...            "size_pct": None}, "duration_ms")
    'improvement at 2026-11-28 14:05: 42 s → 31 s'
    """
    writer = format.duration if metric == scripts.DURATION else format.number
    size = f" ({format.percent(step['size_pct'], signed=True)})" if step["size_pct"] is not None else ""
    return f"{step['kind']} at {format.timestamp(step['start_ts'])[:16]}: {writer(step['before'])} → {writer(step['after'])}{size}"


def trend_parts(
    conn: Any, script: str, metric: str, now: Any, days: float = DAYS
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The trend over the ``days`` before ``now`` (the range's end): points, baseline band, anomalies and steps."""
    points = scripts.history(conn, script=script, name=metric, days=days, now=now, bounded=True)
    band: list[dict[str, Any]] = []
    if len(points) >= 6:
        series = pd.DataFrame(
            {
                "ts": pd.to_datetime([p["timestamp"] for p in points], utc=True, format="ISO8601"),
                "value": [p["value"] for p in points],
            }
        )
        b = rolling_baseline(series, window=30, min_periods=5).dropna(subset=["lower"])
        band = [
            {"timestamp": t.isoformat(), "lower": lo, "upper": hi} for t, lo, hi in zip(b["ts"], b["lower"], b["upper"])
        ]
    anomalies = scripts.anomalies(conn, script=script, name=metric, days=days, now=now, bounded=True)
    steps = scripts.regressions(conn, script=script, name=metric, days=days, now=now, bounded=True)
    return points, band, anomalies, steps


def forecast_note(fc: dict[str, Any]) -> str:
    """The run-duration forecast in one line: the next bucket's expected
    duration and its 80 % interval, in human units, and the model.

    >>> forecast_note({"points": [{"value": 1_560_000, "lower_80": 1_320_000, "upper_80": 1_860_000}],
    ...                "model": {"name": "drift"}, "step_seconds": 3600})
    'Next runs expected ~26 min (80 %: 22–31 min) · median per hour, drift'
    >>> forecast_note({"points": [{"value": 1500, "lower_80": None, "upper_80": None}], "model": {"name": "naive"}, "step_seconds": 86400})
    'Next runs expected ~1.5 s (too few runs for an interval) · median per day, naive'
    >>> forecast_note({"points": [], "model": {"reason": "only 2 buckets of runs"}, "step_seconds": 86400})
    'No duration forecast: only 2 buckets of runs in this range.'
    >>> forecast_note({"points": [{"value": 1500, "lower_80": 1000, "upper_80": 2000}], "model": {"name": "drift"},
    ...                "step_seconds": 3600, "idle_since": "2026-01-02T10:00:00+00:00"})
    'Next runs expected ~1.5 s (80 %: 1–2 s) · median per hour, drift · no runs since 2026-01-02 10:00:00 UTC'
    """
    if not fc["points"]:
        return f"No duration forecast: {fc['model']['reason']} in this range."
    first = fc["points"][0]
    band = (
        f"80 %: {format.duration_range(first['lower_80'], first['upper_80'])}"
        if first["lower_80"] is not None and first["upper_80"] is not None
        else "too few runs for an interval"
    )
    per = {3600: "hour", 21600: "6 hours", 86400: "day"}.get(
        int(fc["step_seconds"]), format.seconds(fc["step_seconds"])
    )
    idle = f" · no runs since {format.timestamp(fc['idle_since'])} UTC" if fc.get("idle_since") else ""
    return f"Next runs expected ~{format.duration(first['value'])} ({band}) · median per {per}, {fc['model']['name']}{idle}"


def trend_figure(
    parts: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]],
    fc: dict[str, Any] | None,
    metric: str,
    dark: bool,
) -> Any:
    """The trend chart, with the run-duration forecast's bands beyond now."""
    points, band, anomalies, steps = parts
    fig = figures.metric_trend(points, band=band, anomalies=anomalies, steps=steps, name=metric, dark=dark)
    if fc and fc["points"]:
        add_forecast(fig, fc["points"], name="duration forecast")
        highest = [p["value"] for p in points] + [b["upper"] for b in band]
        highest += [p[k] for p in fc["points"] for k in ("value", "upper_95") if p[k] is not None]
        fig.update_yaxes(**figures.duration_axis(max(highest)))
    return fig


def distribution(bins: list[dict[str, Any]], metric: str, dark: bool) -> Any:
    """The histogram of the chosen metric, a duration axis in human units."""
    fig = figures.histogram(bins, dark=dark)
    if metric == scripts.DURATION and bins:
        fig.update_xaxes(**figures.duration_axis(max(b["right"] for b in bins)))
        fig.update_traces(
            customdata=[f"{format.duration(b['left'])} – {format.duration(b['right'])}" for b in bins],
            hovertemplate="%{customdata}<br>%{y} runs<extra></extra>",
        )
    return fig


def register(app: dash.Dash, services: Services) -> None:
    @app.callback(
        Output(ids.XS_CARDS, "children"),
        Output(ids.XS_SCRIPT, "options"),
        Output(ids.XS_METRIC, "options"),
        Output(ids.XS_TABLE, "rowData"),
        Output(ids.XS_TREND, "figure"),
        Output(ids.XS_DIST, "figure"),
        Output(ids.XS_STATS, "rowData"),
        Output(ids.XS_STATS, "columnDefs"),
        Output(ids.XS_STEPS, "children"),
        Output(ids.page_search("executions"), "data"),
        Output(ids.XS_SCRIPT, "value"),
        Output(ids.XS_METRIC, "value"),
        Input(ids.XS_SCRIPT, "value"),
        Input(ids.XS_METRIC, "value"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.THEME_STORE, "data"),
        State(ids.URL, "search"),
    )
    def update(
        script: str | None,
        metric: str | None,
        time_range: dict[str, Any] | None,
        _n: Any,
        theme: str | None,
        search: str | None,
    ) -> tuple[Any, ...]:
        dark = theme == "dark"
        metric = metric or scripts.DURATION
        since, now = timebar.bounds(services, time_range, "/executions")
        days = (now - since).total_seconds() / 86400
        with services.db.replica() as conn:
            counts = queries.table_counts(conn)
            all_scripts = [s["script"] for s in scripts.scripts(conn)]
            # No script chosen: the one that ran last, so the page opens on something.
            script = script if script in all_scripts else (scripts.last_script(conn) if all_scripts else None)
            runs = scripts.executions(
                conn, script=script, status=None, limit=20, metric=None if metric == scripts.DURATION else metric
            )
            names = scripts.metric_names(conn, script)
            parts = trend_parts(conn, script, metric, now, days) if script else ([], [], [], [])
            stats = scripts.aggregated(conn, script=script, days=days, now=now, bounded=True) if script else {}
        size = services.db.size_bytes()
        cards = layout.stat_cards(
            [
                ("total executions", format.integer(counts["executions"])),
                ("metrics recorded", format.integer(counts["metrics"])),
                ("scripts", format.integer(len(all_scripts))),
                ("database size", format.size(size or 0)),
            ]
        )
        points, _band, _anomalies, steps = parts
        # Forecast beyond now only: a range ending in the past is pinned to its window.
        live = not time_range or time_range.get("live", True)
        fc = (
            forecasts.duration_forecast(services, script=script, points=points, now=now)
            if script and metric == scripts.DURATION and points and live
            else None
        )
        frame = pd.DataFrame({"value": [p["value"] for p in points]})
        bins = duration_histogram(frame, column="value", bins=20).to_dict("records") if points else []
        stat_rows = [stat_row(name, s) for name, s in stats.items()]
        stat_cols = layout.columns([{"field": c} for c in (stat_rows[0].keys() if stat_rows else ["metric"])])
        step_text = [
            html.Div(
                step_note(s, metric),
                className="text-danger" if s["kind"] == "regression" else "text-success",
            )
            for s in steps
        ]
        if fc is not None:
            step_text.insert(0, html.Div(forecast_note(fc), className="text-body-secondary pb-duration-forecast"))
        if not all_scripts:
            step_text = [
                html.Div(
                    [
                        "No executions yet. Record one with ",
                        html.Code("python -m client.run --script NAME -- CMD"),
                        " or POST /api/executions.",
                    ],
                    className="text-body-secondary",
                )
            ]
        wanted = "?" + urlencode(
            {
                k: v
                for k, v in (("script", script), ("metric", metric))
                if v and not (k == "metric" and v == scripts.DURATION)
            }
        )
        wanted = timebar.page_search("" if wanted == "?" else wanted, search, "/executions")
        return (
            cards,
            [{"label": s, "value": s} for s in all_scripts],
            [{"label": n, "value": n} for n in names],
            run_rows(runs),
            fit_x(trend_figure(parts, fc, metric, dark), time_range, (since, now)),
            distribution(bins, metric, dark),
            stat_rows,
            stat_cols,
            step_text,
            no_update if wanted == (search or "") else wanted,
            script,
            metric,
        )

    @app.callback(Output(ids.X_DETAIL, "children"), Input(ids.X_ID, "data"), Input(ids.THEME_STORE, "data"))
    def detail(execution_id: str, theme: str | None) -> Any:
        with services.db.replica() as conn:
            body = scripts.execution_detail(conn, execution_id)
        if body is None:
            return layout.not_found(execution_id)
        return layout.detail(body, dark=theme == "dark")
