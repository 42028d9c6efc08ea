"""Routing and the theme switch."""

from __future__ import annotations

from urllib.parse import parse_qs

import dash
from dash import Input, Output, State

from layouts import ids, shell
from layouts.pages import resolve
from services import Services


def register(app: dash.Dash, services: Services) -> None:
    @app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"), State(ids.URL, "search"))
    def route(pathname: str | None, search: str | None) -> object:
        query = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
        page = resolve(pathname)
        if page is None:
            return shell.not_found(pathname or "/")
        return page.layout(pathname or "/", query)

    @app.callback(
        Output(ids.THEME_STORE, "data"),
        Input(ids.THEME_TOGGLE, "n_clicks"),
        State(ids.THEME_STORE, "data"),
        prevent_initial_call=True,
    )
    def toggle(_clicks: int | None, theme: str | None) -> str:
        return "light" if theme == "dark" else "dark"

    app.clientside_callback(  # type: ignore[no-untyped-call]
        """function (theme) {
            const mode = theme === 'dark' ? 'dark' : 'light';
            document.documentElement.setAttribute('data-bs-theme', mode);
            document.documentElement.setAttribute('data-ag-theme-mode', mode);  // every AG Grid follows it
            return theme || 'light';
        }""",
        Output(ids.THEME, "children"),
        Input(ids.THEME_STORE, "data"),
    )
