"""CSV export of every table: the button beside a table asks AG Grid for its
rows as shown (sorted and filtered), in the browser."""
from __future__ import annotations

import dash
from dash import Input, Output

from layouts import ids


def register(app: dash.Dash) -> None:
    for grid in ids.GRIDS:
        app.clientside_callback(  # type: ignore[no-untyped-call]
            "function (n) { return Boolean(n); }",
            Output(grid, "exportDataAsCsv"),
            Input(ids.csv_button(grid), "n_clicks"),
            prevent_initial_call=True,
        )
