"""Entities (the tool-usage dashboard): one entity's per-minute history with the
users of each minute; the history comes from the server, so switching
entities or reloading keeps it. The history covers the time bar's range."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids, selfmon, timebar
from layouts.executions import card


def page(_pathname: str, query: dict[str, str]) -> html.Div:
    return html.Div(
        [
            timebar.page_location("entities"),
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
