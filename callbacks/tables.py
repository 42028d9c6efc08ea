"""CSV export of every table: the button beside a table has the browser
export the grid's rows as shown (sorted and filtered), with text cells that
a spreadsheet would run as formulas neutralised (``assets/csv_safe.js``, the
same rule as the API's CSV in ``data/export.py``)."""

from __future__ import annotations

import json

import dash
from dash import Input, Output

from layouts import ids

EXPORT = """
function (n) {
    if (!n) { return window.dash_clientside.no_update; }
    window.pulseboardCsv.exportGrid(%s, %s);
    return window.dash_clientside.no_update;
}
"""


def file_name(grid: str) -> str:
    return f"pulseboard-{grid}.csv"


def register(app: dash.Dash) -> None:
    for grid in ids.GRIDS:
        app.clientside_callback(  # type: ignore[no-untyped-call]
            EXPORT % (json.dumps(grid), json.dumps(file_name(grid))),
            Output(grid, "exportDataAsCsv"),
            Input(ids.csv_button(grid), "n_clicks"),
            prevent_initial_call=True,
        )
