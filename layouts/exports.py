"""Exports: schedules of saved Explore queries written to CSV files (create,
run now, enable/disable, delete) and the files, downloadable."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids
from layouts.alerts_history import OUTBOX_COLUMNS
from layouts.executions import card, grid

MODES = (("aggregate", "the Explore result (aggregated rows)"), ("events", "the matching raw events"))
SCHEDULE_COLUMNS: list[dict[str, Any]] = [
    {"field": "name", "headerName": "Name", "minWidth": 160},
    {"field": "query_string", "headerName": "Query", "minWidth": 220, "tooltipField": "query_string"},
    {"field": "when", "headerName": "Runs"},
    {"field": "enabled", "headerName": "On", "maxWidth": 80},
    {"field": "keep", "headerName": "Keeps", "type": "numericColumn", "maxWidth": 90},
    {"field": "next_run_at", "headerName": "Next run (UTC)"},
    {"field": "last_run_at", "headerName": "Last run (UTC)"},
    {"field": "last_rows", "headerName": "Rows", "type": "numericColumn", "maxWidth": 100},
    {"field": "mailed", "headerName": "Mailed to", "tooltipField": "mailed"},
    {"field": "last_error", "headerName": "Last error", "cellStyle": {"color": "var(--bs-danger)"}},
]
NO_SCHEDULES = "No schedules yet. Create one above: set up a view on Explore, paste its address, choose when it runs."
NO_FILES = "No files yet. Select a schedule and press Run now, or wait for its next run."
NO_REPORT_MAIL = "No report e-mail yet: a schedule with recipients mails each run here (see its state on the Alerts page's Outbox tab too)."
NO_FILES_IN_RANGE = "No files written in the time range; choose a longer one above to see older files."


def _field(label: str, control: Any, md: int, hint: str | None = None) -> dbc.Col:
    parts = [dbc.Label(label, html_for=control.id, className="small text-body-secondary mb-1"), control]
    if hint:
        parts.append(dbc.FormText(hint))
    return dbc.Col(parts, md=md)


def form(query: str = "") -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader("New schedule", className="fw-semibold"),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            _field(
                                "Name",
                                dbc.Input(id=ids.EXP_NAME, placeholder="daily sources", maxLength=200, size="sm"),
                                3,
                            ),
                            _field(
                                "Query",
                                dbc.Textarea(
                                    id=ids.EXP_QUERY,
                                    value=query,
                                    rows=2,
                                    size="sm",
                                    placeholder="http://…/explore?range=24h&group_by=source  or  window=24h&metric=count&group_by=source",
                                ),
                                9,
                                "Use the current Explore view: open Explore, set the filters, copy the address and paste it here. "
                                "Relative windows (24h) end at each run's time.",
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    dbc.Row(
                        [
                            _field(
                                "Rows",
                                dbc.Select(
                                    id=ids.EXP_MODE,
                                    options=[{"label": l, "value": v} for v, l in MODES],
                                    value="aggregate",
                                    size="sm",
                                ),
                                3,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label("Runs", className="small text-body-secondary mb-1"),
                                    dbc.RadioItems(
                                        id=ids.EXP_KIND,
                                        options=[
                                            {"label": "on a cron line", "value": "cron"},
                                            {"label": "every N minutes", "value": "interval"},
                                        ],
                                        value="cron",
                                        inline=True,
                                        className="small",
                                    ),
                                ],
                                md=3,
                            ),
                            _field(
                                "Cron line (UTC)",
                                dbc.Input(id=ids.EXP_CRON, placeholder="0 6 * * *", value="0 * * * *", size="sm"),
                                2,
                                "minute hour day month weekday",
                            ),
                            _field(
                                "Every (minutes)",
                                dbc.Input(id=ids.EXP_INTERVAL, type="number", min=1, step=1, value=60, size="sm"),
                                2,
                            ),
                            _field(
                                "Keep files",
                                dbc.Input(id=ids.EXP_KEEP, type="number", min=1, max=1000, step=1, value=10, size="sm"),
                                1,
                            ),
                            dbc.Col(
                                dbc.Button(
                                    "Create schedule", id=ids.EXP_CREATE, color="primary", size="sm", className="mt-4"
                                ),
                                md=1,
                                className="d-flex align-items-start",
                            ),
                        ],
                        className="g-2",
                    ),
                    dbc.Row(
                        [
                            _field(
                                "Mail each run as a report to (optional)",
                                dbc.Input(
                                    id=ids.EXP_RECIPIENTS, placeholder="ops@example.com, lead@example.com", size="sm"
                                ),
                                6,
                                "Each run then mails the page as a PDF, a summary of the period and the CSV "
                                "(the SMTP settings must be set).",
                            ),
                            _field(
                                "Page to print (optional)",
                                dbc.Input(
                                    id=ids.EXP_PAGE,
                                    placeholder="/boards/ops  (default: the query in Explore)",
                                    size="sm",
                                ),
                                6,
                            ),
                        ],
                        className="g-2 mt-1",
                    ),
                ]
            ),
        ],
        className="mb-3",
    )


def schedules_card() -> dbc.Card:
    buttons = [
        dbc.Button("Run now", id=ids.EXP_RUN, size="sm", color="primary", outline=True),
        dbc.Button("Enable / disable", id=ids.EXP_TOGGLE, size="sm", color="secondary", outline=True),
        dbc.Button("Delete", id=ids.EXP_DELETE, size="sm", color="danger", outline=True),
        dbc.Button("CSV", id=ids.csv_button(ids.EXP_SCHEDULES), size="sm", color="secondary", outline=True),
    ]
    table = grid(ids.EXP_SCHEDULES, SCHEDULE_COLUMNS)
    table.getRowId = "String(params.data.id)"
    table.dashGridOptions = {
        **table.dashGridOptions,
        "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
    }
    header = html.Div(
        [
            html.Span("Schedules"),
            html.Span("all of them, whatever the time range", className="small text-body-secondary fw-normal"),
            html.Span("select a row, then", className="ms-auto small text-body-secondary"),
            *buttons,
        ],
        className="d-flex align-items-center gap-2",
    )
    body = [table, html.Div(NO_SCHEDULES, id=ids.EXP_SCHEDULES_EMPTY, className="text-body-secondary small mt-2")]
    return dbc.Card([dbc.CardHeader(header, className="fw-semibold"), dbc.CardBody(body)], className="mb-3")


def files_table(files: list[dict[str, Any]], names: dict[str, str], *, any_files: bool = False) -> Any:
    """The export files with plain download links (the API's download route);
    ``any_files``: there are files, only none in the time range."""
    if not files:
        return html.Div(NO_FILES_IN_RANGE if any_files else NO_FILES, className="text-body-secondary small")
    rows = [
        html.Tr(
            [
                html.Td(names.get(f["schedule"], f["schedule"])),
                html.Td(
                    html.A(
                        f["name"],
                        href=f"/api/exports/files/{f['schedule']}/{f['name']}",
                        download=f["name"],
                        className="font-monospace",
                    )
                ),
                html.Td(f"{f['size']:,} B", className="text-end"),
                html.Td(f["created"][:19].replace("T", " ")),
            ]
        )
        for f in files
    ]
    head = html.Thead(
        html.Tr([html.Th("Schedule"), html.Th("File"), html.Th("Size", className="text-end"), html.Th("Created (UTC)")])
    )
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, responsive=True, className="mb-0 align-middle")


def page(_pathname: str, query: dict[str, str]) -> html.Div:
    return html.Div(
        [
            dcc.Store(id=ids.EXP_CHANGED, data=0),
            form(query.get("query", "")),
            html.Div(id=ids.EXP_MESSAGE),
            schedules_card(),
            dbc.Card(
                [
                    dbc.CardHeader("Files written in the time range", className="fw-semibold"),
                    dbc.CardBody(html.Div(id=ids.EXP_FILES)),
                ],
                className="mb-3",
            ),
            report_mail_card(),
        ]
    )


def report_mail_card() -> dbc.Card:
    """The newest report e-mails and what became of each (the outbox's state, read-only)."""
    mail = grid(ids.EXP_MAIL, OUTBOX_COLUMNS, page_size=10)
    mail.getRowId = "String(params.data.id)"
    return card(
        "Report e-mail (newest first)",
        [html.Div(NO_REPORT_MAIL, id=ids.EXP_MAIL_EMPTY, className="small text-body-secondary mb-2"), mail],
    )
