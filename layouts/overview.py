"""The overview page: KPI cards, health, activity chart, live feed, sources."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash_extensions import EventListener, WebSocket

from analytics.uptime import HEALTHY
from layouts import figures, ids
from live.endpoints import REPLAY_LIMIT

KPIS = (
    ("events_today", "Events today"),
    ("events_last_hour", "Last hour"),
    ("rate_per_min", "Per minute (10 min)"),
    ("success_rate", "Success rate"),
    ("active_users_30m", "Active users (30 min)"),
    ("open_sessions", "Open sessions"),
)


def kpi_card(name: str, label: str) -> dbc.Col:
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [html.Div(label, className="pb-card-label"), html.Div("–", id=ids.kpi(name), className="pb-card-value")]
            )
        ),
        xs=6,
        md=4,
        xl=2,
    )


# The cards the browser counts up as events arrive (from a server base, see
# callbacks/live.py); the server's refresh writes the others.
LIVE_KPIS = ("events_today", "events_last_hour")


def live_config() -> dict[str, Any]:
    """What the clientside code (assets/live.js) needs: the ids it writes and its limits."""
    return {
        "ids": {
            "chart": ids.LIVE_CHART,
            "feed": ids.FEED,
            "feed_item": f"{ids.FEED_EVENT}-",
            "toast": f"{ids.TOAST}-",
            "timebar": ids.TIMEBAR,  # its data-paused / data-follow hold the live chart still
        },
        "socket_path": "/ws",
        "poll_path": "/api/events",
        "poll_limit": 1000,
        "topics": ["all"],
        "feed_max": 100,
        "chart_max": 5000,
        "chart_every_ms": 250,  # a redraw costs tens of milliseconds: points are batched
        "toasts_max": 5,
        "toast_ms": {"alert": 30_000, "component": 10_000},
        "replay_limit": REPLAY_LIMIT,
        # Each frame repeats the events of the frames before it, up to this many:
        # frames the socket component drops while a redraw runs cost no replay.
        "overlap": 8,
        "recover_ms": 500,  # a replay's answer can be skipped too: ask again after this
        "backoff_max_ms": 8000,
    }


def live_controls() -> list[Any]:
    """The page's live feed: the socket, the one-second watchdog, the status badge and the toasts."""
    return [
        WebSocket(id=ids.LIVE_SOCKET),  # its url is set clientside once the live chart is drawn
        dcc.Store(id=ids.LIVE_CONFIG, data=live_config()),
        dcc.Store(id=ids.LIVE_KPI_BASE),
        dcc.Interval(id=ids.WS_WATCHDOG, interval=1000),
        EventListener(
            html.Div(id=ids.TOASTS, className="pb-toasts", role="status"),
            id=ids.TOAST_CLICKS,
            events=[{"event": "click", "props": ["target.dataset.toast"]}],
        ),
        html.Div(html.Span("connecting", id=ids.LIVE_STATUS, className="pb-live pb-live-off"), className="pb-live-bar"),
    ]


def page(_pathname: str, _query: dict[str, str]) -> html.Div:
    """The overview; its activity chart covers the time bar's range."""
    return layout()


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id=ids.page_url("overview"), refresh="callback-nav"),
            *live_controls(),
            dbc.Row([kpi_card(n, label) for n, label in KPIS], className="g-3 mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader(html.Span("Activity", className="fw-semibold")),
                                dbc.CardBody(
                                    dcc.Graph(
                                        id=ids.ACTIVITY, config={"displayModeBar": False}, style={"height": "280px"}
                                    )
                                ),
                            ]
                        ),
                        lg=8,
                    ),
                    dbc.Col(dbc.Card([dbc.CardHeader("Health"), dbc.CardBody(id=ids.HEALTH)]), lg=4),
                ],
                className="g-3 mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Live events"),
                                dbc.CardBody(
                                    [
                                        dcc.Graph(
                                            id=ids.LIVE_CHART,
                                            figure=figures.live_stream(),
                                            config={"displayModeBar": False},
                                        ),
                                        html.Ul(empty_feed(), id=ids.FEED, className="pb-feed"),
                                    ]
                                ),
                            ]
                        ),
                        lg=8,
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Sources today"),
                                dbc.CardBody(dcc.Graph(id=ids.SOURCES, config={"displayModeBar": False})),
                            ]
                        ),
                        lg=4,
                    ),
                ],
                className="g-3",
            ),
        ]
    )


def health(state: dict[str, Any], uptime: str) -> list[Any]:
    colour = {"healthy": "success", "degraded": "warning", "partial": "warning", "error": "danger", "offline": "danger"}
    items: list[Any] = [
        html.Div(
            [
                dbc.Badge(state["status"].title(), color=colour.get(state["status"], "secondary"), className="fs-6"),
                html.Span(f"up {uptime}", className="text-body-secondary ms-2"),
            ],
            className="mb-3",
        ),
    ]
    if not state["components"]:
        items.append(
            html.P(
                ["No component has reported yet. Report one with ", html.Code("PUT /api/components/<name>"), "."],
                className="text-body-secondary",
            )
        )
    for c in state["components"]:
        ok = c["status"].lower() in HEALTHY
        uptime = " · ".join(f"{v:g} % {k}" for k, v in (c.get("uptime") or {}).items() if v is not None)
        items.append(
            html.Div(
                [
                    html.Span(className=f"pb-dot {'pb-dot-ok' if ok else 'pb-dot-bad'}"),
                    html.Span(c["name"], className="fw-semibold me-2"),
                    html.Span(c["status"]),
                    html.Span(c["detail"] or "", className="text-body-secondary ms-2 small"),
                    html.Span(
                        f"up {uptime}" if uptime else "",
                        className="text-body-secondary ms-auto small pb-uptime",
                        title="Uptime over 24 h, 7 d and 30 d",
                    ),
                ],
                className="pb-component d-flex align-items-baseline",
            )
        )
    return items


def empty_feed() -> list[Any]:
    return [
        html.Li(
            [
                "No events yet — send one with ",
                html.Code(
                    "curl -X POST http://127.0.0.1:8050/api/events -H 'Content-Type: application/json' -d '{\"type\": \"scan\"}'"
                ),
            ],
            className="text-body-secondary pb-feed-empty",
        )
    ]
