"""Explore: controls -> chart rules (what fits), URL and query -> chart,
table and downloads."""

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
from core import charts
from core.errors import InvalidInput
from data import queries
from data.export import csv_lines
from layouts import explore as layout
from layouts import figures, ids
from layouts import format as fmt
from layouts.timebar import fit_x
from reports import explore
from reports import forecast as forecasts
from reports.cache import cached
from services import Services

CONTROLS = [ids.EX_METRIC, ids.EX_FIELD, ids.EX_GROUP, ids.EX_BUCKET, ids.EX_CHART_TYPE, ids.EX_TOP]


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


def overlays(
    rows: list[dict[str, Any]], wanted: list[str], q: explore.Query | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Baseline band and anomalies of an ungrouped time series (each point
    uses earlier points only); the band stays within the metric's domain
    (``q``'s: never below zero for counts, durations and percentiles)."""
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
        if q is not None:
            band = [{**p, "lower": charts.clamp(p["lower"], q), "upper": charts.clamp(p["upper"], q)} for p in band]
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
            "top",
            *layout.FILTER_DIMENSIONS,
            "attr_key",
            "attr_value",
            "overlays",
        ]
        s = dict(zip(names, values))
        s["top"] = layout.top_from(s["top"])
        return s

    @app.callback(
        Output(ids.EX_CHART_TYPE, "options"),
        Output(ids.EX_CHART_TYPE, "value"),
        Output(ids.EX_CHART_NOTE, "children"),
        Output(ids.EX_CHART_NOTE, "className"),
        Output(ids.EX_OVERLAYS, "options"),
        Output(ids.EX_OVERLAYS, "value"),
        Output(ids.EX_OVERLAY_NOTE, "children"),
        Input(ids.EX_METRIC, "value"),
        Input(ids.EX_FIELD, "value"),
        Input(ids.EX_GROUP, "value"),
        Input(ids.EX_BUCKET, "value"),
        Input(ids.EX_CHART_TYPE, "value"),
        Input(ids.EX_OVERLAYS, "value"),
        prevent_initial_call=True,  # the page renders its first state (layouts.explore.guarded)
    )
    def guard(
        metric: str, field: str, group_by: str, bucket: str, chart: str, wanted: list[str] | None
    ) -> tuple[Any, ...]:
        g = layout.guarded(
            {"metric": metric, "field": field, "group_by": group_by, "bucket": bucket, "overlays": wanted or []},
            chart,
        )
        note_class = "small alert alert-info py-1 px-2 mb-2" if g["chart_note"] else None
        return (
            g["chart_options"],
            g["chart"],
            g["chart_note"],
            note_class,
            g["overlay_options"],
            g["overlays"],
            g["overlay_note"],
        )

    @app.callback(
        Output(ids.EX_CHART, "figure"),
        Output(ids.EX_TABLE, "rowData"),
        Output(ids.EX_TABLE, "columnDefs"),
        Output(ids.EX_SUMMARY, "children"),
        Output(ids.EX_ERROR, "children"),
        Output(ids.EX_FORECAST, "children"),
        Output(ids.EX_NOTES, "children"),
        Output(ids.page_search("explore"), "data"),
        *inputs,
        Input(ids.TIME_RANGE, "data"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.THEME_STORE, "data"),
        State(ids.URL, "search"),
    )
    def update(*values: Any) -> tuple[Any, ...]:
        *controls, time_range, _tick, theme, search = values
        s = collect(tuple(controls))
        out = view(services, s, time_range, dark=theme == "dark")
        new_search = timebar.page_search(state_to_search(layout.url_state(s)), search, "/explore")
        return (
            out["figure"],
            out["rows"],
            out["columns"],
            out["summary"],
            out["error"],
            out["forecast"],
            out["notes"],
            no_update if new_search == (search or "") else new_search,
        )

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


def view(
    services: Services,
    s: dict[str, Any],
    time_range: dict[str, Any] | None,
    *,
    dark: bool,
    q: explore.Query | None = None,
    stack: bool | None = None,
) -> dict[str, Any]:
    """Everything the chart card and the table show for the view ``s``:
    the chart type that fits (``s`` is corrected in place, so the URL says
    what is drawn), the top groups, every bucket of the range (missing ones
    0 for counts, gaps for values), overlays within the metric's domain, and
    numbers written for the metric's unit. ``q``: the query itself, when it
    was made elsewhere (a board's panel); ``stack``: stack grouped areas and
    bars (default: when the metric adds up over groups)."""
    q = build_query(services, s, time_range) if q is None else q
    s["chart"], _ = charts.resolve_chart(q, s["chart"])
    s["overlays"] = charts.usable_overlays(q, s["overlays"] or [])
    top = int(s["top"])
    try:
        df, hidden = cached(services, ("explore-page", q, top), lambda: _run(services, q, top))
    except explore.QueryTooLarge as exc:
        alert = dash.html.Div(str(exc), className="alert alert-warning")
        return {
            "figure": figures.explore([], dark=dark),
            "rows": [],
            "columns": [],
            "summary": "Too many events",
            "error": alert,
            "forecast": None,
            "notes": None,
        }
    coarse = charts.from_histogram(q)
    rows = [
        {
            k: (fmt.significant(v) if coarse and k == "value" else round(v, 4)) if isinstance(v, float) else v
            for k, v in r.items()
        }
        for r in explore.to_records(df)
    ]
    grid = explore.bucket_starts(q) if rows and "bucket" in rows[0] else None
    missing = 0 if q.metric in charts.COUNTING else None
    band, marks = overlays(_filled(rows, grid, missing), s["overlays"], q)
    unit = charts.unit(q)
    fig = figures.explore(
        rows,
        chart=s["chart"],
        band=band,
        anomalies=marks,
        buckets=grid,
        missing=missing,
        stack=q.metric in charts.ADDITIVE if stack is None else stack,
        unit=unit,
        digits=3 if coarse else fmt.SIGNIFICANT,
        muted=(explore.OTHER_LABEL, f"({explore.OTHER_LABEL})") if hidden else (),
        dark=dark,
    )
    if s["chart"] in ("line", "area", "bar") and grid:
        fit_x(fig, time_range, (q.since, q.until))
    note = None
    if "forecast" in s["overlays"] and rows:
        points, note = forecast_overlay(services, q)
        layout.add_forecast(fig, [_clamped(p, q) for p in points])
    source = "rollups" if q.uses_rollups() else "raw events"
    return {
        "figure": fig,
        "rows": layout.result_rows(rows, unit, 3 if coarse else fmt.SIGNIFICANT),
        "columns": layout.result_columns(list(df.columns), unit),
        "summary": f"{dict(layout.METRICS)[s['metric']]} · {len(rows):,} rows · from {source}",
        "error": None
        if rows
        else dash.html.Div(
            "No events match these filters in this time range. Widen the range or remove a filter.",
            className="alert alert-secondary",
        ),
        "forecast": note,
        "notes": " ".join(n for n in (_top_note(q, top, hidden), _precision_note(coarse)) if n) or None,
    }


def _filled(rows: list[dict[str, Any]], grid: list[str] | None, missing: float | None) -> list[dict[str, Any]]:
    """An ungrouped series over every bucket (for the baseline and anomalies)."""
    if not grid or not rows or "group" in rows[0]:
        return rows
    values = {r["bucket"]: r["value"] for r in rows}
    return [{"bucket": b, "value": values.get(b, missing)} for b in grid]


def _clamped(point: dict[str, Any], q: explore.Query) -> dict[str, Any]:
    keys = ("value", "lower_80", "upper_80", "lower_95", "upper_95")
    return {**point, **{k: charts.clamp(point[k], q) for k in keys if k in point}}


def _top_note(q: explore.Query, top: int, hidden: int) -> str | None:
    if not hidden:
        return None
    ranked = "their total" if q.metric in ("count", "rate", "sum") else "number of events"
    rest = (
        f"the other {hidden:,} are summed as one series, other."
        if q.metric in charts.ADDITIVE
        else f"the other {hidden:,} are left out: a {q.metric} of the rest is no sum of theirs."
    )
    return f"The {top} largest groups by {ranked} are drawn; {rest}"


def _precision_note(coarse: bool) -> str | None:
    return "Percentiles come from the rollups' duration histograms: shown to 3 significant digits." if coarse else None


def known_values(services: Services, dimension: str) -> list[str]:
    """Values for a filter picker: a GROUP BY over all rollups, so kept for a minute."""

    def compute() -> list[str]:
        return services.db.on_replica(lambda conn: queries.distinct_values(conn, dimension, limit=500))

    return services.cache.get_or_compute(("known-values", dimension), 0, compute, ttl=60.0)


def _run(services: Services, q: explore.Query, top: int) -> tuple[pd.DataFrame, int]:
    return services.db.on_replica(lambda conn: explore.run_top(conn, q, top))


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
