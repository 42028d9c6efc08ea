"""Routing and the theme switch."""
from __future__ import annotations

from urllib.parse import parse_qs

import dash
from dash import Input, Output, State

from layouts import ids, overview, shell
from services import Services


def register(app: dash.Dash, services: Services) -> None:
    @app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"), State(ids.URL, "search"))
    def route(pathname: str | None, search: str | None) -> object:
        query = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
        if pathname in (None, "/", ""):
            window = query.get("window", "1h")
            return overview.layout(window if window in dict(overview.WINDOWS) else "1h")
        return shell.not_found(pathname)

    @app.callback(Output(ids.THEME_STORE, "data"), Input(ids.THEME_TOGGLE, "n_clicks"), State(ids.THEME_STORE, "data"), prevent_initial_call=True)
    def toggle(_clicks: int | None, theme: str | None) -> str:
        return "light" if theme == "dark" else "dark"

    app.clientside_callback(  # type: ignore[no-untyped-call]
        """function (theme) {
            document.documentElement.setAttribute('data-bs-theme', theme === 'dark' ? 'dark' : 'light');
            return theme || 'light';
        }""",
        Output(ids.THEME, "children"),
        Input(ids.THEME_STORE, "data"),
    )
