"""Explore: controls -> URL and query -> chart, table and downloads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import dash
import orjson
import pandas as pd
from dash import Input, Output, State, no_update

from analytics.anomalies import detect_anomalies
from analytics.baselines import rolling_baseline
from callbacks import timebar
from core.errors import InvalidInput
from data import queries
from data.export import csv_lines
from layouts import explore as layout
from layouts import figures, ids
from layouts.executions import columns as grid_columns
from layouts.timebar import fit_x
from reports import explore
from reports import forecast as forecasts
from reports.cache import cached
from services import Services

CONTROLS = [ids.EX_METRIC, ids.EX_FIELD, ids.EX_GROUP, ids.EX_BUCKET, ids.EX_CHART_TYPE]


def state_to_search(values: dict[str, Any]) -> str:
    """The URL query of a view: only what differs from the defaults.

    >>> state_to_search({"metric": "p95", "field": "value", "source": ["a", "b"], "overlays": []})
    '?metric=p95&source=a%2Cb'
    """
    params = {}
    for key, value in values.items():
        text = ",".join(value) if isinstance(value, list) else (value or "")
        if text and text != layout.DEFAULTS.get(key, ""):
            params[key] = text
    return "?" + urlencode(params) if params else ""


def build_query(services: Services, s: dict[str, Any], time_range: dict[str, Any] | None = None) -> explore.Query:
    """The query of a view over the time bar's range (``time_range``, its store)."""
    since, until = timebar.bounds(services, time_range, "/explore")
    if not time_range or time_range.get("live", True):
        # Whole seconds: refreshes within a second share the cache; this second's events count.
        since, until = since.replace(microsecond=0), until.replace(microsecond=0) + timedelta(seconds=1)
    filters = queries.Filters(**{dim: tuple(s[dim]) for dim in layout.FILTER_DIMENSIONS if s.get(dim)})
    return explore.Query(
        since=since,
        until=until,
        metric=s["metric"],
        field=s["field"],
        group_by=None if s["group_by"] in ("", "none", None) else s["group_by"],
        bucket=s["bucket"],
        filters=filters,
        attr_key=s.get("attr_key") or None,
        attr_value=s.get("attr_value") or None,
    )


def overlays(rows: list[dict[str, Any]], wanted: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Baseline band and anomalies of an ungrouped time series (each point uses earlier points only)."""
    if not rows or "bucket" not in rows[0] or "group" in rows[0] or not wanted:
        return [], []
    series = pd.DataFrame(
        {
            "ts": pd.to_datetime([r["bucket"] for r in rows], utc=True, format="ISO8601"),
            "value": [r["value"] for r in rows],
        }
    ).dropna()
    band: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    if "baseline" in wanted and len(series) >= 6:
        b = rolling_baseline(series, window=30, min_periods=5).dropna(subset=["lower"])
        band = [
            {"bucket": t.isoformat(), "lower": lo, "upper": hi} for t, lo, hi in zip(b["ts"], b["lower"], b["upper"])
        ]
    if "anomalies" in wanted and len(series) >= 12:
        scored = detect_anomalies(series, min_history=10, window=60)
        flagged = scored[scored["is_anomaly"]]
        marks = [
            {"bucket": t.isoformat(), "value": v, "reason": r}
            for t, v, r in zip(flagged["ts"], flagged["value"], flagged["reason"])
        ]
    return band, marks


def forecast_overlay(services: Services, q: explore.Query) -> tuple[list[dict[str, Any]], str]:
    """The forecast of the charted series beyond now (a fifth of the window
    ahead) and the line under the chart naming the model and why; no points,
    and the reason, when the view is not one bucketed series."""
    try:
        steps = forecasts.horizon_steps(q, None)
    except InvalidInput as exc:
        return [], f"No forecast: {exc.errors[0]['message'] if exc.errors else exc.message}."
    result = forecasts.query_forecast(services, q, steps)
    model = result["model"]
    if not result["points"]:
        return [], f"No forecast: {model['reason']}."
    scale = result["diagnostics"].get("interval_scale")
    widened = f"; intervals widened x{scale:.2f} by the held-out check" if scale and scale > 1 else ""
    return result[
        "points"
    ], f"Forecast ({len(result['points'])} buckets, 80 % and 95 % bands): {model['name']}: {model['reason']}{widened}."


def register(app: dash.Dash, services: Services) -> None:
    filter_ids = [ids.ex_filter(d) for d in layout.FILTER_DIMENSIONS]

    # "Schedule…" opens the Exports page with this view's query filled in; a
    # saved query names its time as window= (trailing) or since=/until=.
    app.clientside_callback(  # type: ignore[no-untyped-call]
        """function (search) {
            const params = new URLSearchParams(search || '');
            const names = {range: 'window', from: 'since', to: 'until'};
            const out = new URLSearchParams();
            params.forEach(function (v, k) { if (k !== 'refresh') out.append(names[k] || k, v); });
            const query = out.toString();
            return query ? '/exports?query=' + encodeURIComponent(query) : '/exports';
        }""",
        Output(ids.EX_SCHEDULE, "href"),
        Input(ids.page_url("explore"), "search"),
    )
    inputs = [Input(i, "value") for i in CONTROLS + filter_ids + [ids.EX_ATTR_KEY, ids.EX_ATTR_VALUE, ids.EX_OVERLAYS]]

    def collect(values: tuple[Any, ...]) -> dict[str, Any]:
        names = [
            "metric",
            "field",
            "group_by",
            "bucket",
            "chart",
            *layout.FILTER_DIMENSIONS,
            "attr_key",
            "attr_value",
            "overlays",
        ]
        return dict(zip(names, values))

    @app.callback(
        Output(ids.EX_CHART, "figure"),
        Output(ids.EX_TABLE, "rowData"),
        Output(ids.EX_TABLE, "columnDefs"),
        Output(ids.EX_SUMMARY, "children"),
        Output(ids.EX_ERROR, "children"),
        Output(ids.EX_FORECAST, "children"),
        Output(ids.page_url("explore"), "search"),
        *inputs,
        Input(ids.TIME_RANGE, "data"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.THEME_STORE, "data"),
        State(ids.URL, "search"),
    )
    def update(*values: Any) -> tuple[Any, ...]:
        *controls, time_range, _tick, theme, search = values
        s = collect(tuple(controls))
        q = build_query(services, s, time_range)
        try:
            df = cached(services, ("explore-page", q), lambda: _run(services, q))
        except explore.QueryTooLarge as exc:
            alert = dash.html.Div(str(exc), className="alert alert-warning")
            return figures.explore([], dark=theme == "dark"), [], [], "Too many events", alert, None, no_update
        rows = [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in explore.to_records(df)]
        band, marks = overlays(rows, s["overlays"] or [])
        fig = figures.explore(rows, chart=s["chart"], band=band, anomalies=marks, dark=theme == "dark")
        if s["chart"] in ("line", "area", "bar") and rows and "bucket" in rows[0]:
            fit_x(fig, time_range, (q.since, q.until))
        note = None
        if "forecast" in (s["overlays"] or []) and s["chart"] in ("line", "area", "bar") and rows:
            points, note = forecast_overlay(services, q)
            layout.add_forecast(fig, points)
        columns = grid_columns([{"field": c, "headerName": c} for c in df.columns])
        summary = f"{dict(layout.METRICS)[s['metric']]} · {len(rows):,} rows · from {'rollups' if q.uses_rollups() else 'raw events'}"
        empty = (
            None
            if rows
            else dash.html.Div(
                "No events match these filters in this time range. Widen the range or remove a filter.",
                className="alert alert-secondary",
            )
        )
        new_search = timebar.page_search(state_to_search(s), search, "/explore")
        return fig, rows, columns, summary, empty, note, (no_update if new_search == (search or "") else new_search)

    for dim in layout.FILTER_DIMENSIONS:
        _register_options(app, services, dim)

    @app.callback(
        Output(ids.EX_DOWNLOAD, "data"),
        Input(ids.EX_CSV, "n_clicks"),
        Input(ids.EX_JSON, "n_clicks"),
        State(ids.EX_TABLE, "rowData"),
        State(ids.EX_TABLE, "columnDefs"),
        prevent_initial_call=True,
    )
    def download(
        _csv: int | None, _json: int | None, rows: list[dict[str, Any]] | None, columns: list[dict[str, Any]] | None
    ) -> Any:
        rows = rows or []
        if dash.ctx.triggered_id == ids.EX_JSON:
            return {
                "content": orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode(),
                "filename": "pulseboard-explore.json",
            }
        names = [c["field"] for c in columns or []]
        return {"content": "".join(csv_lines(names, [rows])), "filename": "pulseboard-explore.csv", "type": "text/csv"}


def known_values(services: Services, dimension: str) -> list[str]:
    """Values for a filter picker: a GROUP BY over all rollups, so kept for a minute."""

    def compute() -> list[str]:
        with services.db.read() as conn:
            return queries.distinct_values(conn, dimension, limit=500)

    return services.cache.get_or_compute(("known-values", dimension), 0, compute, ttl=60.0)


def _run(services: Services, q: explore.Query) -> pd.DataFrame:
    with services.db.read() as conn:
        return explore.run(conn, q)


def _register_options(app: dash.Dash, services: Services, dim: str) -> None:
    @app.callback(
        Output(ids.ex_filter(dim), "options"),
        Input(ids.ex_filter(dim), "search_value"),
        State(ids.ex_filter(dim), "value"),
    )
    def options(_search: str | None, chosen: list[str] | None) -> list[dict[str, str]]:
        known = known_values(services, dim)
        values = sorted(set(known) | set(chosen or []))
        return [{"label": v, "value": v} for v in values]
