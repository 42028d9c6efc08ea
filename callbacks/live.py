"""The live feed's clientside hook: a one-second tick that starts the tab's
socket (assets/live.js), which then applies frames in the browser with no
server round trip, reconnects with backoff and polls while it is down."""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output

from layouts import ids


def register(app: dash.Dash) -> None:
    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("pulse", "tick"),
        Output(ids.LIVE_STATUS, "children"),
        Input(ids.WS_WATCHDOG, "n_intervals"),
    )
