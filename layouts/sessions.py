"""Sessions (the macro-sessions tool): the list, and one session's figures."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids
from layouts.executions import card, fmt, grid, stat_cards

SESSION_COLUMNS: list[dict[str, Any]] = [
    {
        "field": "session",
        "headerName": "Session",
        "cellRenderer": "markdown",
        "cellRendererParams": {"linkTarget": "_self"},
        "minWidth": 240,
    },
    {"field": "user"},
    {"field": "source"},
    {"field": "started (UTC)"},
    {"field": "ended (UTC)"},
    {"field": "state"},
]
INTERACTION_COLUMNS: list[dict[str, Any]] = [
    {"field": "time"},
    {"field": "type"},
    {"field": "button"},
    {"field": "boxes", "type": "numericColumn"},
    {
        "field": "execution ms",
        "headerName": "Execution (ms)",
        "type": "numericColumn",
        "valueFormatter": {"function": "groupedNumber(params)"},
    },
    {"field": "categories"},
]


def page(pathname: str, _query: dict[str, str]) -> html.Div:
    parts = pathname.rstrip("/").split("/")
    if len(parts) >= 3 and parts[2]:
        return html.Div(
            [dcc.Store(id=ids.S_ID, data=unquote(parts[2])), html.Div(id=ids.S_DETAIL, children=dbc.Spinner())]
        )
    return html.Div([card("Sessions started in the time range, newest first", grid(ids.SS_TABLE, SESSION_COLUMNS))])


INTERACTIONS_SHOWN = 500  # the latest interactions the table holds


def interactions_title(total: int, shown: int = INTERACTIONS_SHOWN) -> str:
    """The interactions card's title, saying when the table holds only the latest.

    >>> interactions_title(120), interactions_title(1086)
    ('Interactions (120)', 'Interactions (showing the latest 500 of 1,086)')
    """
    return (
        f"Interactions ({total:,})" if total <= shown else f"Interactions (showing the latest {shown:,} of {total:,})"
    )


def detail(m: dict[str, Any]) -> html.Div:
    speed = "–" if m["average_speed"] is None else f"{m['average_speed']:.3f}/s"
    current = "–" if m["current_speed"] is None else f"{m['current_speed']:.3f}/s"
    # An ended session has no current speed: the same window is its final one.
    speed_label = "current speed (10 min)" if m["active"] else "final speed (last 10 min)"
    minutes = m["session_duration_s"] / 60
    header = html.Div(
        [
            dcc.Link("← all sessions", href="/sessions", className="btn btn-sm btn-link ps-0"),
            html.H4(
                [
                    m["session_id"],
                    dbc.Badge(
                        "active" if m["active"] else "ended",
                        color="success" if m["active"] else "secondary",
                        className="ms-2",
                    ),
                ]
            ),
            html.Div(
                f"user {m['user'] or '–'} · started {(m['started_at'] or '')[:19].replace('T', ' ')} UTC",
                className="text-body-secondary",
            ),
        ],
        className="mb-3",
    )
    cards = stat_cards(
        [
            ("total boxes", fmt(m["total_boxes"], 0)),
            ("duration", f"{minutes:,.1f} min"),
            ("average speed", speed),
            (speed_label, current),
        ],
        titles={
            "total boxes": "Boxes drawn by the session's interactions",
            "duration": "From the session's start to its end (or to now while it is active)",
            "average speed": "Total boxes divided by the session's duration, per second",
            "current speed (10 min)": "Boxes per second over the last 10 minutes",
            "final speed (last 10 min)": "Boxes per second over the session's last 10 minutes",
        },
    )
    return html.Div(
        [
            header,
            cards,
            dbc.Row(
                [
                    dbc.Col(
                        card(
                            "Speed over time (boxes per second)",
                            dcc.Graph(id=ids.S_SPEED, config={"displayModeBar": False}),
                        ),
                        lg=8,
                    ),
                    dbc.Col(card("Categories", dcc.Graph(id=ids.S_CATEGORIES, config={"displayModeBar": False})), lg=4),
                ],
                className="g-3 my-1",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        card(
                            "Execution time distribution (ms)",
                            dcc.Graph(id=ids.S_DIST, config={"displayModeBar": False}),
                        ),
                        lg=12,
                    )
                ],
                className="g-3 mb-3",
            ),
            card(interactions_title(m["total_executions"]), grid(ids.S_INTERACTIONS, INTERACTION_COLUMNS)),
        ]
    )
