"""The overview page: KPI cards, health, activity chart, live feed, sources."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash_extensions import EventListener, WebSocket

from analytics.uptime import HEALTHY
from layouts import figures, ids, selfmon, timebar
from live.endpoints import REPLAY_LIMIT

KPIS = (
    ("events_today", "Events today"),
    ("events_last_hour", "Last hour"),
    ("rate_per_min", "Per minute (10 min)"),
    ("success_rate", "Success rate"),
    ("active_users_30m", "Active users (30 min)"),
    ("open_sessions", "Open sessions"),
)
# What each card counts (shown on hover).
_OWN = "Pulseboard's own excluded (unless the switch includes them)"
KPI_HELP = {
    "events_today": f"Events received since 00:00 UTC, {_OWN}",
    "events_last_hour": f"Events received in the last 60 minutes, {_OWN}",
    "rate_per_min": f"Events per minute, averaged over the last 10 minutes, {_OWN}",
    "success_rate": f"Today's events with a success status, in % of those with a success or failure status; {_OWN}",
    "active_users_30m": f"Distinct users of the events of the last 30 minutes, {_OWN}",
    "open_sessions": "Sessions started and not yet ended",
}


def kpi_card(name: str, label: str) -> dbc.Col:
    return dbc.Col(
        html.Div(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.Div(label, className="pb-card-label"),
                        html.Div("–", id=ids.kpi(name), className="pb-card-value"),
                    ]
                ),
                className="h-100",
            ),
            title=KPI_HELP[name],
            className="h-100",
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


def page(_pathname: str, query: dict[str, str]) -> html.Div:
    """The overview; its activity chart covers the time bar's range."""
    return layout(query)


def layout(query: dict[str, str] | None = None) -> html.Div:
    return html.Div(
        [
            timebar.page_location("overview"),
            *live_controls(),
            html.Div(
                [
                    html.Span(
                        "The cards and “Sources today” count the spans they name; the Activity chart follows the time range.",
                        className="small text-body-secondary pb-range-note",
                    ),
                    selfmon.switch(ids.OV_SELF, query or {}),
                ],
                className="d-flex flex-wrap align-items-center justify-content-between gap-2 mb-2",
            ),
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
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Health", className="fw-semibold"),
                                dbc.CardBody(id=ids.HEALTH),
                                dbc.CardFooter(
                                    html.Div(
                                        "–",
                                        id=ids.OV_UPTIME,
                                        title="How long this Pulseboard server process has been running",
                                    ),
                                    className="small text-body-secondary",
                                ),
                            ],
                            className="h-100",
                        ),
                        lg=4,
                    ),
                ],
                className="g-3 mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Live events", className="fw-semibold"),
                                dbc.CardBody(
                                    [
                                        dcc.Graph(
                                            id=ids.LIVE_CHART,
                                            figure=live_chart(),
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
                                dbc.CardHeader("Sources today", className="fw-semibold"),
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


STATUS_HELP = {
    "healthy": "Every component reports a healthy state",
    "partial": "Some components are offline (silent past their TTL, or reporting offline)",
    "degraded": "A component reports a degraded state",
    "error": "A component reports an error, or none is up",
    "unknown": "No component has reported yet",
}


def server_uptime(uptime: str) -> str:
    return f"Pulseboard server up {uptime}"


def live_chart() -> Any:
    """The live swimlanes, with room for the source names the browser adds
    (plotly sizes the margin only for the lanes it had when drawn). Until the
    first event it says it is waiting, without a time axis (assets/live.js
    shows the axis with the first points)."""
    fig = figures.live_stream()
    fig.update_yaxes(automargin=True, ticklabelstandoff=4)
    # At most 5 upright times: a phone's narrow chart would turn more on their side.
    fig.update_xaxes(showticklabels=False, nticks=5, tickangle=0)
    fig.add_annotation(
        text="Waiting for live events…", xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False, font={"size": 14}
    )
    fig.update_layout(margin={"l": 84})
    return fig


def health(state: dict[str, Any]) -> list[Any]:
    colour = {"healthy": "success", "degraded": "warning", "partial": "warning", "error": "danger", "offline": "danger"}
    items: list[Any] = [
        html.Div(
            dbc.Badge(
                state["status"].title(),
                color=colour.get(state["status"], "secondary"),
                title=STATUS_HELP.get(state["status"], ""),
                className="fs-6 pb-health-status",
            ),
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
                    html.Span(c["name"], className="fw-semibold"),
                    html.Span(c["status"], className="pb-component-status"),
                    html.Span(c["detail"] or "", className="text-body-secondary small"),
                    html.Span(
                        f"uptime {uptime}" if uptime else "",
                        className="text-body-secondary small pb-uptime",
                        title="Share of the last 24 h, 7 d and 30 d the component was up (silence past its TTL is down)",
                    ),
                ],
                className="pb-component d-flex flex-wrap align-items-baseline column-gap-2",
                **{"data-component": c["name"], "data-status": c["status"]},
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
