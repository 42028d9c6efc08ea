"""The page shell: navigation, theme switch, the time bar (range and refresh) and the page container."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import has_request_context

from auth import csrf_token, current_user
from layouts import ids, timebar
from layouts.pages import PAGES


def build_layout() -> html.Div:
    return html.Div(
        className="pb-shell",
        children=[
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Store(id=ids.THEME_STORE, storage_type="local"),
            *timebar.stores(),  # the time range every page reads, and the refresh timer
            html.Div(id=ids.THEME, hidden=True),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand([html.Span("●", className="pb-logo me-2"), "Pulseboard"], href="/"),
                        dbc.Nav(
                            [
                                dbc.NavLink(p.title, href=p.path, active="exact" if p.path == "/" else "partial")
                                for p in PAGES
                                if p.nav
                            ],
                            navbar=True,
                            className="me-auto",
                        ),
                        *user_menu(),
                        dbc.Button("◐ Theme", id=ids.THEME_TOGGLE, color="secondary", outline=True, size="sm"),
                    ],
                    fluid=True,
                ),
                color="body-tertiary",
                dark=False,
                className="pb-navbar mb-3 border-bottom",
            ),
            timebar.bar(),
            dbc.Container(html.Main(id=ids.PAGE), fluid=True, className="pb-page"),
        ],
    )


def user_menu() -> list[object]:
    """The signed-in user's name and a sign-out button (nothing with sign-in off)."""
    name = current_user() if has_request_context() else None
    if name is None:
        return []
    return [
        html.Span(name, className="navbar-text small me-2 pb-user"),
        html.Form(
            [
                dcc.Input(type="hidden", name="csrf_token", value=csrf_token()),
                html.Button("Sign out", type="submit", className="btn btn-outline-secondary btn-sm"),
            ],
            method="POST",
            action="/logout",
            className="me-2 mb-0",
        ),
    ]


def not_found(path: str) -> html.Div:
    return html.Div(
        [
            html.H2("Page not found"),
            html.P(["There is no page at ", html.Code(path), ". "]),
            dcc.Link("Go to the overview", href="/"),
        ],
        className="pb-empty",
    )
