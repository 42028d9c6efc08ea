"""The Executions page (the script runner) and its drill-down page."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids

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
    {"field": "duration_ms", "headerName": "duration ms", "type": "numericColumn"},
    {"field": "exit_code", "headerName": "exit", "type": "numericColumn", "maxWidth": 90},
    {"field": "attempt", "headerName": "attempt", "type": "numericColumn", "maxWidth": 100},
    {"field": "metrics", "headerName": "metrics"},
]


def grid(id_: str, columns: list[dict[str, Any]], *, page_size: int = 20) -> dag.AgGrid:
    return dag.AgGrid(
        id=id_,
        rowData=[],
        columnDefs=columns,
        className="ag-theme-alpine pb-grid",
        style={"width": "100%"},
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "flex": 1},
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": page_size,
            "paginationPageSizeSelector": False,
            "domLayout": "autoHeight",
        },
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
            dcc.Location(id=ids.page_url("executions"), refresh=False),
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
            card("Recent executions", grid(ids.XS_TABLE, RUN_COLUMNS), className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        card(
                            "Trend, baseline, anomalies and regressions",
                            [dcc.Graph(id=ids.XS_TREND, config={"displaylogo": False}), html.Div(id=ids.XS_STEPS)],
                        ),
                        lg=8,
                    ),
                    dbc.Col(card("Distribution", dcc.Graph(id=ids.XS_DIST, config={"displayModeBar": False})), lg=4),
                ],
                className="g-3 mb-3",
            ),
            card("Aggregated statistics (30 days)", grid(ids.XS_STATS, [], page_size=50)),
        ]
    )


def detail_page(execution_id: str) -> html.Div:
    return html.Div([dcc.Store(id=ids.X_ID, data=execution_id), html.Div(id=ids.X_DETAIL, children=dbc.Spinner())])


def stat_cards(items: list[tuple[str, str]]) -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(label, className="pb-card-label"),
                            html.Div(value, className="pb-card-value pb-card-value-sm"),
                        ]
                    )
                ),
                md=3,
            )
            for label, value in items
        ],
        className="g-3",
    )


def fmt(value: Any, digits: int = 1) -> str:
    """A number for a card or table cell.

    >>> fmt(1234.5), fmt(None), fmt(3)
    ('1,234.5', '–', '3')
    """
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def detail(body: dict[str, Any]) -> html.Div:
    status_colour = {
        "success": "success",
        "failed": "danger",
        "error": "danger",
        "timeout": "danger",
        "running": "primary",
    }
    nav = html.Div(
        [
            dcc.Link(
                "← previous run",
                href=f"/executions/{body['previous_id']}",
                id="x-prev",
                className="btn btn-sm btn-outline-secondary",
            )
            if body["previous_id"]
            else html.Span("first run", className="text-body-secondary small"),
            dcc.Link("all executions", href=f"/executions?script={body['script']}", className="btn btn-sm btn-link"),
            dcc.Link(
                "next run →",
                href=f"/executions/{body['next_id']}",
                id="x-next",
                className="btn btn-sm btn-outline-secondary",
            )
            if body["next_id"]
            else html.Span("latest run", className="text-body-secondary small"),
        ],
        className="d-flex gap-2 align-items-center mb-3",
    )
    header = html.Div(
        [
            html.H4(
                [
                    body["script"],
                    " ",
                    dbc.Badge(body["status"], color=status_colour.get(body["status"], "secondary"), className="ms-2"),
                ]
            ),
            html.Div(body["id"], className="text-body-secondary font-monospace small"),
        ],
        className="mb-3",
    )
    cards = stat_cards(
        [
            ("duration", f"{fmt(body['duration_ms'])} ms"),
            ("exit code", fmt(body["exit_code"])),
            ("attempt", fmt(body["attempt"])),
            ("started (UTC)", (body["started_at"] or "")[:19].replace("T", " ")),
        ]
    )
    comparison = [
        {
            "metric": name,
            "value": c["value"],
            "baseline": c["baseline"]["centre"],
            "lower": c["baseline"]["lower"],
            "upper": c["baseline"]["upper"],
            "delta %": c["delta_pct"],
            "verdict": "no history"
            if c["within_band"] is None
            else "within band"
            if c["within_band"]
            else "outside band",
        }
        for name, c in body["comparison"].items()
    ]
    verdict_style = {
        "styleConditions": [
            {"condition": "params.value === 'outside band'", "style": {"color": "#e03131", "fontWeight": "600"}},
            {"condition": "params.value === 'within band'", "style": {"color": "#2f9e44"}},
        ]
    }
    cols: list[dict[str, Any]] = [{"field": k} for k in ("metric", "value", "baseline", "lower", "upper", "delta %")]
    cols.append({"field": "verdict", "cellStyle": verdict_style})
    events = [
        {
            "ts": e["ts"],
            "type": e["type"],
            "status": e["status"],
            "message": e["message"],
            "duration_ms": e["duration_ms"],
        }
        for e in body["events"]
    ]
    compare_grid = grid(ids.X_COMPARISON, cols)
    compare_grid.rowData = comparison
    events_grid = grid(ids.X_EVENTS, [{"field": k} for k in ("ts", "type", "status", "duration_ms", "message")])
    events_grid.rowData = events
    return html.Div(
        [
            nav,
            header,
            cards,
            card("Metrics against the script's baseline (previous 30 runs)", compare_grid, className="my-3"),
            card("Events of this run", events_grid),
        ]
    )


def not_found(execution_id: str) -> html.Div:
    return html.Div(
        [
            html.H3("Execution not found"),
            html.P(["No execution has the id ", html.Code(execution_id), "."]),
            dcc.Link("Back to executions", href="/executions"),
        ],
        className="pb-empty",
    )
