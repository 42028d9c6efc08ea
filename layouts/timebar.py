"""The time bar under the navigation: one time range for every page (relative
presets or an absolute from/to in UTC), the refresh interval with pause, and
a copy-link button. Its state lives in the URL (``range``, ``from``/``to``,
``refresh``, see :mod:`core.timerange`); ``stores()`` holds what the pages'
callbacks read: the ``TIME_RANGE`` store and the ``REFRESH`` interval.

The bar is a component: ``stores()`` and ``bar()`` go into a layout once,
``callbacks.timebar.register`` wires them, and ``fit_x`` pins a chart's
time axis to the range so a zoom stays put across refreshes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from core.timerange import DEFAULT_REFRESH, PRESETS, REFRESH
from layouts import ids

PRESET_LABELS = {"15m": "15 min", "1h": "1 h", "6h": "6 h", "24h": "24 h", "7d": "7 days", "30d": "30 days"}
REFRESH_LABELS = {"off": "off", "5s": "5 s", "10s": "10 s", "30s": "30 s", "1m": "1 min", "5m": "5 min"}
TYPED = "%Y-%m-%d %H:%M"  # how the from/to inputs show a moment (UTC)
# The bar's flags for scripts and tests: paused, following now, refresh timer stopped (paused or off),
# refresh ticks, time charts redrawn.
FLAGS: dict[str, Any] = {
    "data-paused": "false",
    "data-follow": "true",
    "data-stopped": "false",
    "data-ticks": "0",
    "data-refreshed": "0",
}


def page_location(page: str) -> html.Div:
    """A page's own Location and the store its callbacks write the wanted query string to."""
    return html.Div(
        [dcc.Location(id=ids.page_url(page), refresh="callback-nav"), dcc.Store(id=ids.page_search(page))],
        hidden=True,
    )


def stores() -> list[Any]:
    """The bar's state: its own Location, the range every page reads, pause,
    the last relative range, a chart's zoom and the refresh timer."""
    return [
        dcc.Location(id=ids.TB_URL, refresh="callback-nav"),
        dcc.Store(id=ids.TIME_RANGE),
        dcc.Store(id=ids.TB_PAUSED, data=False),
        dcc.Store(id=ids.TB_LAST),
        dcc.Store(id=ids.TB_ZOOM),
        dcc.Interval(id=ids.REFRESH, interval=REFRESH[DEFAULT_REFRESH]),
    ]


def _preset(value: str) -> dbc.Button:
    return dbc.Button(
        PRESET_LABELS.get(value, value),
        id=ids.tb_preset(value),
        size="sm",
        color="primary",
        outline=True,
        title=f"The last {PRESET_LABELS.get(value, value)}, following now",
    )


def _moment(id_: str, label: str) -> list[Any]:
    return [
        dbc.InputGroupText(label),
        dbc.Input(id=id_, placeholder="YYYY-MM-DD HH:MM", size="sm", debounce=True, className="pb-tb-moment"),
    ]


def bar() -> html.Div:
    """The bar itself; ``callbacks.timebar`` fills it from the URL."""
    range_part = html.Div(
        [
            dbc.ButtonGroup([_preset(p) for p in PRESETS], size="sm", className="pb-tb-presets"),
            dbc.InputGroup(
                [
                    *_moment(ids.TB_FROM, "from"),
                    *_moment(ids.TB_TO, "to"),
                    dbc.InputGroupText("UTC"),
                    dbc.Button("Apply", id=ids.TB_APPLY, color="primary", outline=True, size="sm"),
                ],
                size="sm",
                className="pb-tb-absolute",
            ),
        ],
        id=ids.TB_RANGE_PART,
        className="pb-tb-range",
    )
    refresh = html.Div(
        [
            dbc.InputGroup(
                [
                    dbc.InputGroupText("refresh"),
                    dbc.Select(
                        id=ids.TB_REFRESH,
                        options=[{"label": REFRESH_LABELS[k], "value": k} for k in REFRESH],
                        value=DEFAULT_REFRESH,
                        size="sm",
                    ),
                ],
                size="sm",
                className="pb-tb-refresh",
            ),
            dbc.Button("Pause", id=ids.TB_PAUSE, color="secondary", outline=True, size="sm"),
            dbc.Button("Copy link", id=ids.TB_COPY, color="secondary", outline=True, size="sm"),
            # Its href is completed when clicked (assets/timebar.js): this page, as it is now, as a PDF.
            html.A(
                "PDF",
                id=ids.TB_PDF,
                href="/api/pdf",
                className="btn btn-outline-secondary btn-sm pb-pdf",
                title="Download this page as a PDF (A4, landscape)",
            ),
            html.Span(id=ids.TB_COPIED, className="pb-tb-copied small text-success", role="status"),
        ],
        className="pb-tb-controls",
    )
    return html.Div(
        dbc.Container(
            [range_part, refresh, html.Div(id=ids.TB_ERROR, className="pb-tb-error text-danger small", role="alert")],
            fluid=True,
            className="pb-tb-inner",
        ),
        id=ids.TIMEBAR,
        className="pb-timebar mb-3",
        **FLAGS,
    )


def typed(iso_text: str | None) -> str:
    """An ISO moment as the from/to inputs show it (UTC, to the minute, seconds when set).

    >>> typed("2026-12-01T10:00:00Z"), typed("2026-12-01T10:00:30Z"), typed(None)
    ('2026-12-01 10:00', '2026-12-01 10:00:30', '')
    """
    if not iso_text:
        return ""
    moment = datetime.fromisoformat(iso_text.replace("Z", "+00:00")).astimezone(timezone.utc)
    return moment.strftime(TYPED + (":%S" if moment.second else ""))


def fit_x(fig: go.Figure, time_range: Mapping[str, Any] | None, bounds: tuple[datetime, datetime]) -> go.Figure:
    """Pin a time chart's x axis to an absolute range (a zoom), so a refresh
    redraws the same window; a relative range autoscales to its data. Plotly
    draws times as written: the axis is in UTC like the data."""
    if time_range and not time_range.get("live"):
        since, until = bounds
        fig.update_xaxes(range=[_plotly_time(since), _plotly_time(until)], autorange=False)
    return fig


def _plotly_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
