"""Executions: overview cards, recent runs, the chosen script's metric trend
with baseline, anomalies and regressions; the drill-down page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash
import pandas as pd
from dash import Input, Output, State, html, no_update

from analytics.baselines import rolling_baseline
from analytics.distributions import duration_histogram
from data import queries
from layouts import executions as layout
from layouts import figures, ids
from reports import scripts
from services import Services

DAYS = 30


def run_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows: a markdown link to the drill-down, metrics as text."""
    return [
        {
            "run": f"[{r['id']}](/executions/{r['id']})",
            "script": r["script"],
            "status": r["status"],
            "started_at": (r["started_at"] or "")[:19].replace("T", " "),
            "duration_ms": None if r["duration_ms"] is None else round(r["duration_ms"], 1),
            "exit_code": r["exit_code"],
            "attempt": r["attempt"],
            "metrics": ", ".join(f"{k}={v:g}" for k, v in sorted(r.get("metrics", {}).items())),
        }
        for r in runs
    ]


def trend_parts(
    conn: Any, script: str, metric: str, now: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    points = scripts.history(conn, script=script, name=metric, days=DAYS, now=now)
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
    anomalies = scripts.anomalies(conn, script=script, name=metric, days=DAYS, now=now)
    steps = scripts.regressions(conn, script=script, name=metric, days=DAYS, now=now)
    return points, band, anomalies, steps


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
        Output(ids.page_url("executions"), "search"),
        Output(ids.XS_SCRIPT, "value"),
        Output(ids.XS_METRIC, "value"),
        Input(ids.XS_SCRIPT, "value"),
        Input(ids.XS_METRIC, "value"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.THEME_STORE, "data"),
        State(ids.URL, "search"),
    )
    def update(
        script: str | None, metric: str | None, _n: Any, theme: str | None, search: str | None
    ) -> tuple[Any, ...]:
        dark = theme == "dark"
        metric = metric or scripts.DURATION
        now = services.now()
        with services.db.read() as conn:
            counts = queries.table_counts(conn)
            all_scripts = [s["script"] for s in scripts.scripts(conn)]
            # No script chosen: the one that ran last, so the page opens on something.
            script = script if script in all_scripts else (scripts.last_script(conn) if all_scripts else None)
            runs = scripts.executions(
                conn, script=script, status=None, limit=20, metric=None if metric == scripts.DURATION else metric
            )
            names = scripts.metric_names(conn, script)
            points, band, anomalies, steps = trend_parts(conn, script, metric, now) if script else ([], [], [], [])
            stats = scripts.aggregated(conn, script=script, days=DAYS, now=now) if script else {}
        size = services.db.size_bytes()
        cards = layout.stat_cards(
            [
                ("total executions", layout.fmt(counts["executions"])),
                ("metrics recorded", layout.fmt(counts["metrics"])),
                ("scripts", layout.fmt(len(all_scripts))),
                ("database size", f"{(size or 0) / 1048576:,.1f} MB"),
            ]
        )
        frame = pd.DataFrame({"value": [p["value"] for p in points]})
        bins = duration_histogram(frame, column="value", bins=20).to_dict("records") if points else []
        stat_rows = [
            {"metric": name}
            | {k: (round(v, 3) if isinstance(v, float) else v) for k, v in s.items() if k != "relative_error"}
            for name, s in stats.items()
        ]
        stat_cols = [{"field": c} for c in (stat_rows[0].keys() if stat_rows else ["metric"])]
        step_text = [
            html.Div(
                f"{s['kind']} at {s['start_ts'][:16].replace('T', ' ')}: {s['before']:.4g} → {s['after']:.4g}"
                + (f" ({s['size_pct']:+.1f} %)" if s["size_pct"] is not None else ""),
                className="text-danger" if s["kind"] == "regression" else "text-success",
            )
            for s in steps
        ]
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
        wanted = "" if wanted == "?" else wanted
        return (
            cards,
            [{"label": s, "value": s} for s in all_scripts],
            [{"label": n, "value": n} for n in names],
            run_rows(runs),
            figures.metric_trend(points, band=band, anomalies=anomalies, steps=steps, name=metric, dark=dark),
            figures.histogram(bins, dark=dark),
            stat_rows,
            stat_cols,
            step_text,
            no_update if wanted == (search or "") else wanted,
            script,
            metric,
        )

    @app.callback(Output(ids.X_DETAIL, "children"), Input(ids.X_ID, "data"))
    def detail(execution_id: str) -> Any:
        with services.db.read() as conn:
            body = scripts.execution_detail(conn, execution_id)
        return layout.not_found(execution_id) if body is None else layout.detail(body)
