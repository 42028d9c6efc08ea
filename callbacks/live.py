"""The overview's live feed: clientside callbacks (assets/live.js) around the
dash-extensions WebSocket, so frames are applied in the browser with no
server round trip.

One writer per element: ``connect`` owns the socket's url and the status
badge; ``receive`` owns the two counting KPI cards, the toasts and what the
page sends, and on the way extends the live chart (``set_props`` of
``extendData``, batched redraws) and prepends the feed's items as DOM nodes
(no callback has the feed as an Output: a Dash children update per frame
costs a layout pass). The server's refresh writes only the other cards and
the counting cards' base (``LIVE_KPI_BASE``)."""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State

from layouts import ids, overview


def register(app: dash.Dash) -> None:
    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("pulse", "connect"),
        Output(ids.LIVE_SOCKET, "url"),
        Output(ids.LIVE_STATUS, "children"),
        Output(ids.LIVE_STATUS, "className"),
        Input(ids.WS_WATCHDOG, "n_intervals"),
        Input(ids.LIVE_SOCKET, "state"),
        State(ids.LIVE_CONFIG, "data"),
        State(ids.LIVE_SOCKET, "url"),
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("pulse", "receive"),
        *[Output(ids.kpi(name), "children") for name in overview.LIVE_KPIS],
        Output(ids.TOASTS, "children"),
        Output(ids.LIVE_SOCKET, "send"),
        Input(ids.LIVE_SOCKET, "message"),
        Input(ids.LIVE_SOCKET, "state"),
        Input(ids.LIVE_KPI_BASE, "data"),
        Input(ids.TOAST_CLICKS, "event"),
        Input(ids.WS_WATCHDOG, "n_intervals"),
        State(ids.LIVE_CONFIG, "data"),
    )
