"""A board's panels, each drawn from its resolved query: the panel's query
with the variables' values and the page's time range
(``core.boards.resolve_query``), read by ``core.query.parse_query`` into the
same query ``GET /api/query`` answers, then shown by the kind's figure or
page function (the ones Explore, the Overview, Executions and Alerts use)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from alerts import manage
from callbacks import explore as explore_page
from callbacks.executions import trend_figure, trend_parts
from core import charts
from core.boards import Board, Panel, resolve_query
from core.errors import InvalidInput
from core.query import Query, asked_at, parse_query
from data import boards as store
from data import queries
from layouts import alerts_active, figures, ids, overview
from layouts import format as fmt
from layouts.boards import attrs
from layouts.executions import grid
from reports import explore, scripts
from reports import overview as report
from reports.cache import cached
from services import Services

TIME_KEYS = ("range", "from", "to")
FEED_SIZE = 20
SPARK_CONFIG: Any = {"displayModeBar": False, "staticPlot": True}
GRAPH_CONFIG: Any = {"displaylogo": False, "responsive": True}


def page_time(store: Mapping[str, Any] | None, url_query: Mapping[str, str]) -> dict[str, str] | None:
    """The page's time range as ``resolve_query`` takes it; None (the board's
    own range) while the URL names none.

    >>> page_time({"range": "6h", "live": True}, {"range": "6h"})
    {'range': '6h'}
    >>> page_time({"range": "24h", "live": True}, {}) is None
    True
    """
    if not store or not any(url_query.get(k) for k in TIME_KEYS):
        return None
    if store.get("live", True) and store.get("range"):
        return {"range": str(store["range"])}
    return {"from": str(store["since"]), "to": str(store["until"])}


def panel_query(
    services: Services, board: Board, panel: Panel, values: Mapping[str, str], time: Mapping[str, str] | None
) -> tuple[dict[str, str], Query]:
    """The panel's resolved parameters and their query, as ``GET /api/query`` reads them."""
    params = resolve_query(panel, board, values, time=time)
    return params, parse_query(params, now=asked_at(services.now()), longest=services.max_window())


def render(
    services: Services,
    board: Board,
    panel: Panel,
    values: Mapping[str, str],
    time: Mapping[str, str] | None,
    *,
    store: Mapping[str, Any] | None = None,
    dark: bool = False,
    notes_added: int = 0,
) -> Any:
    """The panel's body; a bad query or value says what is wrong in the panel.
    ``notes_added`` counts the notes this page added, so that a note just added
    is drawn at once (not the marks kept from before it)."""
    try:
        _params, q = panel_query(services, board, panel, values, time)
        draw = KINDS[panel.kind]
        marked = panel.kind in MARKED
        notes = board_marks(services, board.uid, q.since, q.until, notes_added) if marked else []
        if panel.kind == "timeseries":
            return timeseries(services, panel, q, store=store, notes=notes, dark=dark, uid=board.uid)
        return draw(services, panel, q, store=store, notes=notes, dark=dark)
    except InvalidInput as exc:
        return html.Div(str(exc), className="alert alert-warning small m-2 pb-bd-error")
    except explore.QueryTooLarge as exc:
        return html.Div(str(exc), className="alert alert-warning small m-2 pb-bd-error")


def graph(fig: go.Figure, id_: dict[str, str] | None = None) -> dcc.Graph:
    """A panel's chart: as tall as the panel (the figure's own height left to the container);
    ``id_`` for a time chart whose drag-zoom sets the time bar."""
    fig.update_layout(height=None, autosize=True, margin={"l": 44, "r": 12, "t": 8, "b": 28}, title=None)
    named: Any = {"id": id_} if id_ else {}
    return dcc.Graph(figure=fig, config=GRAPH_CONFIG, className="pb-bd-graph", style={"height": "100%"}, **named)


def _state(panel: Panel, q: Query, chart: str) -> dict[str, Any]:
    return {
        "metric": q.metric,
        "field": q.field,
        "group_by": q.group_by or "none",
        "bucket": q.bucket,
        "chart": chart,
        "overlays": [o for o in ("baseline", "anomalies", "forecast") if getattr(panel, o)],
        "top": str(q.top or charts.TOP_N),
    }


def _explore_view(
    services: Services, panel: Panel, q: Query, chart: str, store: Mapping[str, Any] | None, dark: bool
) -> dict[str, Any]:
    s = _state(panel, q, chart)
    return explore_page.view(services, s, dict(store) if store else None, dark=dark, q=q, stack=panel.stacked)


def _with_message(body: Any, out: Mapping[str, Any]) -> Any:
    if out["error"] is None:
        return body
    return html.Div([out["error"], body], className="h-100 d-flex flex-column pb-bd-nodata")


def timeseries(
    services: Services, panel: Panel, q: Query, *, store: Any, notes: list[dict[str, Any]], dark: bool, uid: str = ""
) -> Any:
    out = _explore_view(services, panel, q, panel.chart or "line", store, dark)
    fig = out["figure"]
    for t in panel.thresholds:
        fig.add_hline(y=t.value, line={"color": t.color, "dash": "dot", "width": 1.5})
    if out["rows"]:  # marks alone would make the time axis theirs
        mark_notes(fig, notes)
    return _with_message(graph(fig, ids.bd_graph(uid, panel.id)), out)


def mark_notes(fig: go.Figure, notes: list[dict[str, Any]]) -> go.Figure:
    """Annotations, alert firings and failed runs as vertical lines (spans as
    shaded bands) with their text on hover of the marker at the top."""
    if not notes:
        return fig
    for n in notes:
        colour = NOTE_COLOURS.get(n.get("kind", "note"), NOTE_COLOURS["note"])
        if n.get("ts_end"):
            fig.add_vrect(x0=n["ts"], x1=n["ts_end"], fillcolor=colour, opacity=0.12, line_width=0)
        else:
            fig.add_vline(x=n["ts"], line={"color": colour, "width": 1.5, "dash": "dash"})
    fig.add_trace(
        go.Scatter(
            x=[n["ts"] for n in notes],
            y=[1] * len(notes),
            yaxis="y2",
            mode="markers",
            marker={
                "symbol": "triangle-down",
                "size": 10,
                "color": [NOTE_COLOURS.get(n.get("kind", "note")) for n in notes],
            },
            text=[n["text"] for n in notes],
            hovertemplate="%{x}<br>%{text}<extra></extra>",
            name="annotations",
            showlegend=False,
            meta="annotations",
        )
    )
    fig.update_layout(yaxis2={"overlaying": "y", "range": [0, 1.02], "visible": False, "fixedrange": True})
    return fig


NOTE_COLOURS = {"note": "#f59f00", "alert": "#e03131", "failure": "#ae3ec9"}


def breakdown(services: Services, panel: Panel, q: Query, *, store: Any, notes: Any, dark: bool) -> Any:
    chart = "pie" if panel.chart == "pie" else "bar"
    out = _explore_view(services, panel, dataclasses.replace(q, bucket="none"), chart, None, dark)
    return _with_message(graph(out["figure"]), out)


def heatmap(services: Services, panel: Panel, q: Query, *, store: Any, notes: Any, dark: bool) -> Any:
    out = _explore_view(services, panel, q, "heatmap", store, dark)
    return _with_message(graph(out["figure"]), out)


def table(services: Services, panel: Panel, q: Query, *, store: Any, notes: Any, dark: bool) -> Any:
    out = _explore_view(services, panel, q, "bar", None, dark)
    g = grid(f"bd-table-{panel.id}", [], page_size=10)
    g.rowData = out["rows"]
    g.columnDefs = out["columns"]
    return _with_message(html.Div(g, className="pb-bd-table"), out)


def _total(services: Services, q: Query) -> float | None:
    whole = dataclasses.replace(q, bucket="none", group_by=None, top=None)

    def compute() -> float | None:
        with services.db.read() as conn:
            rows = explore.to_records(explore.run(conn, whole))
        value = rows[0]["value"] if rows else None
        if isinstance(value, (int, float)):
            return float(value)
        return 0.0 if q.metric in ("count", "rate", "sum") else None  # nothing happened: none counted

    return cached(services, ("board-total", whole), compute)


def _series(services: Services, q: Query) -> list[float | None]:
    line = dataclasses.replace(q, group_by=None, top=None, bucket="auto" if q.bucket == "none" else q.bucket)

    def compute() -> list[float | None]:
        with services.db.read() as conn:
            rows = explore.to_records(explore.run(conn, line))
        values = {r["bucket"]: r["value"] for r in rows}
        missing = 0.0 if q.metric in charts.COUNTING else None
        return [values.get(b, missing) for b in explore.bucket_starts(line)]

    return cached(services, ("board-series", line), compute)


def threshold_colour(panel: Panel, value: float | None) -> str | None:
    """The colour of the highest threshold at or below ``value``."""
    if value is None:
        return None
    reached = [t for t in sorted(panel.thresholds, key=lambda t: t.value) if value >= t.value]
    return reached[-1].color if reached else None


def stat_text(value: float | None, q: Query, panel: Panel) -> str:
    text = fmt.by_unit(value, charts.unit(q)) if value is not None else "–"
    if not panel.unit or value is None or charts.unit(q) in ("duration", "percent"):
        return text
    return f"{text} {panel.unit}"


def delta_text(value: float | None, previous: float | None) -> str:
    """The change against the previous period of the same length.

    >>> delta_text(120.0, 100.0), delta_text(5.0, 0.0), delta_text(None, 3.0)
    ('+20 % vs previous period', 'previous period: 0', '')
    """
    if value is None or previous is None:
        return ""
    if previous == 0:
        return "previous period: 0"
    return f"{fmt.percent(100 * (value - previous) / abs(previous), signed=True)} vs previous period"


def stat(services: Services, panel: Panel, q: Query, *, store: Any, notes: Any, dark: bool) -> Any:
    value = _total(services, q)
    span = q.until - q.since
    previous = _total(services, dataclasses.replace(q, since=q.since - span, until=q.since))
    colour = threshold_colour(panel, value)
    spark = _series(services, q)
    return html.Div(
        [
            html.Div(
                stat_text(value, q, panel),
                className="pb-bd-stat-value",
                style={"color": colour} if colour else None,
                **attrs({"data-value": "" if value is None else repr(value)}),
            ),
            html.Div(delta_text(value, previous), className="small text-body-secondary pb-bd-delta"),
            dcc.Graph(
                figure=figures.sparkline(spark, colour=colour or figures.ACCENT, dark=dark),
                config=SPARK_CONFIG,
                className="pb-bd-spark",
                style={"height": "48px"},
            ),
        ],
        className="pb-bd-stat",
    )


def gauge(services: Services, panel: Panel, q: Query, *, store: Any, notes: Any, dark: bool) -> Any:
    value = _total(services, q)
    steps = [(t.value, t.color) for t in panel.thresholds]
    fig = figures.gauge(value, thresholds=steps, unit=charts.unit(q), dark=dark)
    fig.update_layout(height=None, autosize=True)
    return html.Div(
        dcc.Graph(figure=fig, config=GRAPH_CONFIG, style={"height": "100%"}, className="pb-bd-graph"),
        className="h-100",
        **attrs({"data-value": "" if value is None else repr(value)}),
    )


def feed(services: Services, panel: Panel, q: Query, *, store: Any, notes: Any, dark: bool) -> Any:
    with services.db.read() as conn:
        df = queries.events_frame(
            conn, since=q.since, until=q.until, filters=q.filters, limit=FEED_SIZE, newest_first=True, with_attrs=False
        )
    if not len(df):
        return html.Div("No events match in this range.", className="text-body-secondary small p-2 pb-bd-nodata")
    items = []
    for e in df.to_dict("records"):
        kind = "error" if e["type"] == "error" or e["status"] in ("error", "failed", "failure") else str(e["type"])
        text = " · ".join(str(e[k]) for k in ("type", "source", "entity", "status", "message") if _shown(e.get(k)))
        items.append(
            html.Li(
                [html.Span(fmt.timestamp(e["ts"].isoformat()), className="pb-feed-time"), html.Span(text)],
                className=f"pb-feed-item pb-feed-{kind}",
                **attrs({"data-event": str(e["id"])}),
            )
        )
    return html.Ul(items, className="pb-feed pb-bd-feed list-unstyled mb-0 small")


def _shown(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def health(services: Services, panel: Panel, q: Query, *, store: Any, notes: Any, dark: bool) -> Any:
    return html.Div(overview.health(report.live_system_state(services, services.now())), className="p-2")


def alerts(services: Services, panel: Panel, q: Query, *, store: Any, notes: Any, dark: bool) -> Any:
    now = services.now()
    with services.db.read() as conn:
        active = manage.active_alerts(conn)
        specs = {r["id"]: r["spec"] for r in manage.list_rules(conn)}
    if not active:
        return html.Div("Nothing is firing or pending.", className="text-body-secondary small p-2 pb-bd-nodata")
    return html.Div(
        [alerts_active.alert_card(a, specs.get(a["rule_id"]), now, ack_button=False) for a in active],
        className="p-1 overflow-auto h-100",
    )


def executions(services: Services, panel: Panel, q: Query, *, store: Any, notes: Any, dark: bool) -> Any:
    days = (q.until - q.since).total_seconds() / 86400
    with services.db.read() as conn:
        script = q.filters.entity[0] if q.filters.entity else scripts.last_script(conn)
        if script is None:
            return html.Div("No executions yet.", className="text-body-secondary small p-2 pb-bd-nodata")
        parts = trend_parts(conn, script, scripts.DURATION, min(q.until, services.now()), days)
    fig = trend_figure(parts, None, scripts.DURATION, dark)
    mark_notes(fig, notes)
    return html.Div(
        [html.Div(f"{script}: duration of each run, with its baseline band", className="small px-2"), graph(fig)],
        className="h-100 d-flex flex-column",
    )


KINDS = {
    "timeseries": timeseries,
    "stat": stat,
    "gauge": gauge,
    "breakdown": breakdown,
    "heatmap": heatmap,
    "table": table,
    "feed": feed,
    "health": health,
    "alerts": alerts,
    "executions": executions,
}


def annotation_marks(
    notes: list[dict[str, Any]], firings: list[dict[str, Any]], failures: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Notes, alert firings and failed runs as the marks every time series draws.

    >>> annotation_marks([{"ts": "t1", "ts_end": None, "text": "deploy"}], [{"ts": "t2", "text": "cpu high"}], [])
    [{'ts': 't1', 'ts_end': None, 'text': 'deploy', 'kind': 'note'}, {'ts': 't2', 'ts_end': None, 'text': 'cpu high', 'kind': 'alert'}]
    """
    out = [{"ts": n["ts"], "ts_end": n.get("ts_end"), "text": n["text"], "kind": "note"} for n in notes]
    out += [{"ts": f["ts"], "ts_end": None, "text": f["text"], "kind": "alert"} for f in firings]
    out += [{"ts": f["ts"], "ts_end": None, "text": f["text"], "kind": "failure"} for f in failures]
    return out


MARKED = ("timeseries", "executions")  # the kinds with a time axis, which draw the board's marks
FAILED = ("failed", "error", "timeout")


def board_marks(
    services: Services, uid: str, since: datetime, until: datetime, notes_added: int = 0
) -> list[dict[str, Any]]:
    """The board's notes, the alerts that fired and the runs that failed in
    ``[since, until]`` (kept for 2 s; ``notes_added`` is part of the key, as an
    event stored is part of its version, since a note is not an event)."""

    def compute() -> list[dict[str, Any]]:
        with services.db.read() as conn:
            notes = store.list_annotations(conn, uid, since=since, until=until)
            fired = manage.alert_history(conn, since=since, until=until, limit=50)["alerts"]
            runs = queries.executions_frame(conn, since=since, until=until, limit=500)
        failed = runs[runs["status"].isin(FAILED)] if len(runs) else runs
        return annotation_marks(
            [
                {"ts": _iso(n["ts"]), "ts_end": _iso(n["ts_end"]) if n["ts_end"] else None, "text": n["text"]}
                for n in notes
            ],
            [
                {"ts": _iso(a.get("fired_at") or a.get("started_at")), "text": f"alert: {a.get('rule') or ''}"}
                for a in fired
                if a.get("fired_at") or a.get("started_at")
            ],
            [
                {"ts": _iso(r["started_at"]), "text": f"failed run: {r['script']} ({r['status']})"}
                for r in failed.head(50).to_dict("records")
            ],
        )

    return cached(services, ("board-marks", uid, since, until, notes_added), compute, ttl=2.0)


def _iso(moment: Any) -> str:
    return moment.isoformat() if isinstance(moment, datetime) else str(moment)
