"""The landing page."""
from __future__ import annotations

import dash
from dash import Input, Output

from data.queries import count_events
from layouts import ids, shell
from services import Services


def register(app: dash.Dash, services: Services) -> None:
    @app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"))
    def render(_pathname: str | None) -> object:
        with services.db.read() as conn:
            return shell.home(count_events(conn))
