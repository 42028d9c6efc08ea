"""Entities (the tool-usage dashboard): one entity's per-minute history with the
users of each minute; the history comes from the server, so switching
entities or reloading keeps it."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids, selfmon
from layouts.executions import card

WINDOWS = (
    ("1min", "1 min"),
    ("5min", "5 min"),
    ("10min", "10 min"),
    ("30min", "30 min"),
    ("1h", "1 h"),
    ("3h", "3 h"),
    ("6h", "6 h"),
)


def page(_pathname: str, query: dict[str, str]) -> html.Div:
    window = query.get("window", "30min")
    window = window if window in dict(WINDOWS) else "30min"
    return html.Div(
        [
            dcc.Location(id=ids.page_url("entities"), refresh=False),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("entity", className="small text-body-secondary mb-1"),
                            dcc.Dropdown(
                                id=ids.EN_ENTITY,
                                value=query.get("entity") or None,
                                placeholder="pick an entity",
                                options=[query["entity"]] if query.get("entity") else [],
                            ),
                        ],
                        md=5,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("window", className="small text-body-secondary mb-1"),
                            dbc.RadioItems(
                                id=ids.EN_WINDOW,
                                options=[{"label": l, "value": v} for v, l in WINDOWS],
                                value=window,
                                inline=True,
                                input_class_name="btn-check",
                                label_class_name="btn btn-sm btn-outline-primary",
                                label_checked_class_name="active",
                            ),
                        ],
                        md=7,
                    ),
                ],
                className="g-2 mb-2",
            ),
            html.Div(selfmon.switch(ids.EN_SELF, query), className="d-flex justify-content-end mb-2"),
            card(
                "Per-minute use (hover a bar for the users of that minute)",
                [
                    dcc.Graph(id=ids.EN_CHART, config={"displayModeBar": False}),
                    html.Div(id=ids.EN_USERS, className="text-body-secondary small"),
                ],
            ),
        ]
    )
