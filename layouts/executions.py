"""The Executions page (the script runner) and its drill-down page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlencode

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from core.timerange import iso
from layouts import figures, format, ids, timebar

DURATION = "duration_ms"

STATUS_STYLE = {
    "styleConditions": [
        {"condition": "params.value === 'success'", "style": {"color": "#2f9e44", "fontWeight": "600"}},
        {
            "condition": "['failed', 'error', 'timeout'].includes(params.value)",
            "style": {"color": "#e03131", "fontWeight": "600"},
        },
        {"condition": "params.value === 'running'", "style": {"color": "#1971c2", "fontWeight": "600"}},
    ]
}
RUN_COLUMNS: list[dict[str, Any]] = [
    {
        "field": "run",
        "headerName": "run",
        "cellRenderer": "markdown",
        "cellRendererParams": {"linkTarget": "_self"},
        "minWidth": 250,
    },
    {"field": "script", "headerName": "script"},
    {"field": "status", "headerName": "status", "cellStyle": STATUS_STYLE},
    {"field": "started_at", "headerName": "started (UTC)"},
    # Sorted and exported in ms, shown in human units (the row's "duration" text).
    {
        "field": "duration_ms",
        "headerName": "duration",
        "type": "numericColumn",
        "valueFormatter": {"function": "params.data.duration"},
    },
    {"field": "exit_code", "headerName": "exit", "type": "numericColumn", "maxWidth": 90},
    {"field": "attempt", "headerName": "attempt", "type": "numericColumn", "maxWidth": 100},
    {"field": "metrics", "headerName": "metrics"},
]


# Pixels a header needs besides its text: padding, the sort and the filter icons.
HEADER_CHROME = 56
MIN_COLUMN = 100
# assets/grids.js: pins a grid's first (key) column when its columns no longer fit (phones).
GRID_EVENTS = {
    event: ["pinKeyColumn(params)"]
    for event in ("firstDataRendered", "rowDataUpdated", "gridSizeChanged", "newColumnsLoaded")
}


def min_width(column: dict[str, Any]) -> dict[str, Any]:
    """A column that keeps room for its header, so that a narrow screen
    scrolls the table sideways instead of squeezing values to an ellipsis.

    >>> min_width({"field": "started_at", "headerName": "started (UTC)"})["minWidth"]
    160
    >>> min_width({"field": "exit", "maxWidth": 90})["minWidth"], min_width({"field": "run", "minWidth": 250})["minWidth"]
    (90, 250)
    """
    if "minWidth" in column:
        return column
    header = str(column.get("headerName") or column.get("field") or "")
    width = max(MIN_COLUMN, 8 * len(header) + HEADER_CHROME)
    return {**column, "minWidth": min(width, column.get("maxWidth", width))}


def header_name(column: dict[str, Any]) -> str:
    """A column's header in sentence case, as every table of the dashboard
    writes them: its ``headerName`` or else its field, the first letter capitalised.

    >>> header_name({"field": "started_at", "headerName": "started (UTC)"}), header_name({"field": "exit_code"})
    ('Started (UTC)', 'Exit code')
    >>> header_name({"field": "p95 ms", "headerName": "P95 (ms)"}), header_name({"field": "metric"})
    ('P95 (ms)', 'Metric')
    """
    text = str(column.get("headerName") or str(column.get("field") or "").replace("_", " "))
    return text[:1].upper() + text[1:]


def columns(defs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each column with its header in sentence case and ``min_width``, for a
    grid's ``columnDefs`` (callbacks that set them too)."""
    return [min_width({**c, "headerName": header_name(c)}) for c in defs]


def grid(id_: str, defs: list[dict[str, Any]], *, page_size: int = 20) -> dag.AgGrid:
    """Every table of the dashboard: sortable, filterable, paged, as tall as
    its rows; on a narrow screen it scrolls sideways with its first column pinned."""
    return dag.AgGrid(
        id=id_,
        rowData=[],
        columnDefs=columns(defs),
        className="ag-theme-alpine pb-grid",
        style={"width": "100%"},
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "flex": 1, "minWidth": MIN_COLUMN},
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": page_size,
            "paginationPageSizeSelector": False,
            "domLayout": "autoHeight",
        },
        eventListeners=GRID_EVENTS,
    )


def card(title: str, body: Any, **kw: Any) -> dbc.Card:
    """A titled card; a card holding a table gets a CSV export button."""
    header: Any = title
    if isinstance(body, dag.AgGrid):
        header = html.Div(
            [
                html.Span(title),
                dbc.Button(
                    "CSV", id=ids.csv_button(body.id), size="sm", color="secondary", outline=True, className="ms-auto"
                ),
            ],
            className="d-flex align-items-center",
        )
    return dbc.Card([dbc.CardHeader(header, className="fw-semibold"), dbc.CardBody(body)], **kw)


def page(pathname: str, query: dict[str, str]) -> html.Div:
    parts = pathname.rstrip("/").split("/")
    if len(parts) >= 3 and parts[2]:
        return detail_page(unquote(parts[2]))
    return html.Div(
        [
            timebar.page_location("executions"),
            html.Div(id=ids.XS_CARDS, className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("script", className="small text-body-secondary mb-1"),
                            dcc.Dropdown(
                                id=ids.XS_SCRIPT,
                                value=query.get("script") or None,
                                placeholder="all scripts",
                                options=[query["script"]] if query.get("script") else [],
                            ),
                        ],
                        md=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("metric", className="small text-body-secondary mb-1"),
                            dcc.Dropdown(
                                id=ids.XS_METRIC,
                                value=query.get("metric") or "duration_ms",
                                clearable=False,
                                options=[query.get("metric") or "duration_ms"],
                            ),
                        ],
                        md=3,
                    ),
                ],
                className="g-2 mb-3",
            ),
            card("Latest 20 runs (whatever the time range)", grid(ids.XS_TABLE, RUN_COLUMNS), className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        card(
                            "Trend, baseline, anomalies and regressions",
                            [dcc.Graph(id=ids.XS_TREND, config={"displaylogo": False}), html.Div(id=ids.XS_STEPS)],
                        ),
                        lg=8,
                    ),
                    dbc.Col(
                        card("Distribution (time range)", dcc.Graph(id=ids.XS_DIST, config={"displayModeBar": False})),
                        lg=4,
                    ),
                ],
                className="g-3 mb-3",
            ),
            card("Aggregated statistics (over the time range)", grid(ids.XS_STATS, [], page_size=50)),
        ]
    )


def detail_page(execution_id: str) -> html.Div:
    return html.Div([dcc.Store(id=ids.X_ID, data=execution_id), html.Div(id=ids.X_DETAIL, children=dbc.Spinner())])


def stat_cards(items: list[tuple[str, str]], *, xs: int = 12, titles: Mapping[str, str] | None = None) -> dbc.Row:
    """A row of figure cards, four a row from medium screens on (``xs``: the
    columns of 12 each takes on a phone); ``titles``: a definition shown on
    hover, by label."""
    return dbc.Row(
        [
            dbc.Col(
                html.Div(
                    dbc.Card(
                        dbc.CardBody(
                            [
                                html.Div(label, className="pb-card-label"),
                                html.Div(value, className="pb-card-value pb-card-value-sm"),
                            ]
                        ),
                        className="h-100",
                    ),
                    title=(titles or {}).get(label),
                    className="h-100",
                ),
                xs=xs,
                md=3,
            )
            for label, value in items
        ],
        className="g-3",
    )


def fmt(value: Any, digits: int = 1) -> str:
    """A number with a fixed number of decimals, for the cards of the
    Sessions, System and Revenue pages (see :mod:`layouts.format` for
    numbers by magnitude and durations).

    >>> fmt(1234.5), fmt(None), fmt(3), fmt(float("nan"))
    ('1,234.5', '–', '3', '–')
    """
    if value is None or (isinstance(value, float) and value != value):
        return format.MISSING
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


STATUS_COLOUR = {"success": "success", "failed": "danger", "error": "danger", "timeout": "danger", "running": "primary"}
FAILED = ("failed", "error", "timeout")
# Attrs shown in this order first; "error" has its own box.
ATTR_ORDER = ("host", "trigger", "user", "command", "cwd", "version")


def _runs(n: int, step: dict[str, Any] | None = None) -> str:
    """The comparable runs in words.

    >>> _runs(1), _runs(22, {"kind": "regression", "start_ts": "2026-11-30T19:05:00+00:00"})
    ('the last successful run', 'the last 22 successful runs, since the regression of 2026-11-30 19:05')
    """
    runs = "the last successful run" if n == 1 else f"the last {n} successful runs"
    return runs + (f", since the {step['kind']} of {format.timestamp(step['start_ts'])[:16]}" if step else "")


def reason(name: str, c: dict[str, Any]) -> str:
    """Why a metric of a run is or is not outside its band, in words.

    >>> band = {"centre": 650_000.0, "lower": 540_000.0, "upper": 780_000.0}
    >>> reason("duration_ms", {"value": 1_574_000.0, "baseline": band, "within_band": False,
    ...                        "ratio": 2.42, "direction": "above", "runs": 30})
    'took 26 min 14 s, 2.4× its usual 10 min 50 s (band 9–13 min over the last 30 successful runs)'
    >>> reason("rows", {"value": 80.0, "baseline": {"centre": 100.0, "lower": 95.0, "upper": 105.0},
    ...                 "within_band": False, "ratio": 0.8, "direction": "below", "runs": 1})
    'rows was 80, 20 % less than its usual 100 (band 95–105 over the last successful run)'
    >>> reason("rows", {"value": 3.0, "baseline": {"centre": None}, "within_band": None, "runs": 0})
    'no earlier successful run to compare with'
    """
    if c.get("within_band") is None:
        return "no earlier successful run to compare with"
    b = c["baseline"]
    duration = name == DURATION
    what = format.duration if duration else format.number
    band = band_text(name, b)
    did = f"took {what(c['value'])}" if duration else f"{name} was {what(c['value'])}"
    ratio = c.get("ratio")
    if ratio is None:
        how = f"its usual is {what(b['centre'])}"
    elif ratio >= 1.5:
        how = f"{format.ratio(ratio)} its usual {what(b['centre'])}"
    elif ratio >= 1:
        how = f"{format.percent(100 * (ratio - 1))} more than its usual {what(b['centre'])}"
    else:
        how = f"{format.percent(100 * (1 - ratio))} less than its usual {what(b['centre'])}"
    runs = _runs(c["runs"], c.get("since_step"))
    if c["within_band"]:
        return f"{did}, within its usual band ({band} over {runs})"
    return f"{did}, {how} (band {band} over {runs})"


def explore_url(body: dict[str, Any]) -> str:
    """The Explore page on the script's events around the run: the run's own
    time span as the time bar's absolute range (``from``/``to``), the script as
    entity and the run's id.

    >>> body = {"id": "exe_1", "script": "etl.py", "events_window": {"since": "2026-01-01T11:59:00+00:00",
    ...         "until": "2026-01-01T12:05:00+00:00"}}
    >>> explore_url(body)
    '/explore?from=2026-01-01T11:59:00Z&to=2026-01-01T12:05:00Z&entity=etl.py&execution_id=exe_1'
    """
    span = body["events_window"]
    params = {"from": iso(datetime.fromisoformat(span["since"])), "to": iso(datetime.fromisoformat(span["until"]))}
    return "/explore?" + urlencode({**params, "entity": body["script"], "execution_id": body["id"]}, safe=":")


def events_api_url(body: dict[str, Any]) -> str:
    """Every event of the run's time window (its own and its neighbours'), as JSON.

    >>> events_api_url({"events_window": {"since": "a", "until": "b"}})
    '/api/events?since=a&until=b&limit=500'
    """
    w = body["events_window"]
    return "/api/events?" + urlencode({"since": w["since"], "until": w["until"], "limit": 500})


def error_box(body: dict[str, Any]) -> Any:
    """A failed run's error message, first and in full; nothing for other runs."""
    if body["status"] not in FAILED:
        return None
    error = body["attrs"].get("error")
    exit_text = f" with exit code {body['exit_code']}" if body["exit_code"] is not None else ""
    return dbc.Alert(
        [
            html.Div(
                f"{body['status'].capitalize()}{exit_text} after {format.duration(body['duration_ms'])}",
                className="fw-semibold mb-1",
            ),
            html.Pre(
                str(error),
                className="mb-0 small",
                style={"whiteSpace": "pre-wrap", "wordBreak": "break-word", "background": "none", "color": "inherit"},
            )
            if error
            else html.Div("The run recorded no error message.", className="small"),
        ],
        id=ids.X_ERROR,
        color="danger",
        className="mb-3",
    )


def attrs_table(attrs: dict[str, Any], run: dict[str, Any] | None = None) -> html.Table:
    """The run's attrs but its error: host and trigger first, then the rest
    by name; then where the run came from and when it finished."""
    shown = [k for k in ATTR_ORDER if k in attrs] + sorted(k for k in attrs if k not in ATTR_ORDER and k != "error")
    extra = {"source": (run or {}).get("source"), "finished (UTC)": format.timestamp((run or {}).get("finished_at"))}
    attrs = {**attrs, **{k: v for k, v in extra.items() if k not in attrs and v}}
    shown += [k for k in extra if k in attrs and k not in shown]
    rows = [
        html.Tr(
            [
                html.Th(
                    k, className="text-body-secondary fw-normal pe-3", style={"width": "1%", "whiteSpace": "nowrap"}
                ),
                html.Td(format.value(attrs[k]), className="font-monospace small", style={"wordBreak": "break-word"}),
            ]
        )
        for k in shown
    ]
    if not rows:
        rows = [html.Tr(html.Td("The run recorded no attributes.", className="text-body-secondary"))]
    return html.Table(html.Tbody(rows), id=ids.X_ATTRS, className="table table-sm mb-0")


def detail(body: dict[str, Any], *, dark: bool = False) -> html.Div:
    """The drill-down of one run: what went wrong first, then why its
    figures are unusual, its context and its neighbours."""
    nav = html.Div(
        [
            dcc.Link(
                "← previous run",
                href=f"/executions/{quote(body['previous_id'])}",
                id=ids.X_PREV,
                className="btn btn-sm btn-outline-secondary",
            )
            if body["previous_id"]
            else html.Span("first run", className="text-body-secondary small"),
            dcc.Link(
                "all runs of this script",
                href=f"/executions?{urlencode({'script': body['script']})}",
                className="btn btn-sm btn-link",
            ),
            dcc.Link(
                "next run →",
                href=f"/executions/{quote(body['next_id'])}",
                id=ids.X_NEXT,
                className="btn btn-sm btn-outline-secondary",
            )
            if body["next_id"]
            else html.Span("latest run", className="text-body-secondary small"),
        ],
        className="d-flex flex-wrap gap-2 align-items-center mb-3",
    )
    header = html.Div(
        [
            html.H4(
                [
                    html.Span(body["script"], style={"wordBreak": "break-all"}),
                    dbc.Badge(
                        body["status"],
                        color=STATUS_COLOUR.get(body["status"], "secondary"),
                        className="ms-2 align-middle",
                    ),
                ]
            ),
            html.Div(
                body["id"], className="text-body-secondary font-monospace small", style={"wordBreak": "break-all"}
            ),
        ],
        className="mb-3",
    )
    duration = body["comparison"].get(DURATION)
    why = (
        html.P(
            reason(DURATION, duration).capitalize() + ".",
            id=ids.X_REASON,
            className="fw-semibold text-danger" if duration["within_band"] is False else "text-body-secondary",
        )
        if duration
        else html.P("Still running." if body["status"] == "running" else "", id=ids.X_REASON)
    )
    cards = stat_cards(
        [
            ("duration", "running" if body["duration_ms"] is None else format.duration(body["duration_ms"])),
            ("exit code", format.value(body["exit_code"])),
            ("attempt", format.value(body["attempt"])),
            ("started (UTC)", format.timestamp(body["started_at"])),
        ],
        xs=6,
    )
    comparison = [
        {
            "metric": name,
            "value": text(c["value"]),
            "usual": text(c["baseline"]["centre"]),
            "band": band_text(name, c["baseline"]),
            "change": format.percent(c["delta_pct"], signed=True),
            "verdict": "no history"
            if c["within_band"] is None
            else "within band"
            if c["within_band"]
            else "outside band",
            "why": reason(name, c),
        }
        for name, c in body["comparison"].items()
        for text in [format.duration if name == DURATION else format.number]
    ]
    verdict_style = {
        "styleConditions": [
            {"condition": "params.value === 'outside band'", "style": {"color": "#e03131", "fontWeight": "600"}},
            {"condition": "params.value === 'within band'", "style": {"color": "#2f9e44"}},
        ]
    }
    cols: list[dict[str, Any]] = [
        {"field": "metric", "minWidth": 130},
        {"field": "value", "type": "rightAligned", "minWidth": 110},
        {"field": "usual", "headerName": "usual (median)", "type": "rightAligned", "minWidth": 130},
        {"field": "band", "type": "rightAligned", "minWidth": 180},
        {"field": "change", "type": "rightAligned", "maxWidth": 110},
        {"field": "verdict", "cellStyle": verdict_style, "minWidth": 120},
        {
            "field": "why",
            "flex": 3,
            "minWidth": 320,
            "wrapText": True,
            "autoHeight": True,
            "cellStyle": {"lineHeight": "1.4", "paddingTop": "6px", "paddingBottom": "6px"},
        },
    ]
    events = [
        {
            "ts": format.timestamp(e["ts"]),
            "type": e["type"],
            "status": e["status"],
            "message": e["message"],
            "duration": format.duration(e["duration_ms"]),
        }
        for e in body["events"]
    ]
    compare_grid = grid(ids.X_COMPARISON, cols)
    compare_grid.rowData = comparison
    events_grid = grid(
        ids.X_EVENTS,
        [
            {"field": "ts", "headerName": "time (UTC)", "minWidth": 170},
            {"field": "type", "minWidth": 150},
            {"field": "status", "minWidth": 100},
            {"field": "duration", "minWidth": 110},
            {"field": "message", "minWidth": 200, "flex": 2},
        ],
    )
    events_grid.rowData = events
    # A few events: a grid as tall as its rows (an auto-height grid keeps room for 150 px of rows).
    shown = max(1, min(len(events), 20))
    events_grid.dashGridOptions = {**events_grid.dashGridOptions, "domLayout": "normal"}
    events_grid.style = {"width": "100%", "height": f"{50 + 42 * shown + 52}px"}
    runs = body["neighbours"]
    band = (duration or {}).get("baseline") or {}
    chart_note = neighbours_note(runs, body["script"], band)
    context = card(
        "Context",
        [
            attrs_table(body["attrs"], body),
            html.Div(
                [
                    html.A(
                        f"Events of {body['script']} in Explore",
                        href=explore_url(body),
                        id=ids.X_EXPLORE,
                        className="btn btn-sm btn-outline-primary",
                    ),
                    html.A(
                        "Events of its time window (JSON)",
                        href=events_api_url(body),
                        id=ids.X_EVENTS_API,
                        target="_blank",
                        className="btn btn-sm btn-link",
                    ),
                ],
                className="d-flex flex-wrap gap-2 mt-3",
            ),
            html.Div(
                f"{format.timestamp(body['events_window']['since'])} – {format.timestamp(body['events_window']['until'])} UTC",
                className="small text-body-secondary mt-1",
            ),
        ],
        className="h-100",
    )
    neighbours_card = card(
        "This run among its neighbours",
        [
            dcc.Graph(
                id=ids.X_NEIGHBOURS,
                figure=figures.execution_neighbours(runs, band=band, dark=dark),
                config={"displayModeBar": False, "responsive": True},
                style={"height": "240px"},
            ),
            html.Div(chart_note, className="small text-body-secondary"),
        ],
        className="h-100",
    )
    return html.Div(
        [
            nav,
            header,
            error_box(body),
            why,
            cards,
            dbc.Row(
                [dbc.Col(context, lg=5), dbc.Col(neighbours_card, lg=7)],
                className="g-3 my-1",
            ),
            card(
                f"Metrics against their usual (up to {body['baseline_runs']} successful runs before this one)",
                compare_grid,
                className="my-3",
            ),
            card("Events of this run", events_grid),
        ]
    )


def neighbours_note(runs: list[dict[str, Any]], script: str, band: dict[str, Any]) -> str:
    """What the neighbours chart shows, in words.

    >>> runs = [{"current": False, "status": "failed"}, {"current": True, "status": "success"}]
    >>> neighbours_note(runs, "a.py", {"lower": 540_000.0, "upper": 780_000.0})
    'The 1 run of a.py before this one (none after it); red: failed; green: its usual range, 9–13 min.'
    >>> neighbours_note(runs[1:], "a.py", {})
    'The first run of a.py; no usual range yet.'
    """
    at = next((i for i, r in enumerate(runs) if r["current"]), 0)
    before, after = at, len(runs) - at - 1
    if not before and not after:
        text = f"The first run of {script}"
    else:
        text = f"The {before} run{'s' if before != 1 else ''} of {script} before this one"
        text += f" and {after} after it" if after else " (none after it)"
    if any(r["status"] in FAILED for r in runs):
        text += "; red: failed"
    if band.get("lower") is None or band.get("upper") is None:
        return text + "; no usual range yet."
    return text + f"; green: its usual range, {format.duration_range(band['lower'], band['upper'])}."


def band_text(name: str, b: dict[str, Any]) -> str:
    """A baseline's band as the comparison table shows it.

    >>> band_text("duration_ms", {"lower": 1200.0, "upper": 2500.0}), band_text("rows", {"lower": 65118.9, "upper": 174210.1})
    ('1.2–2.5 s', '65,119–174,210')
    >>> band_text("cpu_s", {"lower": 21.826, "upper": 70.574})
    '21.8–70.6'
    >>> band_text("rows", {"lower": None, "upper": None})
    '–'
    """
    if b.get("lower") is None or b.get("upper") is None:
        return format.MISSING
    if name == DURATION:
        return format.duration_range(b["lower"], b["upper"])
    return f"{format.number(b['lower'], 3)}–{format.number(b['upper'], 3)}"


def not_found(execution_id: str) -> html.Div:
    return html.Div(
        [
            html.H3("Execution not found"),
            html.P(["No execution has the id ", html.Code(execution_id), "."]),
            dcc.Link("Back to executions", href="/executions"),
        ],
        className="pb-empty",
    )
