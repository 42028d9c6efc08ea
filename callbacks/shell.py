"""Routing, the navigation menu on narrow screens and the theme switch."""

from __future__ import annotations

from urllib.parse import parse_qs

import dash
from dash import Input, Output, State

from layouts import ids, shell
from layouts.pages import resolve
from services import Services


def toggle_menu(trigger: object, is_open: bool | None) -> bool:
    """The collapsed menu opens and closes with its toggler and closes when
    the page changes (a link in it was followed).

    >>> toggle_menu(ids.NAV_TOGGLER, False), toggle_menu(ids.NAV_TOGGLER, True), toggle_menu(ids.URL, True)
    (True, False, False)
    """
    return not is_open if trigger == ids.NAV_TOGGLER else False


def menu(_clicks: int | None, _pathname: str | None, is_open: bool | None) -> bool:
    return toggle_menu(dash.ctx.triggered_id, is_open)


def register(app: dash.Dash, services: Services) -> None:
    app.callback(
        Output(ids.NAV_COLLAPSE, "is_open"),
        Input(ids.NAV_TOGGLER, "n_clicks"),
        Input(ids.URL, "pathname"),
        State(ids.NAV_COLLAPSE, "is_open"),
        prevent_initial_call=True,
    )(menu)

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
